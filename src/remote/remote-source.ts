/**
 * Blackstart over MQTT, for a face whose core runs on another machine: state from the retained
 * contract topics, commands on `<base>/host/<id>/set` and `<base>/outage/set` answered on their
 * `…/result` (matched by id), events from `<base>/event`.
 */
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock, type TimerHandle } from '../core/clock';
import type { CommandResult } from '../core/hub';
import { silentLogger, type Logger } from '../core/logger';
import type { Secret } from '../core/secret';
import { DEVICE_ID, type HostAction, type OutageState, type VmAction } from '../core/state';
import { MqttConnection, type IncomingMessage } from '../mqtt/connection';
import { encode, parseEventPayload, parseHostPayload, parseOutagePayload, parseResultPayload, parseSensorsPayload, parseUpsPayload, parseVmPayload } from '../mqtt/payloads';
import { createTopics, type Topics } from '../mqtt/topics';
import { MapSourceState } from '../source/map-state';
import type { BlackstartSource } from '../source/source';

export interface RemoteSourceOptions {
  url: string;
  baseTopic?: string;
  username?: string;
  password?: Secret;
  ca?: Buffer;
  /** Hosts to show before (or without) their retained state arriving. */
  hosts?: string[];
  /** How long to wait for a command's result; a verified shutdown can take minutes. */
  commandTimeoutMs?: number;
  protocolVersion?: 4 | 5;
  log?: Logger;
  clock?: Clock;
  clientIdPrefix?: string;
}

interface Pending {
  /** Where the request went (a host, `<host>/vm/<guest>`, or null for the outage): a result counts only from its own topic. */
  hostId: string | null;
  action: string;
  resolve: (r: CommandResult) => void;
  timer: TimerHandle;
  started: number;
}

export class RemoteSource extends MapSourceState implements BlackstartSource {
  readonly topics: Topics;
  private readonly connection: MqttConnection;
  private readonly pending = new Map<string, Pending>();
  private outageState: OutageState | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  private bridgeOnline = false;
  private wasOnline = false;

  constructor(private readonly opts: RemoteSourceOptions) {
    super();
    this.topics = createTopics(opts.baseTopic ?? 'blackstart');
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? silentLogger();
    for (const id of opts.hosts ?? []) {
      if (!DEVICE_ID.test(id)) throw new Error(`invalid host id "${id}"`);
      this.hostStates.set(id, undefined);
    }
    this.connection = new MqttConnection({
      url: opts.url,
      protocolVersion: opts.protocolVersion ?? 4,
      reconnectMinMs: 1000,
      reconnectMaxMs: 30_000,
      clientIdPrefix: opts.clientIdPrefix ?? 'blackstart-remote',
      log: this.log,
      ...(opts.username !== undefined ? { username: opts.username } : {}),
      ...(opts.password ? { password: opts.password } : {}),
      ...(opts.ca ? { ca: opts.ca } : {}),
    });
    this.connection.subscribe(this.topics.remoteFilters);
    this.connection.onMessage((m) => this.onMessage(m));
  }

  get online(): boolean {
    return this.connection.connected && this.bridgeOnline;
  }

  outage(): OutageState | undefined {
    return this.outageState && structuredClone(this.outageState);
  }

  executeVm(host: string, guest: string, action: VmAction): Promise<CommandResult> {
    if (!DEVICE_ID.test(host) || !DEVICE_ID.test(guest)) return Promise.resolve(refused(action, 'BAD_REQUEST', `"${host}/${guest}" is not a valid guest`));
    return this.request({ host, guest }, action, undefined);
  }

  start(): Promise<void> {
    this.connection.onConnect(() => this.checkOnline());
    // Until the retained bridge state arrives again after a reconnect, nothing vouches for the state.
    this.connection.onDisconnect(() => {
      this.bridgeOnline = false;
      this.checkOnline();
    });
    this.connection.start();
    // The broker may be down now and come later: the connection keeps trying on its own.
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    for (const [id, p] of this.pending) this.finish(id, p, { code: 'CANCELLED', message: `${p.action} on ${what(p.hostId)}: the remote source was stopped` });
    await this.connection.stop();
    this.checkOnline();
  }

  execute(hostId: string, action: HostAction): Promise<CommandResult> {
    if (!DEVICE_ID.test(hostId)) return Promise.resolve(refused(action, 'BAD_REQUEST', `"${hostId}" is not a valid host id`));
    return this.request({ host: hostId }, action, undefined);
  }

  outageCommand(action: string, args?: Record<string, unknown>): Promise<CommandResult> {
    return this.request(null, action, args);
  }

  private request(to: { host: string; guest?: string } | null, action: string, args: Record<string, unknown> | undefined): Promise<CommandResult> {
    const hostId = to === null ? null : to.guest === undefined ? to.host : `${to.host}/vm/${to.guest}`;
    const started = this.clock.now();
    if (!this.connection.connected) return Promise.resolve(refused(action, 'UNREACHABLE', `not connected to the MQTT broker at ${this.opts.url}`));
    if (!this.bridgeOnline) return Promise.resolve(refused(action, 'UNREACHABLE', `Blackstart is offline (${this.topics.bridgeState} is not "online")`));
    const id = `remote-${randomUUID()}`;
    const timeoutMs = this.opts.commandTimeoutMs ?? 180_000;
    const topic = to === null ? this.topics.outageSet : to.guest === undefined ? this.topics.set({ kind: 'host', id: to.host }) : this.topics.vmSet(to.host, to.guest);
    return new Promise<CommandResult>((resolve) => {
      const timer = this.clock.setTimeout(() => {
        const p = this.pending.get(id);
        if (p) this.finish(id, p, { code: 'TIMEOUT', message: `no result for ${action} on ${what(hostId)} within ${timeoutMs} ms` });
      }, timeoutMs);
      this.pending.set(id, { hostId, action, resolve, timer, started });
      void this.connection.publish(topic, encode({ action, id, ...(args ? { args } : {}) }), { qos: 1 });
    });
  }

  private finish(id: string, p: Pending, error: NonNullable<CommandResult['error']>): void {
    this.pending.delete(id);
    this.clock.clearTimeout(p.timer);
    p.resolve({ id, action: p.action, ok: false, error, tookMs: this.clock.now() - p.started });
  }

  private onMessage(m: IncomingMessage): void {
    const parsed = this.topics.parse(m.topic);
    if (!parsed) return;
    try {
      switch (parsed.type) {
        case 'bridge-state':
          this.bridgeOnline = m.payload.toString('utf8').trim() === 'online';
          // A daemon that went away will not answer what it was asked.
          if (!this.bridgeOnline) for (const [id, p] of this.pending) this.finish(id, p, { code: 'UNREACHABLE', message: `Blackstart went offline before answering ${p.action} on ${what(p.hostId)}` });
          this.checkOnline();
          return;
        case 'state':
          if (m.payload.length === 0) return; // a cleared retained topic
          if (parsed.device.kind === 'ups') this.storeUps(parsed.device.id, parseUpsPayload(m.payload));
          else this.storeHost(parsed.device.id, parseHostPayload(m.payload));
          return;
        case 'sensors':
          if (m.payload.length === 0) return;
          this.storeSensors(parsed.host, parseSensorsPayload(m.payload));
          return;
        case 'result':
          if (parsed.device.kind === 'host') this.onResult(parsed.device.id, m);
          return;
        case 'vm-state': {
          if (m.payload.length === 0) return;
          const { name, ...state } = parseVmPayload(m.payload);
          this.storeVm({ host: parsed.host, id: parsed.vm, name }, state);
          return;
        }
        case 'vm-result':
          this.onResult(`${parsed.host}/vm/${parsed.vm}`, m);
          return;
        case 'outage':
          if (m.payload.length === 0) return;
          this.outageState = parseOutagePayload(m.payload);
          this.emit('outage', structuredClone(this.outageState));
          return;
        case 'outage-result':
          this.onResult(null, m);
          return;
        case 'event':
          // An event kept by the broker is old news, not something that happened now.
          if (m.retain || m.payload.length === 0) return;
          this.emit('event', parseEventPayload(m.payload));
          return;
        default:
          return;
      }
    } catch (err) {
      this.log.warn({ topic: m.topic, err: (err as Error).message }, 'unreadable Blackstart message ignored');
    }
  }

  private onResult(hostId: string | null, m: IncomingMessage): void {
    if (m.retain) return;
    const result = parseResultPayload(m.payload);
    const p = result.id !== null ? this.pending.get(result.id) : undefined;
    // A result on another topic cannot answer this request, whatever id it carries.
    if (!p || result.id === null || p.hostId !== hostId) return;
    this.pending.delete(result.id);
    this.clock.clearTimeout(p.timer);
    p.resolve(result);
  }

  private checkOnline(): void {
    const now = this.online;
    if (now === this.wasOnline) return;
    this.wasOnline = now;
    this.emit('online', now);
  }
}

function what(hostId: string | null): string {
  return hostId === null ? 'the outage' : `"${hostId}"`;
}

function refused(action: string, code: 'BAD_REQUEST' | 'UNREACHABLE', message: string): CommandResult {
  return { id: null, action, ok: false, error: { code, message }, tookMs: 0 };
}
