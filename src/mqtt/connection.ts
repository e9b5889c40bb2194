/**
 * One MQTT connection with Blackstart's habits: a retained last will, reconnect with doubling
 * backoff (a refused login is retried too), subscriptions made again on every connect, and
 * failures logged rather than thrown. The daemon's bridge and `blackstart agent` both use it;
 * it is the only module that imports `mqtt`.
 */
import mqtt, { type IClientOptions, type IClientPublishOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from '../core/logger';
import type { Secret } from '../core/secret';

export interface ConnectionOptions {
  url: string;
  username?: string;
  password?: Secret;
  /** CA certificate(s) for `mqtts://`. */
  ca?: Buffer;
  clientId?: string;
  /** Used to make a client id when none is given, e.g. `blackstart` or `blackstart-agent-web1`. */
  clientIdPrefix?: string;
  protocolVersion: 4 | 5;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** Retained by the broker and published when this client vanishes without saying goodbye. */
  will?: { topic: string; payload: string };
  log: Logger;
}

export interface IncomingMessage {
  topic: string;
  payload: Buffer;
  retain: boolean;
  /** MQTT 5 request/response properties, when the sender set them. */
  responseTopic?: string;
  correlationData?: Buffer;
}

export interface PublishOptions {
  retain?: boolean;
  qos?: 0 | 1;
  correlationData?: Buffer;
}

export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'stopped';

export class MqttConnection {
  private client: MqttClient | undefined;
  private readonly filters = new Set<string>();
  private readonly connectListeners: ((reconnect: boolean) => void)[] = [];
  private readonly messageListeners: ((m: IncomingMessage) => void)[] = [];
  private readonly disconnectListeners: (() => void)[] = [];
  private connections = 0;
  status: ConnectionStatus = 'stopped';
  lastError: string | null = null;

  constructor(private readonly opts: ConnectionOptions) {}

  /** Called after each (re)connect, once subscriptions are requested; retained state may be gone, so publish it again here. */
  onConnect(fn: (reconnect: boolean) => void): void {
    this.connectListeners.push(fn);
  }

  onMessage(fn: (m: IncomingMessage) => void): void {
    this.messageListeners.push(fn);
  }

  /** Called once when an established connection is lost (not for each failed retry). */
  onDisconnect(fn: () => void): void {
    this.disconnectListeners.push(fn);
  }

  /** Subscribes now when connected, and again after every reconnect (the session is clean). */
  subscribe(filters: readonly string[]): void {
    const fresh = filters.filter((f) => !this.filters.has(f));
    fresh.forEach((f) => this.filters.add(f));
    if (fresh.length && this.client && this.connected) this.requestSubscriptions(fresh);
  }

  get connected(): boolean {
    return this.status === 'connected';
  }

  /** Starts connecting; never throws for an absent broker (it keeps retrying with backoff). */
  start(): void {
    const { opts } = this;
    const options: IClientOptions = {
      clientId: opts.clientId ?? `${opts.clientIdPrefix ?? 'blackstart'}-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
      protocolVersion: opts.protocolVersion,
      clean: true,
      keepalive: 30,
      connectTimeout: 10_000,
      reconnectPeriod: opts.reconnectMinMs,
      resubscribe: false,
      // A refused login (e.g. a password being changed on the broker) is retried with backoff too.
      reconnectOnConnackError: true,
      queueQoSZero: false,
    };
    if (opts.will) options.will = { topic: opts.will.topic, payload: Buffer.from(opts.will.payload), qos: 1, retain: true };
    if (opts.username !== undefined) options.username = opts.username;
    if (opts.password !== undefined) options.password = opts.password.reveal();
    if (opts.ca !== undefined) options.ca = opts.ca;
    this.status = 'connecting';
    const client = mqtt.connect(opts.url, options);
    this.client = client;

    client.on('connect', () => this.handleConnect());
    client.on('message', (topic, payload, packet) => this.dispatch(topic, payload, packet));
    client.on('error', (err) => {
      this.lastError = err.message;
      opts.log.warn({ url: opts.url, err: err.message }, 'MQTT error');
    });
    client.on('close', () => {
      if (this.status === 'stopped') return;
      const wasConnected = this.status === 'connected';
      if (wasConnected) opts.log.warn({ url: opts.url }, 'MQTT connection lost; reconnecting');
      this.status = 'reconnecting';
      if (wasConnected) for (const fn of this.disconnectListeners) fn();
      // mqtt.js has already scheduled this retry (its own close listener runs first) with the current
      // reconnectPeriod; doubling it now sets the delay of the attempt after that.
      const period = client.options.reconnectPeriod ?? opts.reconnectMinMs;
      opts.log.debug({ retryInMs: period }, 'MQTT reconnect scheduled');
      client.options.reconnectPeriod = Math.min(period * 2, opts.reconnectMaxMs);
    });
  }

  /** Resolves when the broker has the message (QoS 1) or it was handed to the socket; failures are logged, not thrown. */
  publish(topic: string, payload: string, options: PublishOptions = {}): Promise<void> {
    const client = this.client;
    if (!client) return Promise.resolve();
    const o: IClientPublishOptions = { qos: options.qos ?? 1, retain: options.retain ?? false };
    if (options.correlationData) o.properties = { correlationData: options.correlationData };
    return client.publishAsync(topic, payload, o).then(
      () => undefined,
      (err: Error) => {
        this.opts.log.warn({ topic, err: err.message }, 'MQTT publish failed');
      },
    );
  }

  /**
   * Disconnects. `farewell` (e.g. the retained `offline`) is published first when connected, so
   * the state reads right after a clean stop, which brokers do not announce with the will.
   */
  async stop(farewell?: { topic: string; payload: string }): Promise<void> {
    const client = this.client;
    const wasConnected = this.status === 'connected';
    this.status = 'stopped';
    if (!client) return;
    if (wasConnected && farewell) await this.publish(farewell.topic, farewell.payload, { retain: true, qos: 1 }).catch(() => undefined);
    await client.endAsync(!wasConnected).catch(() => undefined);
    this.client = undefined;
  }

  private handleConnect(): void {
    const { log, url } = this.opts;
    this.connections++;
    this.status = 'connected';
    this.lastError = null;
    const client = this.client;
    if (!client) return;
    client.options.reconnectPeriod = this.opts.reconnectMinMs;
    log.info({ url, reconnect: this.connections > 1 }, 'MQTT connected');
    if (this.filters.size) this.requestSubscriptions([...this.filters]);
    for (const fn of this.connectListeners) fn(this.connections > 1);
  }

  private requestSubscriptions(filters: string[]): void {
    this.client?.subscribe(filters, { qos: 1 }, (err, granted) => {
      if (err) {
        this.opts.log.error({ filters, err: err.message }, 'MQTT subscribe failed: these messages will not be received');
        return;
      }
      // A broker ACL that forbids a filter answers 0x80 (3.1.1) or a reason code >= 0x80 (5), not an error.
      const refused = (granted ?? []).filter((g) => g.qos >= 0x80).map((g) => g.topic);
      if (refused.length) this.opts.log.error({ filters: refused }, 'MQTT broker refused these subscriptions (check its ACL)');
    });
  }

  private dispatch(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const props = packet.properties;
    const m: IncomingMessage = { topic, payload, retain: packet.retain };
    if (props?.responseTopic) m.responseTopic = props.responseTopic;
    if (props?.correlationData) m.correlationData = props.correlationData;
    for (const fn of this.messageListeners) {
      try {
        fn(m);
      } catch (err) {
        // One listener's bug must not starve the others, nor escape into mqtt.js's event loop.
        this.opts.log.error({ topic, err: (err as Error).message }, 'MQTT message handler failed');
      }
    }
  }
}
