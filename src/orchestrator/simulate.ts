/**
 * `blackstart simulate`: the real planner and runner against a stand-in lab on a virtual clock.
 * Mains fails at `outageAtMs` and returns at `restoreAtMs` (times from the simulation's start);
 * an hour of outage runs in well under a second. Everything the run did is recorded, with times
 * counted from the power cut, and read back as per-host steps, a timeline and warnings.
 */
import { buildHub } from '../adapters/registry';
import type { Config } from '../config/schema';
import { FakeClock, type Clock } from '../core/clock';
import { BlackstartError } from '../core/errors';
import type { BlackstartEvent } from '../core/events';
import { silentLogger } from '../core/logger';
import type { HostPhase, OutagePhase, PlanStep, PowerState, UpsState, UpsStatus } from '../core/state';
import { MemoryJournal, type JournalInput, type JournalRecord } from './journal';
import { MemoryDurations } from './learned';
import { guestPolicies, hostPolicies } from './nodes';
import { Orchestrator } from './orchestrator';
import type { ShutdownPlan } from './planner';
import type { OutagePolicy } from './policy';
import type { HostAbilities } from './lab-facts';
import { simulatedLab } from './simulate-lab';
import { LabPower, type CutCause } from './simulate-power';
import { readRecording } from './simulate-report';

export { clockText } from './simulate-report';

export const DEFAULT_RESTORE_AT_MS = 30 * 60_000;
/** How long the simulation may run on after mains is back before it gives up on the restore. */
const DEFAULT_RUN_ON_MS = 2 * 3_600_000;
/** Virtual time per step of the loop that watches for the end. */
const STEP_MS = 250;
/** Battery curve resolution (status changes are always kept). */
const SAMPLE_EVERY_MS = 5_000;

export interface SimulateOptions {
  /** When mains fails, from the start of the simulation. */
  outageAtMs: number;
  /** When mains returns, from the start of the simulation. */
  restoreAtMs: number;
  /** Runtime when mains fails; absent: the UPS's own simulated runtime, else `outage.expected_runtime`. */
  runtimeMs?: number;
  /** Longest virtual time to run, from the start; absent: restoreAtMs + 2h. */
  maxMs?: number;
}

/** Every `t` below is ms from the power cut (negative before it). */
export interface UpsSample {
  t: number;
  status: UpsStatus;
  chargePct: number | null;
  runtimeS: number | null;
}

export interface PhaseChange {
  t: number;
  host: string;
  phase: HostPhase;
  power: PowerState;
}

export type SimEvent = Omit<BlackstartEvent, 'at'> & { t: number };

export interface ShutdownStepResult {
  host: string;
  wave: number;
  state: PlanStep['state'] | 'lost_power';
  /** The plan's figures, from the moment the plan started. */
  plannedStartMs: number;
  expectedDoneMs: number;
  escalateAtMs: number;
  /** The graceful command (shutdown or soft_off). */
  action: string | null;
  sentMs: number | null;
  /** The hard power-off sent when it was not down in time. */
  escalatedMs: number | null;
  /** Proven down. */
  downMs: number | null;
  verifiedBy: string | null;
  /** When it lost power instead (the UPS cut its outlets first). */
  lostPowerMs: number | null;
  finishedMs: number | null;
  error: string | null;
}

export interface RestoreStepResult {
  host: string;
  wave: number;
  state: PlanStep['state'];
  /** The last start command sent (power_on or wake). */
  action: string | null;
  attempts: number;
  sentMs: number | null;
  answeredMs: number | null;
  finishedMs: number | null;
  error: string | null;
}

export interface SimulationBudget {
  runtimeMs: number;
  reserveMs: number;
  /** Critical path of the plan as it stood when mains failed. */
  neededMs: number;
  worstCaseMs: number;
  slackMs: number;
  fits: boolean;
  criticalPath: string[];
  /** When runtime − reserve runs out, counted from the power cut. */
  runsOutMs: number;
}

export interface PowerCut {
  t: number;
  cause: CutCause;
  hosts: string[];
}

export const WARNING_CODES = ['over_budget', 'never_down', 'ups_flat', 'escalated', 'not_restored', 'unfinished', 'no_shutdown', 'left_running', 'real_host', 'controller_off'] as const;
export type WarningCode = (typeof WARNING_CODES)[number];

export interface SimWarning {
  code: WarningCode;
  message: string;
  host?: string;
  /** A fatal warning means the lab would not come through this outage as planned. */
  fatal: boolean;
}

export interface TimelineEntry {
  t: number;
  /** A host id, the UPS id, or `outage` for the plan as a whole. */
  subject: string;
  text: string;
}

export interface SimulationResult {
  ups: string;
  /** Start and end of the simulation. */
  startMs: number;
  endMs: number;
  powerLostMs: 0;
  powerRestoredMs: number;
  chargePct: number;
  budget: SimulationBudget;
  /** When the shutdown plan started and why; null when no trigger fired. */
  planStartedMs: number | null;
  trigger: string | null;
  waves: string[][];
  /** When the shutdown plan was over. */
  shutdownOverMs: number | null;
  restoreStartedMs: number | null;
  restoreOverMs: number | null;
  /** The journal's verdict on the outage: restored, partial, failed; null when it never ended. */
  outcome: string | null;
  /** When the last host of the plan was proven down. */
  allDownMs: number | null;
  /** When the UPS ran flat. */
  upsFlatMs: number | null;
  /** When the UPS's outlets went dark (battery flat, or after `ups_off`), and under which hosts. */
  powerCuts: PowerCut[];
  /** Every host that lost power while it still ran. */
  lostPower: string[];
  /** The host Blackstart runs on, and how often it started (more than once: it went down with its machine and resumed). */
  controller: string | null;
  blackstartStarts: number;
  shutdown: ShutdownStepResult[];
  restore: RestoreStepResult[];
  samples: UpsSample[];
  phases: PhaseChange[];
  events: SimEvent[];
  timeline: TimelineEntry[];
  warnings: SimWarning[];
  /** No fatal warning. */
  ok: boolean;
}

/** `n` is the order things were seen in, across all sources: it breaks ties of virtual time. */
export type Seen<T> = T & { n: number };

/** What the run saw, before it is read into steps and warnings. */
export interface Recording {
  ups: string;
  /** Epoch ms of the power cut on the virtual clock (plan steps carry epoch times). */
  cutAt: number;
  opts: Required<SimulateOptions>;
  runtimeMs: number;
  chargePct: number;
  policy: OutagePolicy;
  endMs: number;
  plan: ShutdownPlan;
  abilities: Record<string, HostAbilities>;
  /** The last shutdown and restore steps the orchestrator published. */
  steps: PlanStep[];
  journal: Seen<JournalRecord & { t: number }>[];
  samples: Seen<UpsSample>[];
  phases: Seen<PhaseChange>[];
  events: Seen<SimEvent>[];
  /** What the simulation itself did: outlets, Blackstart stopping and resuming with its machine. */
  notes: Seen<TimelineEntry>[];
  cuts: Seen<PowerCut>[];
  upsFlatMs: number | null;
  /** Why Blackstart could not come back, when it could not. */
  stranded: 'never_cut' | 'kept_off' | null;
  controller: string | undefined;
  starts: number;
}

export async function simulateOutage(config: Config, opts: SimulateOptions): Promise<SimulationResult> {
  const maxMs = opts.maxMs ?? opts.restoreAtMs + DEFAULT_RUN_ON_MS;
  if (!(opts.outageAtMs >= 0)) throw new BlackstartError('BAD_REQUEST', 'outage_at must not be negative');
  if (!(opts.restoreAtMs > opts.outageAtMs)) throw new BlackstartError('BAD_REQUEST', 'restore_at must come after outage_at');
  if (!(maxMs > opts.restoreAtMs)) throw new BlackstartError('BAD_REQUEST', 'max must come after restore_at');
  const lab = simulatedLab(config, opts);

  const clock = new FakeClock();
  const start = clock.now();
  const cut = start + opts.outageAtMs;
  const rel = (at: number): number => at - cut;
  let seen = 0;
  const next = (): number => seen++;
  const hub = buildHub(lab.config, { clock });
  const journal = new SeenJournal(clock, next);
  const samples: Seen<UpsSample>[] = [];
  const phases: Seen<PhaseChange>[] = [];
  const events: Seen<SimEvent>[] = [];
  const notes: Seen<TimelineEntry>[] = [];
  const cuts: Seen<PowerCut>[] = [];
  const published: Record<PlanStep['stage'], PlanStep[]> = { shutdown: [], restore: [] };
  let upsFlatMs: number | null = null;
  let outagePhase: OutagePhase = 'normal';
  let lastSampleAt = -Infinity;

  const sample = (s: UpsState): void => {
    lastSampleAt = clock.now();
    samples.push({ t: rel(lastSampleAt), status: s.status, chargePct: s.chargePct, runtimeS: s.runtimeS, n: next() });
  };
  hub.on('ups', (id, s, prev) => {
    if (id !== lab.ups || s.status === prev.status) return;
    sample(s);
    if (s.status === 'off') upsFlatMs ??= rel(clock.now());
  });
  hub.on('host', (id, s, prev) => {
    if (s.phase !== prev.phase || s.power !== prev.power) phases.push({ t: rel(clock.now()), host: id, phase: s.phase, power: s.power, n: next() });
  });
  hub.on('event', (e) => {
    const { at, detail, ...rest } = e;
    // The journal's outage id is random and means nothing outside this run: drop it, so the same config reads the same.
    const facts = detail && { ...detail };
    delete facts?.outage_id;
    events.push({ ...rest, ...(facts ? { detail: facts } : {}), t: rel(at), n: next() });
  });
  hub.on('outage', (s) => {
    outagePhase = s.phase;
    // The finished runs leave the outage state when the outage ends: keep their last word.
    if (s.phase !== 'on_battery') keepSteps(published, s.plan);
  });

  const controller = Object.entries(lab.config.hosts).find(([, h]) => h.outage.controller)?.[0];
  const learned = new MemoryDurations();
  const power = new LabPower({
    hub,
    clock,
    ups: lab.ups,
    controller,
    create: () =>
      new Orchestrator({
        hub,
        policy: lab.config.outage,
        hosts: hostPolicies(lab.config.hosts),
        guests: guestPolicies(lab.config.hosts),
        ups: lab.ups,
        journal,
        learned,
        log: silentLogger(),
      }),
    hooks: {
      note: (subject, text) => void notes.push({ t: rel(clock.now()), subject, text, n: next() }),
      cut: (cause, hosts) => void cuts.push({ t: rel(clock.now()), cause, hosts, n: next() }),
    },
  });
  await hub.start();
  await power.start();
  // The plan the daemon would have when mains fails: nothing measured yet.
  const plan = (power.orchestrator as Orchestrator).plan();
  sample(hub.ups(lab.ups) as UpsState);

  const over = (): boolean => {
    if (power.stranded()) return true;
    if (clock.now() < start + opts.restoreAtMs || outagePhase !== 'normal' || hub.ups(lab.ups)?.status !== 'online') return false;
    const kinds = new Set(journal.records.map((r) => r.kind));
    return kinds.has('outage_ended') || !kinds.has('outage_started');
  };
  let stranded: Recording['stranded'];
  try {
    while (!over() && clock.now() - start < maxMs) {
      await clock.advance(STEP_MS);
      await power.step();
      if (clock.now() - lastSampleAt >= SAMPLE_EVERY_MS) sample(hub.ups(lab.ups) as UpsState);
    }
    stranded = power.stranded();
    if (lastSampleAt !== clock.now()) sample(hub.ups(lab.ups) as UpsState);
    const now = power.orchestrator?.state;
    if (now && now.phase !== 'on_battery') keepSteps(published, now.plan);
  } finally {
    await power.stop();
    await hub.stop();
  }

  return readRecording({
    ups: lab.ups,
    cutAt: cut,
    opts: { outageAtMs: opts.outageAtMs, restoreAtMs: opts.restoreAtMs, runtimeMs: lab.runtimeMs, maxMs },
    runtimeMs: lab.runtimeMs,
    chargePct: lab.chargePct,
    policy: lab.config.outage,
    endMs: rel(clock.now()),
    plan,
    abilities: lab.abilities,
    steps: [...published.shutdown, ...published.restore],
    journal: journal.records.map((r, i) => ({ ...r, t: rel(r.at), n: journal.order[i] ?? seen })),
    samples,
    phases,
    events,
    notes,
    cuts,
    upsFlatMs,
    stranded,
    controller,
    starts: power.starts,
  });
}

function keepSteps(into: Record<PlanStep['stage'], PlanStep[]>, steps: readonly PlanStep[]): void {
  for (const stage of ['shutdown', 'restore'] as const) {
    const mine = steps.filter((s) => s.stage === stage);
    if (mine.length) into[stage] = mine.map((s) => ({ ...s }));
  }
}

/** The in-memory journal, stamping each record with the order it was written in. */
class SeenJournal extends MemoryJournal {
  readonly order: number[] = [];

  constructor(
    clock: Clock,
    private readonly next: () => number,
  ) {
    super(clock);
  }

  override append(input: JournalInput): Promise<JournalRecord> {
    const n = this.next();
    const written = super.append(input);
    // MemoryJournal keeps the record before its promise settles; a refused one is not kept.
    if (this.records.length > this.order.length) this.order.push(n);
    return written;
  }
}
