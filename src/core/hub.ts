import { EventEmitter } from 'node:events';
import type { Adapter, AdapterContext, CommandDetail, CommandRequest, StateOf, VmAdapter, VmAdapterContext } from './adapter';
import { systemClock, type Clock } from './clock';
import { BlackstartError, toBlackstartError, type ErrorCode } from './errors';
import type { BlackstartEvent } from './events';
import { silentLogger, type Logger } from './logger';
import {
  HOST_ACTIONS,
  initialHostState,
  initialOutageState,
  initialUpsState,
  initialVmState,
  isOnBattery,
  isVmDown,
  isVmUp,
  VM_ACTIONS,
  type DeviceKind,
  type DeviceRef,
  type HostState,
  type OutageState,
  type SensorMap,
  type UpsState,
  type UpsStatus,
  type VmState,
} from './state';

const WARN_EVENTS = new Set<BlackstartEvent['type']>([
  'power_lost',
  'low_battery',
  'ups_comm_lost',
  'host_shutdown_failed',
  'host_unreachable',
  'escalation',
  'plan_over_budget',
  'command_failed',
  'host_restore_failed',
  'service_check_failed',
  'outage_aborted',
  'vm_stop_failed',
  'vm_start_failed',
]);

/** Who answers `<base>/outage/set`: the orchestrator, when one runs. */
export type OutageCommandHandler = (request: CommandRequest) => Promise<void | CommandDetail>;

export interface CommandResult {
  id: string | null;
  /** null when the request could not even be read. */
  action: string | null;
  ok: boolean;
  error?: { code: ErrorCode; message: string };
  tookMs: number;
  /** What the adapter reported on success (e.g. how a shutdown was verified). */
  detail?: CommandDetail;
}

export interface HubEvents {
  ups: [id: string, state: UpsState, previous: UpsState];
  host: [id: string, state: HostState, previous: HostState];
  sensors: [hostId: string, readings: SensorMap];
  outage: [state: OutageState];
  event: [event: BlackstartEvent];
  result: [device: DeviceRef, result: CommandResult];
  vm: [host: string, guest: string, state: VmState, previous: VmState];
  vmResult: [host: string, guest: string, result: CommandResult];
}

/** A guest as the hub lists it: its id under its host and its name on the hypervisor. */
export interface VmInfo {
  host: string;
  id: string;
  name: string;
}

export interface DeviceInfo {
  id: string;
  kind: DeviceKind;
  name: string;
}

export interface HubOptions {
  clock?: Clock;
  log?: Logger;
  /** Longest an action may take before its result says TIMEOUT (adapters have tighter limits of their own). */
  commandTimeoutMs?: number;
}

/** What a routed command runs, and for a device, how it queues and how its failure is told. */
interface CommandTarget {
  run: () => Promise<void | CommandDetail>;
  /** Absent for the outage as a whole: not queued, and a failure raises no event. */
  device?: {
    /** Queue key and log name (`ups/main`, `vm/pve/db`). */
    key: string;
    /** Who the `command_failed` event is about. */
    fields: Pick<BlackstartEvent, 'ups' | 'host' | 'vm'>;
    /** How the event's message names the action. */
    what: string;
  };
}

interface UpsRecord {
  info: DeviceInfo;
  state: UpsState;
  /** Last status that was not comm_lost: events compare against it so a link blip raises no power event. */
  lastKnown: UpsStatus | null;
  onBatterySince: number | null;
}

interface VmRecord {
  info: VmInfo;
  state: VmState;
  seen: boolean;
}

interface HostRecord {
  info: DeviceInfo;
  state: HostState;
  sensors: SensorMap;
  seen: boolean;
}

/**
 * The state store and event bus. Adapters feed it through their context; the MQTT bridge,
 * the orchestrator, Node-RED and Homebridge read it and send commands through `execute`.
 * It never throws at an adapter because a listener failed, and `execute` never rejects.
 */
export class Hub extends EventEmitter<HubEvents> {
  readonly clock: Clock;
  readonly log: Logger;
  private readonly commandTimeoutMs: number;
  private readonly upsRecords = new Map<string, UpsRecord>();
  private readonly hostRecords = new Map<string, HostRecord>();
  private readonly adapters: Adapter[] = [];
  private readonly vmRecords = new Map<string, VmRecord>();
  private readonly vmAdapters: VmAdapter[] = [];
  private readonly queues = new Map<string, Promise<unknown>>();
  private outageState: OutageState = initialOutageState();
  private outageHandler: OutageCommandHandler | undefined;
  private started = false;

  constructor(opts: HubOptions = {}) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? silentLogger();
    this.commandTimeoutMs = opts.commandTimeoutMs ?? 120_000;
  }

  addUps(id: string, name = id): void {
    this.assertNew('ups', id);
    this.upsRecords.set(id, {
      info: { id, kind: 'ups', name },
      state: initialUpsState(this.clock.now()),
      lastKnown: null,
      onBatterySince: null,
    });
  }

  addHost(id: string, name = id): void {
    this.assertNew('host', id);
    this.hostRecords.set(id, { info: { id, kind: 'host', name }, state: initialHostState(this.clock.now()), sensors: {}, seen: false });
  }

  /** A guest of a host's hypervisor; served by the VmAdapter attached for that host. */
  addVm(host: string, id: string, name = id): void {
    if (!this.hostRecords.has(host)) throw new BlackstartError('CONFIG', `guest "${id}" names unknown host "${host}"`);
    const key = `${host}/${id}`;
    if (this.vmRecords.has(key)) throw new BlackstartError('CONFIG', `guest "${key}" is declared twice`);
    this.vmRecords.set(key, { info: { host, id, name }, state: initialVmState(this.clock.now()), seen: false });
  }

  attachVm(adapter: VmAdapter): void {
    for (const g of adapter.guests) {
      if (!this.vmRecords.has(`${adapter.hostId}/${g}`)) throw new BlackstartError('CONFIG', `adapter ${adapter.name} names unknown guest "${adapter.hostId}/${g}"`);
    }
    this.vmAdapters.push(adapter);
    if (this.started) void this.startVmAdapter(adapter);
  }

  /** Guests, of one host or of all. */
  vms(host?: string): VmInfo[] {
    return [...this.vmRecords.values()].filter((r) => host === undefined || r.info.host === host).map((r) => ({ ...r.info }));
  }

  vm(host: string, id: string): VmState | undefined {
    const r = this.vmRecords.get(`${host}/${id}`);
    return r && { ...r.state };
  }

  updateVm(host: string, id: string, patch: Partial<VmState>): void {
    const rec = this.vmRecords.get(`${host}/${id}`);
    if (!rec) throw new BlackstartError('NOT_FOUND', `unknown guest "${id}" on host "${host}"`);
    const prev = rec.state;
    const next: VmState = { ...prev, ...patch };
    next.since = next.state !== prev.state ? this.clock.now() : prev.since;
    rec.state = next;
    if (sameExcept(prev, next)) return;
    this.safeEmit('vm', host, id, { ...next }, prev);
    if (rec.seen && next.state !== prev.state) {
      if (isVmDown(next.state) && !isVmDown(prev.state)) {
        this.emitEvent({ type: 'vm_stopped', host, vm: id, message: `${host}/${id} is ${next.state}`, detail: { state: next.state } });
      } else if (next.state === 'running' && !isVmUp(prev.state)) {
        this.emitEvent({ type: 'vm_started', host, vm: id, message: `${host}/${id} is running` });
      }
    }
    if (next.state !== 'unknown') rec.seen = true;
  }

  /**
   * A guest action, with the same promises as `execute`: never rejects; an unknown host, guest or
   * action comes back `ok: false` and nothing is done; one guest's actions run one at a time.
   */
  async executeVm(host: string, guest: string, request: CommandRequest, opts: { urgent?: boolean } = {}): Promise<CommandResult> {
    const publish = (result: CommandResult): void => this.safeEmit('vmResult', host, guest, result);
    return this.command(request, opts.urgent, publish, () => {
      if (!this.hostRecords.has(host)) return new BlackstartError('NOT_FOUND', `unknown host "${host}"`);
      if (!this.vmRecords.has(`${host}/${guest}`)) {
        const known = this.vms(host).map((v) => v.id);
        return new BlackstartError('NOT_FOUND', `unknown guest "${guest}" on host "${host}" (have: ${known.join(', ') || 'none'})`);
      }
      if (!(VM_ACTIONS as readonly string[]).includes(request.action)) {
        return new BlackstartError('BAD_REQUEST', `unknown action "${request.action}" for guest "${host}/${guest}" (expected one of: ${VM_ACTIONS.join(', ')})`);
      }
      const a = this.vmAdapters.find((x) => x.hostId === host && x.guests.includes(guest));
      if (!a) return new BlackstartError('UNSUPPORTED', `guest "${host}/${guest}" has no hypervisor attached`);
      return {
        run: () => this.withTimeout(() => a.execute(guest, request), a.timeoutFor(guest, request.action), request.action),
        device: { key: `vm/${host}/${guest}`, fields: { host, vm: guest }, what: `${request.action} of ${host}/${guest}` },
      };
    });
  }

  /**
   * The one path every command takes: `route` picks what runs (or refuses with a coded error, and
   * nothing runs); a device's commands queue per device and a failure is logged and raised as
   * `command_failed`; the result is shaped the same for all and handed to `publish`.
   */
  private async command(
    request: CommandRequest,
    urgent: boolean | undefined,
    publish: (result: CommandResult) => void,
    route: () => CommandTarget | BlackstartError,
  ): Promise<CommandResult> {
    const startedAt = this.clock.now();
    const target = route();
    let outcome: { error?: BlackstartError; detail?: CommandDetail };
    if (target instanceof BlackstartError) {
      outcome = { error: target };
    } else {
      outcome = target.device ? await this.queued(target.device.key, urgent, target.run) : await attempt(target.run);
      if (outcome.error) this.reportFailure(request.action, target.device, outcome.error);
    }
    const { error, detail } = outcome;
    const result: CommandResult = { id: request.id ?? null, action: request.action, ok: !error, tookMs: this.clock.now() - startedAt };
    if (error) result.error = error.toJSON();
    if (detail && !error) result.detail = detail;
    publish(result);
    return result;
  }

  private reportFailure(action: string, device: CommandTarget['device'], error: BlackstartError): void {
    if (!device) {
      this.log.warn({ action, code: error.code, err: error.message }, 'outage command failed');
      return;
    }
    this.log.warn({ device: device.key, action, code: error.code, err: error.message }, 'action failed');
    this.emitEvent({ type: 'command_failed', ...device.fields, message: `${device.what} failed: ${error.message}`, detail: { action, code: error.code } });
  }

  /** Runs after whatever the same key still has queued, unless urgent; never rejects. */
  private async queued(key: string, urgent: boolean | undefined, run: () => Promise<void | CommandDetail>): Promise<{ error?: BlackstartError; detail?: CommandDetail }> {
    const previous = urgent ? Promise.resolve() : (this.queues.get(key) ?? Promise.resolve());
    const settled = previous.then(run).then(
      (d) => (d ? { detail: d } : {}),
      (err: unknown) => ({ error: toBlackstartError(err) }),
    );
    if (!urgent) this.queues.set(key, settled);
    const outcome = await settled;
    if (this.queues.get(key) === settled) this.queues.delete(key);
    return outcome;
  }

  attach(adapter: Adapter): void {
    if (!this.has(adapter.kind, adapter.deviceId)) {
      throw new BlackstartError('CONFIG', `adapter ${adapter.name} names unknown ${adapter.kind} "${adapter.deviceId}"`);
    }
    this.adapters.push(adapter);
    if (this.started) void this.startAdapter(adapter);
  }

  has(kind: DeviceKind, id: string): boolean {
    return kind === 'ups' ? this.upsRecords.has(id) : this.hostRecords.has(id);
  }

  devices(kind: DeviceKind): DeviceInfo[] {
    const records = kind === 'ups' ? this.upsRecords : this.hostRecords;
    return [...records.values()].map((r) => ({ ...r.info }));
  }

  ups(id: string): UpsState | undefined {
    const r = this.upsRecords.get(id);
    return r && { ...r.state, flags: [...r.state.flags] };
  }

  host(id: string): HostState | undefined {
    const r = this.hostRecords.get(id);
    return r && { ...r.state };
  }

  sensors(hostId: string): SensorMap | undefined {
    const r = this.hostRecords.get(hostId);
    return r && structuredClone(r.sensors);
  }

  get outage(): OutageState {
    return structuredClone(this.outageState);
  }

  /** Actions the device can carry out with the adapters it has. */
  capabilities(kind: DeviceKind, id: string): string[] {
    const set = new Set<string>();
    for (const a of this.adapters) if (a.kind === kind && a.deviceId === id) a.capabilities.forEach((c) => set.add(c));
    return [...set];
  }

  async start(): Promise<void> {
    this.started = true;
    await Promise.all([...this.adapters.map((a) => this.startAdapter(a)), ...this.vmAdapters.map((a) => this.startVmAdapter(a))]);
  }

  async stop(): Promise<void> {
    this.started = false;
    await Promise.all(
      [...this.adapters, ...this.vmAdapters].map(async (a) => {
        try {
          await a.stop();
        } catch (err) {
          this.log.warn({ adapter: a.name, err: toBlackstartError(err).message }, 'adapter failed to stop cleanly');
        }
      }),
    );
  }

  updateUps(id: string, patch: Partial<UpsState>): void {
    const rec = this.upsRecords.get(id);
    if (!rec) throw new BlackstartError('NOT_FOUND', `unknown UPS "${id}"`);
    const now = this.clock.now();
    const prev = rec.state;
    const next: UpsState = { ...prev, ...patch, updated: now };
    /** Length of the outage that this update ends, if it ends one. */
    let outageS: number | null = null;

    if (isOnBattery(next.status) || (next.status !== 'online' && rec.onBatterySince !== null)) {
      if (rec.onBatterySince === null) rec.onBatterySince = now - (patch.onBatteryS ?? 0) * 1000;
      if (next.status !== 'comm_lost') next.onBatteryS = Math.floor(patch.onBatteryS ?? (now - rec.onBatterySince) / 1000);
    } else if (next.status === 'online') {
      if (rec.onBatterySince !== null) outageS = Math.floor((now - rec.onBatterySince) / 1000);
      rec.onBatterySince = null;
      next.onBatteryS = 0;
    }
    rec.state = next;
    if (sameExcept(prev, next, 'updated')) return;
    this.safeEmit('ups', id, { ...next, flags: [...next.flags] }, prev);
    this.deriveUpsEvents(rec, prev, next, outageS);
  }

  updateHost(id: string, patch: Partial<HostState>): void {
    const rec = this.hostRecords.get(id);
    if (!rec) throw new BlackstartError('NOT_FOUND', `unknown host "${id}"`);
    const prev = rec.state;
    const next: HostState = { ...prev, ...patch };
    next.since = next.phase !== prev.phase ? this.clock.now() : prev.since;
    rec.state = next;
    if (sameExcept(prev, next)) return;
    this.safeEmit('host', id, { ...next }, prev);
    this.deriveHostEvents(rec, prev, next);
    rec.seen = true;
  }

  setSensors(hostId: string, readings: SensorMap): void {
    const rec = this.hostRecords.get(hostId);
    if (!rec) throw new BlackstartError('NOT_FOUND', `unknown host "${hostId}"`);
    if (JSON.stringify(rec.sensors) === JSON.stringify(readings)) return;
    rec.sensors = structuredClone(readings);
    this.safeEmit('sensors', hostId, structuredClone(readings));
  }

  setOutage(state: OutageState): void {
    this.outageState = structuredClone(state);
    this.safeEmit('outage', structuredClone(state));
  }

  /** The orchestrator registers here; undefined unregisters. */
  setOutageHandler(handler: OutageCommandHandler | undefined): void {
    this.outageHandler = handler;
  }

  /** A command for the outage as a whole (`abort`, `simulate`); never rejects, like `execute`. */
  async outageCommand(request: CommandRequest): Promise<CommandResult> {
    return this.command(request, undefined, () => {}, () => ({
      run: () => {
        if (!this.outageHandler) throw new BlackstartError('UNSUPPORTED', 'no outage orchestrator runs in this process');
        return this.outageHandler(request);
      },
    }));
  }

  emitEvent(event: Omit<BlackstartEvent, 'at'> & { at?: number }): void {
    const e: BlackstartEvent = { ...event, at: event.at ?? this.clock.now() };
    const level = WARN_EVENTS.has(e.type) ? 'warn' : 'info';
    this.log[level]({ event: e.type, ups: e.ups, host: e.host, ...(e.vm ? { vm: e.vm } : {}) }, e.message ?? e.type);
    this.safeEmit('event', e);
  }

  /**
   * Carries out an action on a device. Never rejects: every failure, including an unknown
   * device or action, comes back as `ok: false` with a coded error, and nothing is done.
   * Actions on one device run one after another, except an `urgent` one (an escalation to hard
   * power-off must not wait behind the graceful shutdown it replaces).
   */
  async execute(device: DeviceRef, request: CommandRequest, opts: { urgent?: boolean } = {}): Promise<CommandResult> {
    const publish = (result: CommandResult): void => this.safeEmit('result', { ...device }, result);
    return this.command(request, opts.urgent, publish, () => {
      const adapter = this.route(device, request.action);
      if (adapter instanceof BlackstartError) return adapter;
      return {
        run: () => this.runWithTimeout(adapter, request),
        device: { key: `${device.kind}/${device.id}`, fields: { [device.kind]: device.id }, what: request.action },
      };
    });
  }

  private route(device: DeviceRef, action: string): Adapter | BlackstartError {
    if (!this.has(device.kind, device.id)) {
      const label = device.kind === 'ups' ? 'UPS' : 'host';
      return new BlackstartError('NOT_FOUND', `unknown ${label} "${device.id}"`);
    }
    const supported = this.capabilities(device.kind, device.id);
    const known: readonly string[] = device.kind === 'host' ? HOST_ACTIONS : supported;
    if (!known.includes(action)) {
      const list = known.length ? known.join(', ') : 'none configured';
      return new BlackstartError('BAD_REQUEST', `unknown action "${action}" for ${device.kind} "${device.id}" (expected one of: ${list})`);
    }
    const adapter = this.adapters.find((a) => a.kind === device.kind && a.deviceId === device.id && a.capabilities.includes(action));
    if (!adapter) {
      return new BlackstartError('UNSUPPORTED', `${device.kind} "${device.id}" has no method configured for "${action}"`);
    }
    return adapter;
  }

  private runWithTimeout(adapter: Adapter, request: CommandRequest): Promise<void | CommandDetail> {
    return this.withTimeout(() => adapter.execute(request), adapter.timeoutFor?.(request.action) ?? this.commandTimeoutMs, request.action);
  }

  private withTimeout(run: () => Promise<void | CommandDetail>, limit: number, action: string): Promise<void | CommandDetail> {
    return new Promise<void | CommandDetail>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        reject(new BlackstartError('TIMEOUT', `${action} did not finish within ${limit} ms`));
      }, limit);
      Promise.resolve()
        .then(run)
        .then(resolve, reject)
        .finally(() => this.clock.clearTimeout(timer));
    });
  }

  private async startVmAdapter(adapter: VmAdapter): Promise<void> {
    const host = adapter.hostId;
    const ctx: VmAdapterContext = {
      clock: this.clock,
      log: this.log.child({ adapter: adapter.name }),
      update: (guest, patch) => this.updateVm(host, guest, patch),
      current: (guest) => {
        const st = this.vm(host, guest);
        if (!st) throw new BlackstartError('INTERNAL', `${adapter.name}: guest "${guest}" is not in the hub`);
        return st;
      },
      emit: (event) => this.emitEvent({ ...event, host }),
    };
    try {
      await adapter.start(ctx);
    } catch (err) {
      const e = toBlackstartError(err);
      this.log.error({ adapter: adapter.name, code: e.code, err: e.message }, 'adapter failed to start');
      for (const g of adapter.guests) this.updateVm(host, g, { lastError: e.message });
    }
  }

  private async startAdapter(adapter: Adapter): Promise<void> {
    try {
      await adapter.start(this.contextFor(adapter));
    } catch (err) {
      const e = toBlackstartError(err);
      this.log.error({ adapter: adapter.name, code: e.code, err: e.message }, 'adapter failed to start');
      if (adapter.kind === 'host') this.updateHost(adapter.deviceId, { lastError: e.message });
      else this.updateUps(adapter.deviceId, { status: 'comm_lost' });
    }
  }

  private contextFor(adapter: Adapter): AdapterContext {
    const { kind, deviceId } = adapter;
    return {
      clock: this.clock,
      log: this.log.child({ adapter: adapter.name }),
      update: (patch) => {
        if (kind === 'ups') this.updateUps(deviceId, patch as Partial<UpsState>);
        else this.updateHost(deviceId, patch as Partial<HostState>);
      },
      current: () => {
        const state = kind === 'ups' ? this.ups(deviceId) : this.host(deviceId);
        if (!state) throw new BlackstartError('INTERNAL', `${adapter.name}: its device is not in the hub`);
        return state as StateOf<typeof kind>;
      },
      sensors: (readings) => {
        if (kind !== 'host') throw new BlackstartError('INTERNAL', `${adapter.name}: sensors belong to hosts`);
        this.setSensors(deviceId, readings);
      },
      emit: (event) => this.emitEvent({ ...event, [kind]: deviceId }),
    };
  }

  private deriveUpsEvents(rec: UpsRecord, prev: UpsState, next: UpsState, outageS: number | null): void {
    const ups = rec.info.id;
    if (next.status === 'comm_lost') {
      if (prev.status !== 'comm_lost') this.emitEvent({ type: 'ups_comm_lost', ups, message: `lost contact with UPS ${ups}` });
      return;
    }
    const before = rec.lastKnown;
    if (prev.status === 'comm_lost' && before !== null) {
      this.emitEvent({ type: 'ups_comm_restored', ups, message: `contact with UPS ${ups} restored` });
    }
    rec.lastKnown = next.status;
    const wasOnBattery = before !== null && isOnBattery(before);
    if (!wasOnBattery && isOnBattery(next.status)) {
      this.emitEvent({ type: 'power_lost', ups, message: `UPS ${ups} is on battery`, detail: { charge_pct: next.chargePct, runtime_s: next.runtimeS } });
    }
    if (next.status === 'low_battery' && before !== 'low_battery') {
      this.emitEvent({ type: 'low_battery', ups, message: `UPS ${ups} reports low battery`, detail: { charge_pct: next.chargePct, runtime_s: next.runtimeS } });
    }
    if (wasOnBattery && next.status === 'online') {
      this.emitEvent({ type: 'power_restored', ups, message: `mains power is back on UPS ${ups}`, detail: { on_battery_s: outageS ?? prev.onBatteryS } });
    }
  }

  private deriveHostEvents(rec: HostRecord, prev: HostState, next: HostState): void {
    if (prev.phase === next.phase) return;
    const host = rec.info.id;
    switch (next.phase) {
      case 'shutting_down':
        this.emitEvent({ type: 'host_shutdown_started', host, message: `${host} is shutting down` });
        break;
      case 'down':
        if (prev.phase === 'shutting_down') {
          this.emitEvent({ type: 'host_shutdown_done', host, message: `${host} is down`, detail: { took_ms: next.since - prev.since } });
        }
        break;
      case 'waking':
        this.emitEvent({ type: 'host_wake_started', host, message: `${host} is waking` });
        break;
      case 'running':
        if (rec.seen) this.emitEvent({ type: 'host_up', host, message: `${host} is up` });
        break;
      case 'unreachable':
        if (rec.seen) this.emitEvent({ type: 'host_unreachable', host, message: `${host} stopped answering`, detail: { last_error: next.lastError } });
        break;
    }
  }

  private assertNew(kind: DeviceKind, id: string): void {
    if (this.has(kind, id)) throw new BlackstartError('CONFIG', `${kind} "${id}" is declared twice`);
  }

  private safeEmit<E extends keyof HubEvents>(event: E, ...args: HubEvents[E]): void {
    for (const listener of this.listeners(event) as ((...a: HubEvents[E]) => void)[]) {
      try {
        listener(...args);
      } catch (err) {
        // A broken listener (a face, a flow) must not stop the adapter that reported the change.
        this.log.error({ event, err: toBlackstartError(err).message }, 'hub listener failed');
      }
    }
  }
}

/** Runs at once, unqueued; never rejects. */
async function attempt(run: () => Promise<void | CommandDetail>): Promise<{ error?: BlackstartError; detail?: CommandDetail }> {
  try {
    const detail = await run();
    return detail ? { detail } : {};
  } catch (err) {
    return { error: toBlackstartError(err) };
  }
}

function sameExcept<T extends object>(a: T, b: T, ...ignore: (keyof T)[]): boolean {
  for (const key of Object.keys(a) as (keyof T)[]) {
    if (ignore.includes(key)) continue;
    const x = a[key];
    const y = b[key];
    if (Array.isArray(x) && Array.isArray(y)) {
      if (x.length !== y.length || x.some((v, i) => v !== y[i])) return false;
    } else if (x !== y) return false;
  }
  return true;
}
