/**
 * Outage policy in config: a host's `outage:` block and the global `outage:` section.
 *
 * Direction of `depends_on`: "A depends_on B" means A needs B running. So in an outage A is shut
 * down before B, and on restore A is started after B. A VM lists its hypervisor; an app server
 * lists the NAS it mounts; the hypervisor and the NAS list nothing.
 */
import { z } from 'zod';
import { DEVICE_ID, NODE_ID } from '../core/state';
import { duration, percent, port, section, writablePath } from '../config/fields';
import { cronError } from './schedule';

const isoTime = z.string().transform((text, ctx) => {
  const ms = /(Z|[+-]\d\d:?\d\d)$/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: 'custom', message: 'expected an ISO 8601 time with a zone, e.g. 2026-12-24T08:00:00+01:00' });
    return z.NEVER;
  }
  return ms;
});

/** Used when a host gives no `shutdown_takes` and nothing has been measured yet. */
export const DEFAULT_SHUTDOWN_TAKES_MS = 60_000;
/** Slack on top of twice the expected duration before a graceful shutdown is given up on. */
export const ESCALATE_MARGIN_MS = 30_000;

const hostId = z.string().regex(NODE_ID, 'a host id (lowercase letters, digits, "_" and "-"), or <host>/<guest> for a guest');

/** One service that must answer after a restore: a TCP port, or an HTTP(S) URL. */
export const serviceCheckSchema = section({
  /** For messages and events; defaults to `tcp/<port>` or the URL. */
  name: z.string().min(1).max(64).optional(),
  tcp: port.optional(),
  /** Address for the TCP check; absent: the host's `address`. */
  address: z.string().min(1).optional(),
  http: z.string().regex(/^https?:\/\/[^\s]+$/, 'expected an http:// or https:// URL').optional(),
  /** HTTPS without checking the certificate (self-signed NAS pages). */
  insecure: z.boolean().default(false),
}).superRefine((c, ctx) => {
  if ((c.tcp === undefined) === (c.http === undefined)) ctx.addIssue({ code: 'custom', message: 'give one of tcp (a port) or http (a URL)' });
  if (c.address !== undefined && c.tcp === undefined) ctx.addIssue({ code: 'custom', path: ['address'], message: 'address is for a tcp check' });
});

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
  /** After a restore, what must answer before the host counts as back (checked in order). */
  services: z.array(serviceCheckSchema).default([]),
  /** Longest wait for the host to answer after power-on or wake; absent: `outage.restore.boot_within`. */
  boot_within: duration({ min: 1000 }).optional(),
  /** How long it takes to boot, for `blackstart simulate` of a real host. */
  boot_takes: duration({ min: 0 }).optional(),
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
  /** Longest wait for a host to answer after power-on or wake, per attempt. */
  boot_within: duration({ min: 1000 }).prefault('5m'),
  /** Attempts after the first (IPMI power-on first, then Wake-on-LAN). */
  retries: z.number().int().min(0).max(10).default(2),
  /** Longest wait for a host's service checks to pass once it answers (remediation included). */
  services_within: duration({ min: 1000 }).prefault('2m'),
  /** Time between service checks. */
  check_every: duration({ min: 100 }).prefault('5s'),
});

/** A planned outage: an explicit window, or a cron expression plus a duration. */
export const plannedOutageSchema = section({
  name: z.string().regex(DEVICE_ID, 'a name: lowercase letters, digits, "_" and "-"'),
  /** ISO 8601 with a time zone, e.g. 2026-12-24T08:00:00+01:00. */
  start: isoTime.optional(),
  end: isoTime.optional(),
  /** Five-field cron (minute hour day month weekday) for the window's start, in `timezone`. */
  cron: z.string().min(1).optional(),
  /** With cron: how long the window lasts. */
  duration: duration({ min: 60_000 }).optional(),
  /** IANA zone for cron; default the machine's. */
  timezone: z.string().min(1).optional(),
}).superRefine((p, ctx) => {
  const explicit = p.start !== undefined || p.end !== undefined;
  const cron = p.cron !== undefined || p.duration !== undefined;
  if (explicit === cron) {
    ctx.addIssue({ code: 'custom', message: 'give start and end, or cron and duration' });
    return;
  }
  if (explicit && (p.start === undefined || p.end === undefined)) ctx.addIssue({ code: 'custom', path: [p.start === undefined ? 'start' : 'end'], message: 'give both start and end' });
  if (explicit && p.start !== undefined && p.end !== undefined && p.end <= p.start) ctx.addIssue({ code: 'custom', path: ['end'], message: 'must be after start' });
  if (cron && (p.cron === undefined || p.duration === undefined)) ctx.addIssue({ code: 'custom', path: [p.cron === undefined ? 'cron' : 'duration'], message: 'give both cron and duration' });
  if (p.timezone !== undefined && p.cron === undefined) ctx.addIssue({ code: 'custom', path: ['timezone'], message: 'timezone is for cron' });
  if (p.cron !== undefined) {
    const err = cronError(p.cron, p.timezone);
    if (err) ctx.addIssue({ code: 'custom', path: ['cron'], message: err });
  }
});

/** What the end of a shutdown does to the UPS itself: off unless asked. */
export const upsOffSchema = section({
  /** A UPS command by its NUT name: `fsd`, `shutdown.return`, `shutdown.stayoff`, `load.off`. */
  action: z.string().regex(/^[a-z][a-z0-9._-]*$/, 'a UPS command name such as fsd or shutdown.return'),
  /** Wait this long after the last host other than the controller is down. */
  after: duration().prefault('0s'),
});

/**
 * The global section. A `trigger` written in config replaces the default (low_battery + plan)
 * as a whole, so what is written is exactly what fires.
 */
export const outagePolicySchema = section({
  /** The UPS that feeds the hosts; absent: the only UPS of the config. */
  ups: z.string().regex(DEVICE_ID, 'a UPS id').optional(),
  /** The outage journal (JSON lines); absent: /var/lib/blackstart/journal.jsonl as root, else ~/.local/state/blackstart/. */
  journal: writablePath().optional(),
  /** Runtime to keep in hand when the plan is done: estimates are optimistic as batteries age. */
  reserve: duration().prefault('2m'),
  trigger: triggerSchema.prefault({ low_battery: true, plan: true }),
  /** Mains back during the shutdown: `stop` leaves hosts not yet started running; `finish` completes the plan. */
  on_power_back: z.enum(['stop', 'finish']).default('stop'),
  /** After the last host other than the controller is down, send this to the UPS. Off by default. */
  ups_off: upsOffSchema.optional(),
  restore: restorePolicySchema.prefault({}),
  /** The runtime your UPS reports at full charge under today's load: `blackstart check` fits the plan against it. */
  expected_runtime: duration({ min: 1000 }).optional(),
  planned: z.array(plannedOutageSchema).default([]),
  /** Planned outages: start the shutdown this long before the window; absent: the plan's worst case plus one minute. */
  lead: duration().optional(),
  /** Planned outages are announced on MQTT this long before their shutdown starts. */
  announce_before: duration().prefault('1h'),
}).superRefine((o, ctx) => {
  const seen = new Set<string>();
  o.planned.forEach((p, i) => {
    if (seen.has(p.name)) ctx.addIssue({ code: 'custom', path: ['planned', i, 'name'], message: `"${p.name}" is used twice` });
    seen.add(p.name);
  });
});

export type HostOutagePolicy = z.output<typeof hostOutageSchema>;
export type TriggerPolicy = z.output<typeof triggerSchema>;
export type RestorePolicy = z.output<typeof restorePolicySchema>;
export type OutagePolicy = z.output<typeof outagePolicySchema>;
export type ServiceCheck = z.output<typeof serviceCheckSchema>;
export type PlannedOutage = z.output<typeof plannedOutageSchema>;

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
