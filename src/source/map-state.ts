/**
 * The state half of a source kept in maps, for a source that learns its devices as their states
 * arrive (RemoteSource, from retained topics; test fakes, from the test): the getters of
 * BlackstartSource, and stores that emit the change, plus `devices` when something is new.
 */
import { EventEmitter } from 'node:events';
import type { HostState, SensorMap, UpsState, VmState } from '../core/state';
import type { SourceDevice, SourceEvents, SourceVm } from './source';

export class MapSourceState extends EventEmitter<SourceEvents> {
  protected readonly upsStates = new Map<string, UpsState>();
  /** A host may be known (named in options) before its first state. */
  protected readonly hostStates = new Map<string, HostState | undefined>();
  protected readonly sensorMaps = new Map<string, SensorMap>();
  /** Guests by `<host>/<guest>`. */
  protected readonly vmStates = new Map<string, { info: SourceVm; state: VmState }>();

  devices(): SourceDevice[] {
    return [
      ...[...this.upsStates.keys()].map((id) => ({ kind: 'ups' as const, id, name: id })),
      ...[...this.hostStates.keys()].map((id) => ({ kind: 'host' as const, id, name: id })),
    ];
  }

  ups(id: string): UpsState | undefined {
    return this.upsStates.get(id);
  }

  host(id: string): HostState | undefined {
    return this.hostStates.get(id);
  }

  sensors(hostId: string): SensorMap | undefined {
    return this.sensorMaps.get(hostId);
  }

  vms(): SourceVm[] {
    return [...this.vmStates.values()].map((v) => ({ ...v.info }));
  }

  vm(host: string, guest: string): VmState | undefined {
    const v = this.vmStates.get(`${host}/${guest}`);
    return v && { ...v.state };
  }

  protected storeUps(id: string, state: UpsState): void {
    const fresh = !this.upsStates.has(id);
    this.upsStates.set(id, state);
    if (fresh) this.emit('devices');
    this.emit('ups', id, state);
  }

  protected storeHost(id: string, state: HostState): void {
    const fresh = !this.hostStates.has(id);
    this.hostStates.set(id, state);
    if (fresh) this.emit('devices');
    this.emit('host', id, state);
  }

  protected storeSensors(hostId: string, readings: SensorMap): void {
    this.sensorMaps.set(hostId, readings);
    this.emit('sensors', hostId, readings);
  }

  protected storeVm(info: SourceVm, state: VmState): void {
    const key = `${info.host}/${info.id}`;
    const fresh = !this.vmStates.has(key);
    this.vmStates.set(key, { info, state });
    if (fresh) this.emit('devices');
    this.emit('vm', info.host, info.id, { ...state });
  }
}
