/**
 * The daemon's MQTT face: publishes hub state as retained JSON, streams events, and turns
 * `…/set` messages into hub commands with results. The connection itself is ./connection.
 */
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
  vmPayload,
} from './payloads';
import { MqttConnection, type IncomingMessage, type PublishOptions } from './connection';
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

/** What a `…/set` topic addresses. */
type Target = DeviceRef | { kind: 'vm'; host: string; vm: string } | 'outage';

export type BridgeStatus = 'connecting' | 'connected' | 'reconnecting' | 'stopped';

export class MqttBridge {
  readonly topics: Topics;
  /** Shared with whatever else speaks through the daemon's broker login (the agent requester). */
  readonly connection: MqttConnection;
  private readonly queuedEvents: BlackstartEvent[] = [];
  private firstConnect: Promise<void>;
  private resolveFirst!: () => void;
  private readonly onHub = {
    ups: (id: string): void => this.publishUps(id),
    host: (id: string): void => this.publishHost(id),
    sensors: (id: string): void => this.publishSensors(id),
    outage: (): void => this.publishOutage(),
    event: (e: BlackstartEvent): void => this.publishEvent(e),
    vm: (host: string, guest: string): void => this.publishVm(host, guest),
  };

  constructor(
    private readonly hub: Hub,
    private readonly opts: BridgeOptions,
  ) {
    this.topics = createTopics(opts.baseTopic);
    this.firstConnect = new Promise((resolve) => (this.resolveFirst = resolve));
    this.connection = new MqttConnection({
      url: opts.url,
      protocolVersion: opts.protocolVersion,
      reconnectMinMs: opts.reconnectMinMs,
      reconnectMaxMs: opts.reconnectMaxMs,
      log: opts.log,
      will: { topic: this.topics.bridgeState, payload: 'offline' },
      ...(opts.username !== undefined ? { username: opts.username } : {}),
      ...(opts.password !== undefined ? { password: opts.password } : {}),
      ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
      ...(opts.clientId !== undefined ? { clientId: opts.clientId } : {}),
    });
    this.connection.subscribe(this.topics.commandFilters);
    this.connection.onConnect(() => this.onConnect());
    this.connection.onMessage((m) => this.onMessage(m));
  }

  get status(): BridgeStatus {
    return this.connection.status;
  }

  get lastError(): string | null {
    return this.connection.lastError;
  }

  /** Starts connecting; never throws for an absent broker (it keeps retrying with backoff). */
  start(): void {
    this.connection.start();
    this.hub.on('ups', this.onHub.ups);
    this.hub.on('host', this.onHub.host);
    this.hub.on('sensors', this.onHub.sensors);
    this.hub.on('outage', this.onHub.outage);
    this.hub.on('event', this.onHub.event);
    this.hub.on('vm', this.onHub.vm);
  }

  /** Resolves once the first connection is made (state is published by then). */
  ready(): Promise<void> {
    return this.firstConnect;
  }

  get connected(): boolean {
    return this.connection.connected;
  }

  /** Marks the bridge offline (retained) and disconnects. */
  async stop(): Promise<void> {
    this.hub.off('ups', this.onHub.ups);
    this.hub.off('host', this.onHub.host);
    this.hub.off('sensors', this.onHub.sensors);
    this.hub.off('outage', this.onHub.outage);
    this.hub.off('event', this.onHub.event);
    this.hub.off('vm', this.onHub.vm);
    await this.connection.stop({ topic: this.topics.bridgeState, payload: 'offline' });
  }

  private onConnect(): void {
    // Retained state may be gone (broker restarted without persistence): publish all of it again.
    void this.publish(this.topics.bridgeState, 'online', { retain: true, qos: 1 });
    for (const { id } of this.hub.devices('ups')) this.publishUps(id);
    for (const { id } of this.hub.devices('host')) {
      this.publishHost(id);
      this.publishSensors(id);
    }
    for (const v of this.hub.vms()) this.publishVm(v.host, v.id);
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

  private publishVm(host: string, guest: string): void {
    const s = this.hub.vm(host, guest);
    const info = this.hub.vms(host).find((v) => v.id === guest);
    if (s && info) this.publishState(this.topics.vm(host, guest), vmPayload(s, info));
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

  private publish(topic: string, payload: string, options: PublishOptions): Promise<void> {
    return this.connection.publish(topic, payload, options);
  }

  private onMessage(m: IncomingMessage): void {
    const parsed = this.topics.parse(m.topic);
    if (parsed?.type !== 'command' && parsed?.type !== 'outage-command' && parsed?.type !== 'vm-command') return;
    if (m.retain) {
      // A retained command would run again at every restart of this process.
      this.opts.log.warn({ topic: m.topic }, 'ignored a retained command: publish commands without the retain flag');
      return;
    }
    const target: Target = parsed.type === 'command' ? parsed.device : parsed.type === 'vm-command' ? { kind: 'vm', host: parsed.host, vm: parsed.vm } : 'outage';
    void this.handleCommand(target, m).catch((err: unknown) => {
      this.opts.log.error({ topic: m.topic, err: toBlackstartError(err).message }, 'command handling failed');
    });
  }

  private async handleCommand(device: Target, m: IncomingMessage): Promise<void> {
    let result: CommandResult;
    const label = device === 'outage' ? 'outage' : device.kind === 'vm' ? `host/${device.host}/vm/${device.vm}` : `${device.kind}/${device.id}`;
    try {
      const cmd = parseCommand(m.payload);
      this.opts.log.info({ device: label, action: cmd.action, id: cmd.id }, 'command received');
      const request = { action: cmd.action, id: cmd.id, ...(cmd.args ? { args: cmd.args } : {}) };
      if (device === 'outage') result = await this.hub.outageCommand(request);
      else if (device.kind === 'vm') result = await this.hub.executeVm(device.host, device.vm, request);
      else result = await this.hub.execute(device, request);
    } catch (err) {
      const e = toBlackstartError(err);
      const partial = err instanceof CommandParseError ? err.partial : { action: null, id: null };
      this.opts.log.warn({ device: label, err: e.message }, 'command rejected');
      result = { id: partial.id, action: partial.action, ok: false, error: e.toJSON(), tookMs: 0 };
    }
    const body = encode(resultPayload(result));
    const options: PublishOptions = { qos: 1, ...(m.correlationData ? { correlationData: m.correlationData } : {}) };
    if (m.responseTopic && isPublishableTopic(m.responseTopic)) await this.publish(m.responseTopic, body, options);
    const to = device === 'outage' ? this.topics.outageResult : device.kind === 'vm' ? this.topics.vmResult(device.host, device.vm) : this.topics.result(device);
    await this.publish(to, body, options);
  }
}
