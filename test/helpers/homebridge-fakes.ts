/**
 * Homebridge's API shape, faked just enough for the plugin: the real HAP-NodeJS classes (Service,
 * Characteristic, Accessory, uuid) with nothing published or advertised.
 */
import { EventEmitter } from 'node:events';
import * as hap from '@homebridge/hap-nodejs';
import type { BlackstartSource, CommandResult, HostAction, HostState, OutageState, SensorMap, UpsState, VmAction, VmState } from '../../src/index';
import { MapSourceState } from '../../src/source/map-state';
import type { API, Logging, PlatformAccessory } from '../../homebridge/src/homebridge-types';

export class FakePlatformAccessory extends hap.Accessory {
  context: Record<string, unknown> = {};
}

export interface FakeApi {
  api: API;
  events: EventEmitter;
  registered: PlatformAccessory[];
  unregistered: PlatformAccessory[];
}

export function fakeApi(storagePath = '/tmp'): FakeApi {
  const events = new EventEmitter();
  const registered: PlatformAccessory[] = [];
  const unregistered: PlatformAccessory[] = [];
  const api = {
    hap,
    platformAccessory: FakePlatformAccessory,
    user: { storagePath: () => storagePath },
    on: (event: string, fn: () => void) => events.on(event, fn),
    registerPlatformAccessories: (_plugin: string, _platform: string, list: PlatformAccessory[]) => registered.push(...list),
    unregisterPlatformAccessories: (_plugin: string, _platform: string, list: PlatformAccessory[]) => unregistered.push(...list),
  };
  return { api: api as unknown as API, events, registered, unregistered };
}

export function newAccessory(name: string, key: string): PlatformAccessory {
  return new FakePlatformAccessory(name, hap.uuid.generate(key)) as unknown as PlatformAccessory;
}

export interface FakeLog extends Logging {
  lines: string[];
}

export function fakeLog(): FakeLog {
  const lines: string[] = [];
  const add = (level: string) => (msg: string) => lines.push(`${level} ${msg}`);
  const log = Object.assign(add('log'), { lines, info: add('info'), warn: add('warn'), error: add('error'), debug: add('debug'), success: add('success'), log: add('log'), prefix: 'test' });
  return log as unknown as FakeLog;
}

/** A source whose state the test sets and whose commands it answers. */
export class FakeSource extends MapSourceState implements BlackstartSource {
  online = true;
  readonly calls: { host: string; action: HostAction }[] = [];
  readonly vmCalls: { host: string; guest: string; action: VmAction }[] = [];
  answerVm: (host: string, guest: string, action: VmAction) => CommandResult = (_h, _g, action) => ({ id: 'x', action, ok: true, tookMs: 1 });
  answer: (host: string, action: HostAction) => CommandResult = (_h, action) => ({ id: 'x', action, ok: true, tookMs: 1 });

  execute(host: string, action: HostAction): Promise<CommandResult> {
    this.calls.push({ host, action });
    return Promise.resolve(this.answer(host, action));
  }
  executeVm(host: string, guest: string, action: VmAction): Promise<CommandResult> {
    this.vmCalls.push({ host, guest, action });
    return Promise.resolve(this.answerVm(host, guest, action));
  }
  outage(): OutageState | undefined {
    return undefined;
  }
  outageCommand(action: string): Promise<CommandResult> {
    return Promise.resolve({ id: null, action, ok: false, error: { code: 'UNSUPPORTED', message: 'the fake source has no outage' }, tookMs: 0 });
  }
  start(): Promise<void> {
    return Promise.resolve();
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
  setHost(id: string, patch: Partial<HostState>): void {
    const prev = this.hostStates.get(id) ?? { reachable: null, latencyMs: null, power: 'unknown', phase: 'unreachable', since: 0, lastError: null };
    this.storeHost(id, { ...prev, ...patch });
  }
  setUps(id: string, patch: Partial<UpsState>): void {
    const prev = this.upsStates.get(id) ?? { status: 'online', flags: [], chargePct: 100, runtimeS: 1200, loadPct: 20, inputV: 230, batteryV: 27, onBatteryS: 0, source: 'fake', updated: 0 };
    this.storeUps(id, { ...prev, ...patch });
  }
  setSensors(id: string, readings: SensorMap): void {
    this.storeSensors(id, readings);
  }
  setVm(host: string, guest: string, patch: Partial<VmState>, name = guest): void {
    const prev = this.vmStates.get(`${host}/${guest}`)?.state ?? { state: 'unknown', since: 0, lastError: null };
    this.storeVm({ host, id: guest, name }, { ...prev, ...patch });
  }
}

export { hap };
