/**
 * Outage policy in config: a host's `outage:` block and the global `outage:` section.
 *
 * Direction of `depends_on`: "A depends_on B" means A needs B running. So in an outage A is shut
 * down before B, and on restore A is started after B. A VM lists its hypervisor; an app server
 * lists the NAS it mounts; the hypervisor and the NAS list nothing.
 */
import { z } from 'zod';
import { DEVICE_ID } from '../core/state';
import { duration, percent, section } from '../config/fields';

/** Used when a host gives no `shutdown_takes` and nothing has been measured yet. */
export const DEFAULT_SHUTDOWN_TAKES_MS = 60_000;
/** Slack on top of twice the expected duration before a graceful shutdown is given up on. */
export const ESCALATE_MARGIN_MS = 30_000;

const hostId = z.string().regex(DEVICE_ID, 'a host id: lowercase letters, digits, "_" and "-"');

export const hostOutageSchema = section({
  /** Hosts this one needs running: they go down after it and come back before it. */
  depends_on: z.array(hostId).default([]),
  /** Expected time from "shut down" to off. Absent: the measured duration, else 60s. */
  shutdown_takes: duration({ min: 1000 }).optional(),
  /** When a graceful shutdown has not finished by then, power off through IPMI. Absent: 2 × shutdown_takes + 30s. */
  escalate_after: duration({ min: 1000 }).optional(),
  /** The machine Blackstart itself runs on: always the last to go down. */
  controller: z.boolean().default(false),
  /** Start it on restore even when it was off before the outage. */
  always_on: z.boolean().default(false),
  /**
   * Never shut it down (e.g. the router the UPS's own alerts go through). Order through it is
   * kept: if A needs this host and this host needs B, A still goes down before B. On the
   * controller it means Blackstart does not shut its own machine down.
   */
  leave_running: z.boolean().default(false),
}).superRefine((h, ctx) => {
  const seen = new Set<string>();
  h.dependsOn.forEach((d, i) => {
    if (seen.has(d)) ctx.addIssue({ code: 'custom', path: ['depends_on', i], message: `"${d}" is listed twice` });
    seen.add(d);
  });
  if (h.shutdownTakes !== undefined && h.escalateAfter !== undefined && h.escalateAfter < h.shutdownTakes) {
    ctx.addIssue({ code: 'custom', path: ['escalate_after'], message: 'must not be shorter than shutdown_takes, or every shutdown would be forced' });
  }
});

export const triggerSchema = section({
  /** Start after this long on battery, whatever the battery says. */
  on_battery_after: duration().optional(),
  /** Start when the charge drops below this percentage. */
  charge_below: percent.optional(),
  /** Start when the UPS's runtime estimate drops below this. */
  runtime_below: duration().optional(),
  /** Start when the UPS raises its low-battery flag. */
  low_battery: z.boolean().optional(),
  /** Start when the plan's critical path plus the reserve no longer fits in the runtime left. */
  plan: z.boolean().optional(),
}).superRefine((t, ctx) => {
  const any = t.onBatteryAfter !== undefined || t.chargeBelow !== undefined || t.runtimeBelow !== undefined || t.lowBattery === true || t.plan === true;
  if (!any) ctx.addIssue({ code: 'custom', message: 'no trigger is set, so a shutdown would never start: set at least one' });
});

export const restorePolicySchema = section({
  /** Mains must stay back this long before anything is started (flickers are common after a cut). */
  mains_stable_for: duration().prefault('60s'),
  /** And the battery must hold this much, so a second cut can still be ridden out. */
  charge_at_least: percent.default(30),
});

/**
 * The global section. A `trigger` written in config replaces the default (low_battery + plan)
 * as a whole, so what is written is exactly what fires.
 */
export const outagePolicySchema = section({
  /** Runtime to keep in hand when the plan is done: estimates are optimistic as batteries age. */
  reserve: duration().prefault('2m'),
  trigger: triggerSchema.prefault({ low_battery: true, plan: true }),
  restore: restorePolicySchema.prefault({}),
});

export type HostOutagePolicy = z.output<typeof hostOutageSchema>;
export type TriggerPolicy = z.output<typeof triggerSchema>;
export type RestorePolicy = z.output<typeof restorePolicySchema>;
export type OutagePolicy = z.output<typeof outagePolicySchema>;

/** Written > measured > default: a user's figure is a deliberate override of what was learned. */
export function shutdownTakesMs(policy: Pick<HostOutagePolicy, 'shutdownTakes'>, learnedMs?: number | null): number {
  return policy.shutdownTakes ?? learnedMs ?? DEFAULT_SHUTDOWN_TAKES_MS;
}

/** How many of the latest measured shutdowns the learned duration looks at. */
export const LEARN_FROM_LAST = 5;

/**
 * The learned `shutdown_takes`: the slowest of the latest measurements, rounded up to a second.
 * Underestimating spends battery the plan did not budget; overestimating only starts a little early.
 */
export function learnedShutdownMs(measuredMs: readonly number[]): number | null {
  const recent = measuredMs.slice(-LEARN_FROM_LAST).filter((ms) => Number.isFinite(ms) && ms > 0);
  if (recent.length === 0) return null;
  return Math.ceil(Math.max(...recent) / 1000) * 1000;
}

/** Twice the expected time absorbs a slow update or a busy disk; the margin covers very short ones. */
export function escalateAfterMs(policy: Pick<HostOutagePolicy, 'shutdownTakes' | 'escalateAfter'>, learnedMs?: number | null): number {
  return policy.escalateAfter ?? 2 * shutdownTakesMs(policy, learnedMs) + ESCALATE_MARGIN_MS;
}
