import type { Clock } from './clock';
import type { Logger } from './logger';
import type { BlackstartEvent } from './events';
import type { DeviceKind, HostState, SensorMap, UpsState, VmState } from './state';

export type StateOf<K extends DeviceKind> = K extends 'ups' ? UpsState : HostState;

/** What the hub hands an adapter: the only way it can change state or raise events. */
export interface AdapterContext<K extends DeviceKind = DeviceKind> {
  readonly clock: Clock;
  readonly log: Logger;
  /** Merges a partial reading into the device's state; the hub stamps times and derives events. */
  update(patch: Partial<StateOf<K>>): void;
  /** The device's state as the hub holds it now (all adapters' facts merged). */
  current(): StateOf<K>;
  /** Replaces the device's sensor readings (hosts only). */
  sensors(readings: SensorMap): void;
  emit(event: Omit<BlackstartEvent, 'at' | 'ups' | 'host'>): void;
}

/** Facts an action reports back; snake_cased into the MQTT result's `detail`. */
export type CommandDetail = Record<string, unknown>;

export interface CommandRequest {
  action: string;
  /** Caller's correlation id, echoed in the result. */
  id?: string | null;
  /** Action-specific arguments (e.g. a delay for a UPS command). */
  args?: Record<string, unknown>;
}

/**
 * One device protocol bound to one device. Several adapters can serve one device
 * (a reachability prober and an IPMI board for the same host); the hub routes each action
 * to the first adapter that lists it in `capabilities`.
 */
export interface Adapter<K extends DeviceKind = DeviceKind> {
  /** Unique name for logs, e.g. `host:nas/simulated`. */
  readonly name: string;
  readonly kind: K;
  readonly deviceId: string;
  /** Actions this adapter can carry out for its device. */
  readonly capabilities: readonly string[];
  start(ctx: AdapterContext<K>): Promise<void> | void;
  stop(): Promise<void> | void;
  /**
   * Carries out an action; resolves when the device accepted it (optionally with facts for the
   * result, e.g. how a shutdown was verified), rejects with a BlackstartError.
   */
  execute(request: CommandRequest): Promise<void | CommandDetail>;
  /** Longest an action may take, when longer than the hub's default (a verified shutdown). */
  timeoutFor?(action: string): number | undefined;
}

/** What the hub hands a hypervisor adapter: the state of the guests it declared, and events. */
export interface VmAdapterContext {
  readonly clock: Clock;
  readonly log: Logger;
  update(guest: string, patch: Partial<VmState>): void;
  current(guest: string): VmState;
  emit(event: Omit<BlackstartEvent, 'at' | 'ups' | 'host'>): void;
}

/**
 * One hypervisor on one host, serving that host's guests (`<host>/vm/<guest>`). Guests are not
 * devices of their own: they live and die with their host, so they hang off it.
 */
export interface VmAdapter {
  readonly name: string;
  readonly hostId: string;
  /** The guest ids (config keys) this adapter serves. */
  readonly guests: readonly string[];
  start(ctx: VmAdapterContext): Promise<void> | void;
  stop(): Promise<void> | void;
  /** Carries out a guest action; resolves once it is done and verified, rejects with a BlackstartError. */
  execute(guest: string, request: CommandRequest): Promise<void | CommandDetail>;
  /** Longest an action may take. */
  timeoutFor(guest: string, action: string): number;
}
