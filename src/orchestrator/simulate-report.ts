/**
 * Reads a simulation's recording (journal, hub events, UPS samples) into what a person asks of
 * it: when did each host go down and come back, what went wrong, and would the lab survive.
 * Pure: the same recording always reads the same.
 */
import { formatDuration } from '../core/duration';
import type { UpsStatus } from '../core/state';
import { budgetWarning, fitBudget } from './planner';
import type {
  Recording,
  RestoreStepResult,
  Seen,
  ShutdownStepResult,
  SimEvent,
  SimulationBudget,
  SimulationResult,
  SimWarning,
  TimelineEntry,
  UpsSample,
  WarningCode,
} from './simulate';

/** Timeline subject for the plan as a whole. */
const OUTAGE_SUBJECT = 'outage';

export function readRecording(rec: Recording): SimulationResult {
  const { warning, ...budget } = simulationBudget(rec);
  const first = (type: SimEvent['type']): SimEvent | undefined => rec.events.find((e) => e.type === type);
  const started = first('shutdown_started');
  const shutdown = shutdownSteps(rec);
  const restore = restoreSteps(rec);
  const ended = rec.journal.find((r) => r.kind === 'outage_ended');
  const downs = shutdown.filter((s) => s.state === 'done' && s.downMs !== null).map((s) => s.downMs as number);
  const result: SimulationResult = {
    ups: rec.ups,
    startMs: -rec.opts.outageAtMs,
    endMs: rec.endMs,
    powerLostMs: 0,
    powerRestoredMs: rec.opts.restoreAtMs - rec.opts.outageAtMs,
    chargePct: rec.chargePct,
    budget,
    planStartedMs: started?.t ?? null,
    trigger: typeof started?.detail?.trigger === 'string' ? started.detail.trigger : null,
    waves: rec.plan.waves.map((w) => [...w]),
    shutdownOverMs: first('shutdown_finished')?.t ?? null,
    allDownMs: downs.length ? Math.max(...downs) : null,
    restoreStartedMs: first('restore_started')?.t ?? null,
    restoreOverMs: first('restore_finished')?.t ?? null,
    outcome: ended?.kind === 'outage_ended' ? ended.result : null,
    upsFlatMs: rec.upsFlatMs,
    powerCuts: rec.cuts.map((c) => unseen({ ...c, hosts: [...c.hosts] })),
    lostPower: [...new Set(rec.cuts.flatMap((c) => c.hosts))],
    controller: rec.controller ?? null,
    blackstartStarts: rec.starts,
    shutdown,
    restore,
    samples: rec.samples.map(unseen),
    phases: rec.phases.map(unseen),
    events: rec.events.map(unseen),
    timeline: [],
    warnings: [],
    ok: true,
  };
  result.timeline = timeline(rec, result);
  result.warnings = warnings(rec, result, warning);
  result.ok = !result.warnings.some((w) => w.fatal);
  return result;
}

function shutdownSteps(rec: Recording): ShutdownStepResult[] {
  return rec.steps
    .filter((s) => s.stage === 'shutdown')
    .map((s) => {
      const mine = rec.journal.filter((r) => 'host' in r && r.host === s.host);
      const graceful = mine.find((r) => r.kind === 'step_intent' && r.action !== 'power_off');
      const forced = mine.find((r) => r.kind === 'step_intent' && r.action === 'power_off');
      const done = mine.find((r) => r.kind === 'step_done' && r.ok);
      const planned = rec.plan.steps.find((p) => p.host === s.host);
      const sentMs = graceful?.t ?? null;
      // The host's own state says when it went down; the journal may learn it later (after a restart).
      const down = sentMs === null ? undefined : rec.phases.find((p) => p.host === s.host && p.phase === 'down' && p.t >= sentMs);
      const cut = rec.cuts.find((c) => c.hosts.includes(s.host) && (sentMs === null || c.t >= sentMs));
      // Down only because the power went: not the plan's doing.
      const lost = cut !== undefined && (down === undefined || down.t >= cut.t);
      // A step still running when Blackstart went down with its machine: the host's state tells the end.
      const state = lost ? 'lost_power' : s.state === 'running' && down ? 'done' : s.state;
      return {
        host: s.host,
        wave: s.wave,
        state,
        plannedStartMs: planned?.startMs ?? 0,
        expectedDoneMs: planned?.expectedDoneMs ?? 0,
        escalateAtMs: planned?.escalateAtMs ?? 0,
        action: graceful?.kind === 'step_intent' ? graceful.action : null,
        sentMs,
        escalatedMs: forced?.t ?? null,
        downMs: state !== 'done' ? null : (down?.t ?? done?.t ?? null),
        verifiedBy: !lost && done?.kind === 'step_done' ? (done.verified_by ?? null) : null,
        lostPowerMs: lost ? cut.t : null,
        finishedMs: s.finished === null ? null : s.finished - rec.cutAt,
        error: lost ? (cut.cause === 'flat' ? 'still up when the battery ran flat' : 'still up when the UPS cut its outlets') : s.error,
      };
    });
}

function restoreSteps(rec: Recording): RestoreStepResult[] {
  return rec.steps
    .filter((s) => s.stage === 'restore')
    .map((s) => {
      const intents = rec.journal.filter((r) => r.kind === 'restore_step_intent' && r.host === s.host);
      const sentMs = intents[0]?.t ?? null;
      const last = intents[intents.length - 1];
      const answered = sentMs === null ? undefined : rec.phases.find((p) => p.host === s.host && p.phase === 'running' && p.t >= sentMs);
      return {
        host: s.host,
        wave: s.wave,
        state: s.state,
        action: last?.kind === 'restore_step_intent' ? last.action : null,
        attempts: intents.length,
        sentMs,
        answeredMs: answered?.t ?? null,
        finishedMs: s.finished === null ? null : s.finished - rec.cutAt,
        error: s.error,
      };
    });
}

function timeline(rec: Recording, r: SimulationResult): TimelineEntry[] {
  const out: Seen<TimelineEntry>[] = [...rec.notes];
  const add = (t: number, n: number, subject: string, text: string): void => void out.push({ t, n, subject, text });
  const stepOf = (host: string): ShutdownStepResult | undefined => r.shutdown.find((s) => s.host === host);

  let prev: UpsSample | undefined;
  for (const s of rec.samples) {
    if (prev?.status !== s.status) add(s.t, s.n, rec.ups, upsLine(s, prev?.status));
    prev = s;
  }
  for (const c of rec.cuts) {
    const what = c.cause === 'flat' ? 'outlets dark' : 'cuts its outlets (ups_off)';
    add(c.t, c.n, rec.ups, `${what}: ${c.hosts.length ? `${c.hosts.join(', ')} lost power` : 'nothing was running on them'}`);
  }
  for (const e of rec.events) {
    const text = eventLine(e);
    if (text !== null) add(e.t, e.n, e.host ?? OUTAGE_SUBJECT, text);
  }
  const attempts = new Map<string, number>();
  const told = new Set<string>();
  for (const j of rec.journal) {
    if (j.kind === 'step_intent') add(j.t, j.n, j.host, `${j.action} sent`);
    else if (j.kind === 'step_done' && j.ok) {
      const step = stepOf(j.host);
      if (step?.state === 'lost_power') add(j.t, j.n, j.host, `counted down, but it was not shut down: ${step.error ?? 'it lost power'}`);
      else if (j.verified_by === 'restart') add(j.t, j.n, j.host, 'counted down on the restart: it was shutting down its own machine');
      else {
        told.add(j.host);
        add(j.t, j.n, j.host, `down (${j.verified_by ?? 'unverified'}) after ${formatDuration(j.took_ms)}`);
      }
    } else if (j.kind === 'restore_step_intent') {
      const n = (attempts.get(j.host) ?? 0) + 1;
      attempts.set(j.host, n);
      add(j.t, j.n, j.host, `${j.action} sent${n > 1 ? ` (attempt ${n})` : ''}`);
    } else if (j.kind === 'restore_step_done' && !j.ok) add(j.t, j.n, j.host, `attempt failed: ${j.error ?? '?'}`);
  }
  // Outcomes nothing else reports; they sort after what happened at the same moment.
  const late = Number.MAX_SAFE_INTEGER;
  for (const s of r.shutdown) {
    if (s.downMs !== null && !told.has(s.host) && s.sentMs !== null) add(s.downMs, seenAt(rec, s.host, 'down', s.downMs), s.host, `down after ${formatDuration(s.downMs - s.sentMs)}`);
    if (s.state === 'skipped') add(s.finishedMs ?? 0, late, s.host, `skipped: ${s.error ?? '?'}`);
    if (s.state === 'pending') add(r.shutdownOverMs ?? r.endMs, late, s.host, `not shut down: ${s.error ?? 'the plan stopped'}`);
  }
  for (const s of r.restore) {
    const up = s.sentMs === null ? undefined : rec.phases.find((p) => p.host === s.host && p.phase === 'running' && p.t >= (s.sentMs as number));
    if (up && s.sentMs !== null) add(up.t, up.n, s.host, `up after ${formatDuration(up.t - s.sentMs)}`);
    else if (s.state === 'done' && s.sentMs === null) add(s.finishedMs ?? 0, late, s.host, 'already up');
  }
  return out.sort((a, b) => a.t - b.t || a.n - b.n).map(unseen);
}

function seenAt(rec: Recording, host: string, phase: string, t: number): number {
  return rec.phases.find((p) => p.host === host && p.phase === phase && p.t === t)?.n ?? Number.MAX_SAFE_INTEGER;
}

function unseen<T extends object>(x: Seen<T>): T {
  const rest: Partial<Seen<T>> = { ...x };
  delete rest.n;
  return rest as T;
}

function upsLine(s: UpsSample, before: UpsStatus | undefined): string {
  const charge = s.chargePct === null ? '?' : `${s.chargePct}%`;
  const runtime = s.runtimeS === null ? '?' : formatDuration(s.runtimeS * 1000);
  switch (s.status) {
    case 'online':
      return before === undefined ? `online: ${charge} charge, ${runtime} of runtime` : `mains back: ${charge} charge`;
    case 'on_battery':
      return `mains failed: on battery at ${charge}, ${runtime} of runtime`;
    case 'low_battery':
      return `low battery: ${charge}, ${runtime} left`;
    case 'off':
      return 'battery flat: the UPS is off';
    default:
      return s.status.replace('_', ' ');
  }
}

/** The plan's own events; the hub's per-host echoes are already told by the journal. */
function eventLine(e: SimEvent): string | null {
  const own = (m: string | undefined): string => (m && e.host && m.startsWith(`${e.host}: `) ? m.slice(e.host.length + 2) : (m ?? e.type));
  switch (e.type) {
    case 'shutdown_started':
    case 'shutdown_finished':
    case 'restore_started':
    case 'restore_finished':
      return e.message ?? e.type;
    case 'plan_over_budget':
      return `over budget: ${e.message ?? ''}`;
    case 'ups_off_sent':
      return `${String(e.detail?.action ?? 'ups_off')} sent to the UPS`;
    case 'escalation':
      return `escalation: ${own(e.message)}`;
    case 'host_shutdown_failed':
      return `shutdown failed: ${own(e.message)}`;
    case 'host_restore_failed':
      return `restore failed: ${own(e.message)}`;
    case 'service_check_failed':
    case 'remediation':
      return own(e.message);
    case 'command_failed':
      return e.host && e.detail?.action !== 'power_off' ? own(e.message) : null;
    default:
      return null;
  }
}

function warnings(rec: Recording, r: SimulationResult, budgetText: string | null): SimWarning[] {
  const out: SimWarning[] = [];
  const add = (code: WarningCode, message: string, fatal: boolean, host?: string): void => {
    if (!out.some((w) => w.message === message)) out.push({ code, message, fatal, ...(host ? { host } : {}) });
  };
  if (budgetText) add('over_budget', budgetText, true);
  for (const e of rec.events) if (e.type === 'plan_over_budget' && e.message !== budgetText) add('over_budget', `at ${clockText(e.t)}: ${e.message ?? ''}`, false);

  for (const s of r.shutdown) {
    const can = rec.abilities[s.host];
    if (s.state === 'failed') add('never_down', `${s.host} never went down: ${s.error ?? 'failed'}`, true, s.host);
    if (s.state === 'pending') add('left_running', `${s.host} was not shut down: ${s.error ?? 'the plan stopped'}`, false, s.host);
    if (s.sentMs !== null && can && !can.shutdown) {
      add('real_host', `${s.host} has no shutdown method (shutdown: or ipmi:): in a real outage it could not be shut down`, true, s.host);
    }
    if (s.escalatedMs !== null) {
      const after = formatDuration(s.escalatedMs - (s.sentMs ?? s.escalatedMs));
      if (can && !can.powerOff) add('real_host', `${s.host} had to be forced off at ${clockText(s.escalatedMs)}, but it has no ipmi: block: in a real outage it would have stayed up`, true, s.host);
      else add('escalated', `${s.host} was not down ${after} after its shutdown and was powered off at ${clockText(s.escalatedMs)}`, false, s.host);
    }
  }

  for (const c of r.powerCuts) {
    const caught = r.shutdown.filter((st) => st.state === 'lost_power' && c.hosts.includes(st.host)).map((st) => st.host);
    const others = c.hosts.filter((h) => !caught.includes(h));
    const what = c.cause === 'flat' ? `ran flat at ${clockText(c.t)}` : `cut its outlets (ups_off) at ${clockText(c.t)}`;
    if (caught.length) add(c.cause === 'flat' ? 'ups_flat' : 'never_down', `the UPS ${what}, before the plan was over: ${caught.join(', ')} still had power and went down hard`, true);
    else if (c.cause === 'flat') add('ups_flat', `the UPS ${what}, after every host in the plan was down${others.length ? `; ${others.join(', ')} (not in the plan) lost power` : ''}`, false);
    else if (others.length) add('left_running', `${others.join(', ')} (not in the plan) lost power when the UPS ${what}`, false);
  }

  if (rec.stranded && rec.controller) {
    const c = rec.controller;
    add(
      'controller_off',
      rec.stranded === 'kept_off'
        ? `${c}, the machine Blackstart runs on, is off and the UPS keeps its outlets off after ${String(rec.policy.upsOff?.action)}, so nothing starts it again: use shutdown.return, which brings the outlets back with mains`
        : `${c}, the machine Blackstart runs on, shut itself down, but its outlet never lost power, so nothing turned it on when mains came back at ${clockText(r.powerRestoredMs)}: set outage.ups_off (e.g. shutdown.return) so the UPS cycles its outlets, or leave the controller running`,
      true,
      c,
    );
  } else if (r.planStartedMs === null) {
    add('no_shutdown', `no trigger fired before mains came back at ${clockText(r.powerRestoredMs)}: nothing was shut down`, false);
  } else if (r.restoreStartedMs === null) {
    const gate = rec.policy.restore;
    const charge = rec.samples[rec.samples.length - 1]?.chargePct;
    add(
      'not_restored',
      `the restore had not started when the simulation stopped at ${clockText(r.endMs)} (it waits for mains to be stable for ${formatDuration(gate.mainsStableFor)} and the charge to reach ${gate.chargeAtLeast}%; the charge was ${charge ?? '?'}%)`,
      true,
    );
  } else {
    for (const st of r.restore) {
      if (st.state !== 'done') add('not_restored', `${st.host} was not restored: ${st.error ?? st.state}`, true, st.host);
      if (st.sentMs !== null && rec.abilities[st.host]?.start === false) add('real_host', `${st.host} has neither ipmi: nor wol:: in a real outage nothing could start it`, true, st.host);
    }
    if (r.restoreOverMs === null) add('unfinished', `the restore was still running when the simulation stopped at ${clockText(r.endMs)}`, true);
  }
  return out;
}

/** The budget as `blackstart check` and the live plan see it. */
function simulationBudget(r: Pick<Recording, 'plan' | 'runtimeMs' | 'policy'>): SimulationBudget & { warning: string | null } {
  const runtimeS = r.runtimeMs / 1000;
  const reserveMs = r.policy.reserve;
  const fit = fitBudget(r.plan, { runtimeS, reserveMs });
  return {
    runtimeMs: r.runtimeMs,
    reserveMs,
    neededMs: r.plan.criticalPathMs,
    worstCaseMs: r.plan.worstCaseMs,
    slackMs: fit.slackMs,
    fits: fit.fits,
    criticalPath: [...r.plan.criticalPath],
    runsOutMs: r.runtimeMs - reserveMs,
    warning: budgetWarning(r.plan, runtimeS, r.policy),
  };
}

/** Virtual time as `mm:ss` (minutes may pass 59), negative before the power cut. */
export function clockText(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  const s = Math.floor(Math.abs(ms) / 1000);
  return `${sign}${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}
