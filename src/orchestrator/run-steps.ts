/**
 * What the shutdown and the restore runner share about their steps: how a step shows in the
 * outage state, when a step is over, when the whole run is, and the journal record of an outcome.
 */
import type { PlanStep, StepAction, StepState } from '../core/state';
import type { JournalInput } from './journal';

/** A step as both runners keep it, apart from its node and action. */
export interface RunStep {
  wave: number;
  state: StepState;
  started: number | null;
  finished: number | null;
  deadline: number | null;
  error: string | null;
}

/** The step as the hub's outage state carries it. */
export function toPlanStep(s: RunStep, host: string, action: StepAction, stage: PlanStep['stage']): PlanStep {
  return { host, action, stage, wave: s.wave, deadline: s.deadline, state: s.state, started: s.started, finished: s.finished, error: s.error };
}

/** Done, failed or skipped: the steps that wait for it may start. */
export function isOver(state: StepState | undefined): boolean {
  return state === 'done' || state === 'failed' || state === 'skipped';
}

export interface RunOutcome {
  done: string[];
  failed: string[];
  skipped: string[];
  /** Still pending when the run stopped starting steps. */
  notStarted: string[];
}

/**
 * The run's outcome, by node, once no step is running and none will start (a pending step only
 * counts while the run still starts steps); null while the run goes on.
 */
export function runOutcome<S extends RunStep>(steps: Iterable<S>, starting: boolean, idOf: (s: S) => string): RunOutcome | null {
  const all = [...steps];
  if (all.some((s) => s.state === 'running')) return null;
  if (starting && all.some((s) => s.state === 'pending')) return null;
  const of = (st: StepState): string[] => all.filter((s) => s.state === st).map(idOf);
  return { done: of('done'), failed: of('failed'), skipped: of('skipped'), notStarted: of('pending') };
}

/** The journal record of a step's outcome; `took_ms` counts from the step's start (0 when it never started). */
export function doneRecord(
  kind: 'step_done' | 'restore_step_done',
  outageId: string,
  step: { host: string; action: StepAction; started: number | null },
  now: number,
  outcome: { ok: boolean; error?: string | undefined; verifiedBy?: string | undefined },
): JournalInput {
  return {
    kind,
    outage_id: outageId,
    host: step.host,
    action: step.action,
    ok: outcome.ok,
    took_ms: Math.max(0, now - (step.started ?? now)),
    ...(outcome.verifiedBy ? { verified_by: outcome.verifiedBy } : {}),
    ...(outcome.error ? { error: outcome.error } : {}),
  };
}
