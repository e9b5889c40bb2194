/**
 * The one MQTT client of the daemon: publishes hub state as retained JSON, streams events, and
 * turns `…/set` messages into hub commands with results. The only module that imports `mqtt`.
 */
import mqtt, { type IClientOptions, type IClientPublishOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { toBlackstartError } from '../core/errors';
import type { BlackstartEvent } from '../core/events';
import type { CommandResult, Hub } from '../core/hub';
import type { Logger } from '../core/logger';
import type { Secret } from '../core/secret';
import type { DeviceRef } from '../core/state';
import {
  CommandParseError,
  encode,
  eventPayload,
  hostPayload,
  outagePayload,
  parseCommand,
  resultPayload,
  sensorsPayload,
  upsPayload,
} from './payloads';
import { createTopics, isPublishableTopic, type Topics } from './topics';

export interface BridgeOptions {
  url: string;
  baseTopic: string;
  username?: string;
  password?: Secret;
  /** CA certificate(s) for `mqtts://`. */
  ca?: Buffer;
  clientId?: string;
  protocolVersion: 4 | 5;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** Events kept while the broker is away, sent when it is back; the oldest are dropped first. */
  maxQueuedEvents?: number;
  log: Logger;
}

export type BridgeStatus = 'connecting' | 'connected' | 'reconnecting' | 'stopped';

export class MqttBridge {
  readonly topics: Topics;
  private client: MqttClient | undefined;
  private readonly queuedEvents: BlackstartEvent[] = [];
  private connections = 0;
  private firstConnect: Promise<void>;
  private resolveFirst!: () => void;
  private readonly onHub = {
    ups: (id: string): void => this.publishUps(id),
    host: (id: string): void => this.publishHost(id),
    sensors: (id: string): void => this.publishSensors(id),
    outage: (): void => this.publishOutage(),
    event: (e: BlackstartEvent): void => this.publishEvent(e),
  };
  status: BridgeStatus = 'stopped';
  lastError: string | null = null;

  constructor(
    private readonly hub: Hub,
    private readonly opts: BridgeOptions,
  ) {
    this.topics = createTopics(opts.baseTopic);
    this.firstConnect = new Promise((resolve) => (this.resolveFirst = resolve));
  }

  /** Starts connecting; never throws for an absent broker (it keeps retrying with backoff). */
  start(): void {
    const { opts, topics } = this;
    const options: IClientOptions = {
      clientId: opts.clientId ?? `blackstart-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
      protocolVersion: opts.protocolVersion,
      clean: true,
      keepalive: 30,
      connectTimeout: 10_000,
      reconnectPeriod: opts.reconnectMinMs,
      resubscribe: false,
      // A refused login (e.g. a password being changed on the broker) is retried with backoff too.
      reconnectOnConnackError: true,
      queueQoSZero: false,
      will: { topic: topics.bridgeState, payload: Buffer.from('offline'), qos: 1, retain: true },
    };
    if (opts.username !== undefined) options.username = opts.username;
    if (opts.password !== undefined) options.password = opts.password.reveal();
    if (opts.ca !== undefined) options.ca = opts.ca;
    this.status = 'connecting';
    const client = mqtt.connect(opts.url, options);
    this.client = client;

    client.on('connect', () => this.onConnect());
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet));
    client.on('error', (err) => {
      this.lastError = err.message;
      opts.log.warn({ url: opts.url, err: err.message }, 'MQTT error');
    });
    client.on('close', () => {
      if (this.status === 'stopped') return;
      if (this.status === 'connected') opts.log.warn({ url: opts.url }, 'MQTT connection lost; reconnecting');
      this.status = 'reconnecting';
      // mqtt.js has already scheduled this retry (its own close listener runs first) with the current
      // reconnectPeriod; doubling it now sets the delay of the attempt after that.
      const period = client.options.reconnectPeriod ?? opts.reconnectMinMs;
      opts.log.debug({ retryInMs: period }, 'MQTT reconnect scheduled');
      client.options.reconnectPeriod = Math.min(period * 2, opts.reconnectMaxMs);
    });

    this.hub.on('ups', this.onHub.ups);
    this.hub.on('host', this.onHub.host);
    this.hub.on('sensors', this.onHub.sensors);
    this.hub.on('outage', this.onHub.outage);
    this.hub.on('event', this.onHub.event);
  }

  /** Resolves once the first connection is made (state is published by then). */
  ready(): Promise<void> {
    return this.firstConnect;
  }

  get connected(): boolean {
    return this.status === 'connected';
  }

  /** Marks the bridge offline (retained) and disconnects. */
  async stop(): Promise<void> {
    const client = this.client;
    const wasConnected = this.status === 'connected';
    this.status = 'stopped';
    this.hub.off('ups', this.onHub.ups);
    this.hub.off('host', this.onHub.host);
    this.hub.off('sensors', this.onHub.sensors);
    this.hub.off('outage', this.onHub.outage);
    this.hub.off('event', this.onHub.event);
    if (!client) return;
    if (wasConnected) {
      await this.publish(this.topics.bridgeState, 'offline', { retain: true, qos: 1 }).catch(() => undefined);
    }
    await client.endAsync(!wasConnected).catch(() => undefined);
    this.client = undefined;
  }

  private onConnect(): void {
    const { log, url } = this.opts;
    this.connections++;
    this.status = 'connected';
    this.lastError = null;
    const client = this.client;
    if (!client) return;
    client.options.reconnectPeriod = this.opts.reconnectMinMs;
    log.info({ url, reconnect: this.connections > 1 }, 'MQTT connected');
    client.subscribe([...this.topics.commandFilters], { qos: 1 }, (err) => {
      if (err) log.error({ err: err.message }, 'MQTT subscribe failed: commands will not be received');
    });
    // Retained state may be gone (broker restarted without persistence): publish all of it again.
    void this.publish(this.topics.bridgeState, 'online', { retain: true, qos: 1 });
    for (const { id } of this.hub.devices('ups')) this.publishUps(id);
    for (const { id } of this.hub.devices('host')) {
      this.publishHost(id);
      this.publishSensors(id);
    }
    this.publishOutage();
    for (const e of this.queuedEvents.splice(0)) this.publishEvent(e);
    this.resolveFirst();
  }

  private publishUps(id: string): void {
    const s = this.hub.ups(id);
    if (s) this.publishState(this.topics.ups(id), upsPayload(s));
  }

  private publishHost(id: string): void {
    const s = this.hub.host(id);
    if (s) this.publishState(this.topics.host(id), hostPayload(s));
  }

  private publishSensors(id: string): void {
    const s = this.hub.sensors(id);
    if (s && Object.keys(s).length) this.publishState(this.topics.hostSensors(id), sensorsPayload(s));
  }

  private publishOutage(): void {
    this.publishState(this.topics.outage, outagePayload(this.hub.outage));
  }

  /** Retained state is only sent while connected: every reconnect republishes the latest anyway. */
  private publishState(topic: string, payload: unknown): void {
    if (!this.connected) return;
    void this.publish(topic, encode(payload), { retain: true, qos: 1 });
  }

  private publishEvent(e: BlackstartEvent): void {
    if (!this.connected) {
      this.queuedEvents.push(e);
      const max = this.opts.maxQueuedEvents ?? 1000;
      if (this.queuedEvents.length > max) this.queuedEvents.splice(0, this.queuedEvents.length - max);
      return;
    }
    void this.publish(this.topics.event, encode(eventPayload(e)), { qos: 1 });
  }

  private publish(topic: string, payload: string, options: IClientPublishOptions): Promise<void> {
    const client = this.client;
    if (!client) return Promise.resolve();
    return client.publishAsync(topic, payload, options).then(
      () => undefined,
      (err: Error) => {
        this.opts.log.warn({ topic, err: err.message }, 'MQTT publish failed');
      },
    );
  }

  private onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const parsed = this.topics.parse(topic);
    if (!parsed) return;
    if (packet.retain) {
      // A retained command would run again at every restart of this process.
      this.opts.log.warn({ topic }, 'ignored a retained command: publish commands without the retain flag');
      return;
    }
    void this.handleCommand(parsed.device, payload, packet).catch((err: unknown) => {
      this.opts.log.error({ topic, err: toBlackstartError(err).message }, 'command handling failed');
    });
  }

  private async handleCommand(device: DeviceRef, payload: Buffer, packet: IPublishPacket): Promise<void> {
    let result: CommandResult;
    try {
      const cmd = parseCommand(payload);
      this.opts.log.info({ device: `${device.kind}/${device.id}`, action: cmd.action, id: cmd.id }, 'command received');
      result = await this.hub.execute(device, { action: cmd.action, id: cmd.id, ...(cmd.args ? { args: cmd.args } : {}) });
    } catch (err) {
      const e = toBlackstartError(err);
      const partial = err instanceof CommandParseError ? err.partial : { action: null, id: null };
      this.opts.log.warn({ device: `${device.kind}/${device.id}`, err: e.message }, 'command rejected');
      result = { id: partial.id, action: partial.action, ok: false, error: e.toJSON(), tookMs: 0 };
    }
    const body = encode(resultPayload(result));
    const props = packet.properties;
    const correlation = props?.correlationData;
    const options: IClientPublishOptions = { qos: 1 };
    if (correlation) options.properties = { correlationData: correlation };
    const responseTopic = props?.responseTopic;
    if (responseTopic && isPublishableTopic(responseTopic)) await this.publish(responseTopic, body, options);
    await this.publish(this.topics.result(device), body, options);
  }
}
