/** Normalized device state: the one shape every adapter feeds and every face reads. */

export const UPS_STATUSES = ['online', 'on_battery', 'low_battery', 'comm_lost', 'shutting_down', 'off'] as const;
export type UpsStatus = (typeof UPS_STATUSES)[number];

export interface UpsState {
  status: UpsStatus;
  /** Raw flags as the source reports them (e.g. NUT `OL CHRG`, apcupsd `ONLINE`), for display and debugging. */
  flags: string[];
  chargePct: number | null;
  runtimeS: number | null;
  loadPct: number | null;
  inputV: number | null;
  batteryV: number | null;
  /** Seconds on battery in the current outage; 0 on mains. */
  onBatteryS: number;
  /** What fed this state, e.g. `simulated`, `nut://127.0.0.1/ups`. */
  source: string;
  /** Epoch ms of the last reading. */
  updated: number;
}

export const HOST_PHASES = ['running', 'shutting_down', 'down', 'waking', 'unreachable'] as const;
export type HostPhase = (typeof HOST_PHASES)[number];

export const POWER_STATES = ['on', 'off', 'unknown'] as const;
export type PowerState = (typeof POWER_STATES)[number];

export interface HostState {
  reachable: boolean | null;
  latencyMs: number | null;
  power: PowerState;
  phase: HostPhase;
  /** Epoch ms when `phase` last changed. */
  since: number;
  lastError: string | null;
}

export interface SensorReading {
  value: number | null;
  unit: string;
  status: string;
}
export type SensorMap = Record<string, SensorReading>;

export const OUTAGE_PHASES = ['normal', 'on_battery', 'shutting_down', 'down', 'restoring'] as const;
export type OutagePhase = (typeof OUTAGE_PHASES)[number];

export const STEP_STATES = ['pending', 'running', 'done', 'failed', 'skipped'] as const;
export type StepState = (typeof STEP_STATES)[number];

export interface PlanStep {
  host: string;
  /** What is (or will be) sent: `shutdown`, `power_off` after an escalation, `power_on`, `wake`. */
  action: string;
  stage: 'shutdown' | 'restore';
  wave: number;
  /** Epoch ms by which the step must be done (escalation for a shutdown, boot limit for a restore). */
  deadline: number | null;
  state: StepState;
  started: number | null;
  finished: number | null;
  /** Why it failed or was skipped. */
  error: string | null;
}

/** The plan against the battery: all durations in seconds. */
export interface OutageBudget {
  /** The UPS's runtime estimate now; null when it gives none. */
  runtimeS: number | null;
  reserveS: number;
  /** Expected time from plan start until the last host is off (the critical path). */
  neededS: number;
  /** The same if every host took until its escalation deadline. */
  worstCaseS: number;
  /** runtime − reserve − needed; negative when over budget, null without a runtime. */
  slackS: number | null;
  criticalPath: string[];
}

export interface PlannedWindow {
  name: string;
  /** Epoch ms: when the ordered shutdown starts (lead time before `start`). */
  shutdownAt: number;
  start: number;
  end: number;
}

export interface OutageState {
  phase: OutagePhase;
  ups: string | null;
  plan: PlanStep[];
  started: number | null;
  /** Epoch ms by which every shutdown step must be over (the last escalation deadline). */
  deadline: number | null;
  /** The journal's id for this outage. */
  id: string | null;
  /** What started it: the trigger that fired, or the planned window. */
  reason: string | null;
  budget: OutageBudget | null;
  /** The next planned outage, announced ahead of time; null when none is configured. */
  planned: PlannedWindow | null;
}

export const HOST_ACTIONS = ['wake', 'shutdown', 'power_on', 'power_off', 'power_cycle', 'reset', 'soft_off'] as const;
export type HostAction = (typeof HOST_ACTIONS)[number];

export type DeviceKind = 'ups' | 'host';

/** A guest as its hypervisor reports it; `stopping` covers shutting down and saving. */
export const VM_STATES = ['running', 'paused', 'stopping', 'off', 'saved', 'unknown'] as const;
export type VmPower = (typeof VM_STATES)[number];

export interface VmState {
  state: VmPower;
  /** Epoch ms when `state` last changed. */
  since: number;
  lastError: string | null;
}

/** What `<base>/host/<host>/vm/<guest>/set` takes; `save` keeps the guest's memory on disk. */
export const VM_ACTIONS = ['start', 'shutdown', 'save', 'off'] as const;
export type VmAction = (typeof VM_ACTIONS)[number];

/** A guest is down when it is off or saved: nothing of it runs on the host any more. */
export function isVmDown(state: VmPower): boolean {
  return state === 'off' || state === 'saved';
}

/** A guest is up while the hypervisor holds it running or paused. */
export const VM_UP_STATES = ['running', 'paused'] as const satisfies readonly VmPower[];

export function isVmUp(state: VmPower): boolean {
  return (VM_UP_STATES as readonly VmPower[]).includes(state);
}

export function initialVmState(now: number): VmState {
  return { state: 'unknown', since: now, lastError: null };
}

export interface DeviceRef {
  kind: DeviceKind;
  id: string;
}

export const DEVICE_ID = /^[a-z0-9][a-z0-9_-]*$/;

/** A node of the outage plan: a host id, or `<host>/<guest>` for a guest of its hypervisor. */
export const NODE_ID = /^[a-z0-9][a-z0-9_-]*(\/[a-z0-9][a-z0-9_-]*)?$/;

/** What a plan step sends: a host action, or a guest action for a guest node. */
export type StepAction = HostAction | VmAction;
export const STEP_ACTIONS: readonly StepAction[] = [...new Set<StepAction>([...HOST_ACTIONS, ...VM_ACTIONS])];

export function initialUpsState(now: number): UpsState {
  // Before the first reading we know nothing: say so rather than claim "online".
  return {
    status: 'comm_lost',
    flags: [],
    chargePct: null,
    runtimeS: null,
    loadPct: null,
    inputV: null,
    batteryV: null,
    onBatteryS: 0,
    source: 'none',
    updated: now,
  };
}

export function initialHostState(now: number): HostState {
  return { reachable: null, latencyMs: null, power: 'unknown', phase: 'unreachable', since: now, lastError: null };
}

export function initialOutageState(): OutageState {
  return { phase: 'normal', ups: null, plan: [], started: null, deadline: null, id: null, reason: null, budget: null, planned: null };
}

/** Statuses in which the load runs from the battery. */
export const ON_BATTERY_STATUSES = ['on_battery', 'low_battery'] as const satisfies readonly UpsStatus[];

export function isOnBattery(status: UpsStatus): boolean {
  return (ON_BATTERY_STATUSES as readonly UpsStatus[]).includes(status);
}
