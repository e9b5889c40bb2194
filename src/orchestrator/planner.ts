/**
 * The shutdown and restore plans: pure functions of the host graph and the UPS's numbers.
 *
 * Scheduling is critical-path, not wave-barrier: a host starts as soon as every host that depends
 * on it is expected to be down, so one slow VM does not hold up an unrelated branch. Waves are
 * still computed (longest-path layers) for display and for runners that prefer barriers.
 * Offsets are milliseconds from the moment the plan starts.
 */
import { formatDuration } from '../core/duration';
import { BlackstartError } from '../core/errors';
import { isOnBattery, type PlanStep, type UpsState } from '../core/state';
import { layerBy, validateGraph } from './graph';
import type { HostOutagePolicy, OutagePolicy } from './policy';
import { escalateAfterMs, shutdownTakesMs } from './policy';

export interface PlanHost {
  id: string;
  /** Hosts this one needs: they go down after it. */
  dependsOn: readonly string[];
  shutdownTakesMs: number;
  /** Absent: 2 × shutdownTakesMs + 30s, as in the policy. */
  escalateAfterMs?: number;
  controller?: boolean;
  leaveRunning?: boolean;
}

export interface ShutdownStep {
  host: string;
  wave: number;
  startMs: number;
  /** When the host is expected to be off; hosts it depends on start no earlier. */
  expectedDoneMs: number;
  /** When the runner gives up on a graceful shutdown and forces power off. */
  escalateAtMs: number;
}

export interface ShutdownPlan {
  /** Wave 0 goes first; the controller, when it is shut down at all, is alone in the last wave. */
  waves: string[][];
  /** In start order. */
  steps: ShutdownStep[];
  /** Expected time from plan start until the last host is off. */
  criticalPathMs: number;
  /** The chain that sets criticalPathMs, first to go down first. */
  criticalPath: string[];
  /** The same schedule if every host took until its escalation deadline: the budget's worst case. */
  worstCaseMs: number;
}

/** Builds the planner's view of a host from its config block and, when known, its measured shutdown time. */
export function toPlanHost(id: string, policy: HostOutagePolicy, learnedMs?: number | null): PlanHost {
  return {
    id,
    dependsOn: policy.dependsOn,
    shutdownTakesMs: shutdownTakesMs(policy, learnedMs),
    escalateAfterMs: escalateAfterMs(policy, learnedMs),
    controller: policy.controller,
    leaveRunning: policy.leaveRunning,
  };
}

/** What `blackstart check` and the config loader refuse: unknown references, cycles, controller misuse. */
export function validatePlanHosts(hosts: readonly PlanHost[]): void {
  validateGraph(hosts);
  checkController(hosts);
}

export function planShutdown(hosts: readonly PlanHost[]): ShutdownPlan {
  validateGraph(hosts);
  const controller = checkController(hosts);
  const byId = new Map(hosts.map((h) => [h.id, h]));
  const others = hosts.filter((h) => h !== controller).map((h) => h.id);

  // In shutdown, what must finish first is a host's dependents (those that list it).
  const dependents = new Map<string, string[]>(hosts.map((h) => [h.id, []]));
  for (const h of hosts) for (const d of h.dependsOn) dependents.get(d)?.push(h.id);
  const before = (id: string): readonly string[] => dependents.get(id) ?? [];

  // Layer over every host, leave_running ones included, so an order that passes through a host
  // left running is still kept; then drop those hosts and any wave they leave empty.
  const order = layerBy(others, before);
  const included = (id: string): boolean => !byId.get(id)?.leaveRunning;
  const waves = order.map((w) => w.filter(included)).filter((w) => w.length > 0);
  if (controller && !controller.leaveRunning) waves.push([controller.id]);

  const topo = order.flat();
  const expected = schedule(topo, before, (id) => (included(id) ? (byId.get(id) as PlanHost).shutdownTakesMs : 0));
  const worst = schedule(topo, before, (id) => (included(id) ? escalationOf(byId.get(id) as PlanHost) : 0));

  let criticalPathMs = expected.endMs;
  let worstCaseMs = worst.endMs;
  const critical = expected.last ? chain(expected.last, expected.via).filter(included) : [];
  const waveOf = new Map(waves.flatMap((w, i) => w.map((id) => [id, i] as const)));
  const steps: ShutdownStep[] = [];
  for (const id of topo) {
    if (!included(id)) continue;
    const h = byId.get(id) as PlanHost;
    const startMs = expected.start.get(id) as number;
    steps.push({ host: id, wave: waveOf.get(id) as number, startMs, expectedDoneMs: startMs + h.shutdownTakesMs, escalateAtMs: startMs + escalationOf(h) });
  }
  if (controller && !controller.leaveRunning) {
    const startMs = criticalPathMs;
    steps.push({ host: controller.id, wave: waves.length - 1, startMs, expectedDoneMs: startMs + controller.shutdownTakesMs, escalateAtMs: startMs + escalationOf(controller) });
    critical.push(controller.id);
    criticalPathMs += controller.shutdownTakesMs;
    worstCaseMs += escalationOf(controller);
  }
  steps.sort((a, b) => a.startMs - b.startMs || a.wave - b.wave);
  return { waves, steps, criticalPathMs, criticalPath: critical, worstCaseMs };
}

/**
 * Restore runs the other way: what others depend on comes first. Only the hosts passed in are
 * planned (the runner passes those that ran before the outage plus always_on ones); a dependency
 * on a host not passed in is not waited for, since nobody will start it.
 */
export function planRestore(hosts: readonly Pick<PlanHost, 'id' | 'dependsOn'>[]): { waves: string[][] } {
  const passed = new Set(hosts.map((h) => h.id));
  const nodes = hosts.map((h) => ({ id: h.id, dependsOn: h.dependsOn.filter((d) => passed.has(d)) }));
  validateGraph(nodes);
  const byId = new Map(nodes.map((h) => [h.id, h.dependsOn]));
  return { waves: layerBy(hosts.map((h) => h.id), (id) => byId.get(id) ?? []) };
}

export interface BudgetFit {
  fits: boolean;
  /** Runtime left over after the plan and the reserve; negative when over budget. */
  slackMs: number;
  /** How long starting may wait and still fit (0 when it does not fit: start now). */
  startBy: number;
}

/** Assumes the runtime estimate drains in step with the clock, so waiting spends slack one for one. */
export function fitBudget(plan: Pick<ShutdownPlan, 'criticalPathMs'>, opts: { runtimeS: number; reserveMs: number }): BudgetFit {
  const slackMs = opts.runtimeS * 1000 - opts.reserveMs - plan.criticalPathMs;
  return { fits: slackMs >= 0, slackMs, startBy: Math.max(0, slackMs) };
}

/**
 * The warning `blackstart check` prints (and the text of the live over-budget event and of
 * `blackstart simulate`): null when the plan fits. Over budget is not a config error: the plan
 * trigger starts the shutdown at once. Only that trigger does, so a policy without it says so
 * instead; the policy is required so no caller can promise an early start it does not have.
 */
export function budgetWarning(
  plan: Pick<ShutdownPlan, 'criticalPathMs' | 'criticalPath'>,
  runtimeS: number,
  policy: Pick<OutagePolicy, 'reserve' | 'trigger'>,
): string | null {
  const fit = fitBudget(plan, { runtimeS, reserveMs: policy.reserve });
  if (fit.fits) return null;
  const then =
    policy.trigger.plan === true
      ? 'so the shutdown starts as soon as mains fails'
      : 'and without trigger.plan the shutdown waits for the other triggers: set outage.trigger.plan: true to start it as soon as mains fails';
  return (
    `the shutdown plan needs ${formatDuration(plan.criticalPathMs)} (${plan.criticalPath.join(' → ')}) plus ${formatDuration(policy.reserve)} reserve, ` +
    `but the UPS has ${formatDuration(runtimeS * 1000)} of runtime: ${formatDuration(-fit.slackMs)} over budget, ${then}`
  );
}

export type TriggerName = 'low_battery' | 'runtime_below' | 'charge_below' | 'plan' | 'on_battery_after';

export interface Fired {
  trigger: TriggerName;
  /** For the event and the journal: the numbers that made it fire. */
  reason: string;
}

/**
 * Which trigger, if any, says the shutdown must start now. `onBatteryMs` is how long the UPS has
 * been on battery in this outage. The most urgent trigger is reported when several fire.
 */
export function shouldStart(
  plan: Pick<ShutdownPlan, 'criticalPathMs'>,
  ups: Pick<UpsState, 'status' | 'chargePct' | 'runtimeS'>,
  policy: Pick<OutagePolicy, 'reserve' | 'trigger'>,
  onBatteryMs: number,
): Fired | null {
  if (!isOnBattery(ups.status)) return null;
  const t = policy.trigger;
  if (t.lowBattery && ups.status === 'low_battery') return { trigger: 'low_battery', reason: 'the UPS reports low battery' };
  if (t.runtimeBelow !== undefined && ups.runtimeS !== null && ups.runtimeS * 1000 < t.runtimeBelow) {
    return { trigger: 'runtime_below', reason: `runtime ${formatDuration(ups.runtimeS * 1000)} is below ${formatDuration(t.runtimeBelow)}` };
  }
  if (t.chargeBelow !== undefined && ups.chargePct !== null && ups.chargePct < t.chargeBelow) {
    return { trigger: 'charge_below', reason: `charge ${ups.chargePct}% is below ${t.chargeBelow}%` };
  }
  if (t.plan && ups.runtimeS !== null) {
    const fit = fitBudget(plan, { runtimeS: ups.runtimeS, reserveMs: policy.reserve });
    if (fit.slackMs <= 0) {
      return {
        trigger: 'plan',
        reason: `the plan needs ${formatDuration(plan.criticalPathMs)} plus ${formatDuration(policy.reserve)} reserve; ${formatDuration(ups.runtimeS * 1000)} of runtime left`,
      };
    }
  }
  if (t.onBatteryAfter !== undefined && onBatteryMs >= t.onBatteryAfter) {
    return { trigger: 'on_battery_after', reason: `on battery for ${formatDuration(onBatteryMs)}` };
  }
  return null;
}

/** The plan as the hub's outage state carries it: epoch deadlines from the moment it started. */
export function toPlanSteps(plan: ShutdownPlan, startedAt: number): PlanStep[] {
  return plan.steps.map((s) => ({
    host: s.host,
    action: 'shutdown',
    stage: 'shutdown',
    wave: s.wave,
    deadline: startedAt + s.escalateAtMs,
    state: 'pending',
    started: null,
    finished: null,
    error: null,
  }));
}

function escalationOf(h: PlanHost): number {
  return h.escalateAfterMs ?? escalateAfterMs({ shutdownTakes: h.shutdownTakesMs, escalateAfter: undefined });
}

/** Earliest starts in topological order; `via` remembers which predecessor set each start. */
function schedule(topo: readonly string[], before: (id: string) => readonly string[], takes: (id: string) => number) {
  const start = new Map<string, number>();
  const done = new Map<string, number>();
  const via = new Map<string, string>();
  let endMs = 0;
  let last: string | undefined;
  for (const id of topo) {
    let s = 0;
    for (const b of before(id)) {
      const d = done.get(b);
      if (d === undefined) continue; // the controller, which is scheduled apart
      if (d > s || !via.has(id)) {
        s = d;
        via.set(id, b);
      }
    }
    start.set(id, s);
    const d = s + takes(id);
    done.set(id, d);
    if (last === undefined || d > endMs) {
      endMs = d;
      last = id;
    }
  }
  return { start, endMs, last, via };
}

function chain(last: string, via: ReadonlyMap<string, string>): string[] {
  const out = [last];
  for (let at = via.get(last); at !== undefined; at = via.get(at)) out.push(at);
  return out.reverse();
}

/** One controller at most, and it cannot need a host that would have to stay up after it. */
function checkController(hosts: readonly PlanHost[]): PlanHost | undefined {
  const controllers = hosts.filter((h) => h.controller);
  if (controllers.length > 1) {
    throw new BlackstartError('CONFIG', `only one host can be the controller; ${controllers.map((h) => `"${h.id}"`).join(', ')} all say controller: true`);
  }
  const c = controllers[0];
  if (!c || c.leaveRunning) return c;
  const byId = new Map(hosts.map((h) => [h.id, h]));
  for (const d of c.dependsOn) {
    if (!byId.get(d)?.leaveRunning) {
      throw new BlackstartError(
        'CONFIG',
        `host "${c.id}" is the controller, which goes down last, but depends_on "${d}", which would have to go down after it: drop the dependency or set leave_running on "${d}"`,
      );
    }
  }
  return c;
}
