/**
 * What a face (Homebridge accessories, Node-RED nodes) needs from Blackstart, whether the core runs in
 * the same process or elsewhere behind MQTT: the faces are written once against this and cannot tell.
 */
import type { EventEmitter } from 'node:events';
import type { BlackstartEvent } from '../core/events';
import type { CommandResult } from '../core/hub';
import type { DeviceKind, HostAction, HostState, OutageState, SensorMap, UpsState, VmAction, VmState } from '../core/state';

export interface SourceDevice {
  kind: DeviceKind;
  id: string;
  name: string;
}

/** A guest of a host's hypervisor: `id` under `host`, `name` as the hypervisor calls it. */
export interface SourceVm {
  host: string;
  id: string;
  name: string;
}

export interface SourceEvents {
  ups: [id: string, state: UpsState];
  host: [id: string, state: HostState];
  sensors: [hostId: string, readings: SensorMap];
  vm: [host: string, guest: string, state: VmState];
  outage: [state: OutageState];
  /** Things that happened (power lost, host down, plan started…): not state, so never replayed. */
  event: [event: BlackstartEvent];
  /** The source became (un)able to vouch for its state: broker or bridge lost, or back. */
  online: [online: boolean];
  /** A device or guest appeared (remote mode learns them from retained topics). */
  devices: [];
}

export interface BlackstartSource extends EventEmitter<SourceEvents> {
  /** False while the state cannot be trusted (remote: broker unreachable or `bridge/state` offline). */
  readonly online: boolean;
  devices(): SourceDevice[];
  ups(id: string): UpsState | undefined;
  host(id: string): HostState | undefined;
  sensors(hostId: string): SensorMap | undefined;
  /** Guests of every host's hypervisor. */
  vms(): SourceVm[];
  vm(host: string, guest: string): VmState | undefined;
  /** A guest action; never rejects, like execute. */
  executeVm(host: string, guest: string, action: VmAction): Promise<CommandResult>;
  /** Never rejects: failures come back as `ok: false` with an error code, as on MQTT. */
  execute(hostId: string, action: HostAction): Promise<CommandResult>;
  /** Undefined until known (remote: before the retained `outage` topic arrives). */
  outage(): OutageState | undefined;
  /** `abort` / `simulate` for the outage as a whole; never rejects, like execute. */
  outageCommand(action: string, args?: Record<string, unknown>): Promise<CommandResult>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
