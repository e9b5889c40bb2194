/**
 * Folds journal records into what a restarted controller needs: which outage is open,
 * what was commanded, what is in doubt, and what still has to be brought back.
 */
import { BlackstartError } from '../core/errors';
import type { OutagePhase, StepAction } from '../core/state';
import type { JournalRecord, OutageResult } from './journal-records';

export type Stage = 'shutdown' | 'restore';

export interface CommandedStep {
  action: StepAction;
  done: boolean;
  ok?: boolean;
  error?: string;
  verifiedBy?: string;
}

export interface UncertainStep {
  stage: Stage;
  host: string;
  action: StepAction;
  /** When the intent was written; the command may or may not have left before the crash. */
  at: number;
}

export class JournalState {
  active = false;
  outageId: string | null = null;
  ups: string | null = null;
  reason: string | null = null;
  startedAt: number | null = null;
  phase: OutagePhase = 'normal';
  result: OutageResult | null = null;
  /** The shutdown plan was stopped by hand: do not start it again in this outage. */
  aborted = false;
  /** The UPS was told to cut its outlets (`ups_off`) in this outage. */
  upsOffSent = false;
  runningBefore = new Set<string>();
  /** Latest shutdown-side command per host (an escalation such as soft_off → power_off replaces it). */
  commanded = new Map<string, CommandedStep>();
  /** Latest restore-side command per host. */
  restoreCommanded = new Map<string, CommandedStep>();
  /** Hosts whose restore step finished ok. */
  restored = new Set<string>();
  /** Number of records folded, for logs. */
  records = 0;
  private sent = new Set<string>();
  private intentAt = new Map<string, number>();

  /** True when this action was ever journalled as about to be sent to this host in this outage. */
  wasCommanded(host: string, action: StepAction, stage: Stage = 'shutdown'): boolean {
    return this.sent.has(key(stage, host, action));
  }

  /** Hosts that were running when the outage began and are not yet confirmed back. */
  toRestore(): string[] {
    return [...this.runningBefore].filter((h) => !this.restored.has(h));
  }

  /**
   * Intents with no outcome: the controller died between writing the intent and the result.
   * The runner must verify these (ping, power status) instead of sending them again.
   */
  uncertain(): UncertainStep[] {
    const out: UncertainStep[] = [];
    for (const [stage, map] of [
      ['shutdown', this.commanded],
      ['restore', this.restoreCommanded],
    ] as const) {
      for (const [host, step] of map) {
        if (step.done) continue;
        out.push({ stage, host, action: step.action, at: this.intentAt.get(key(stage, host, step.action)) ?? 0 });
      }
    }
    return out;
  }

  /** A deep copy, so a caller (or a rejected record) cannot change the journal's own fold. */
  clone(): JournalState {
    const c = Object.assign(new JournalState(), this);
    c.runningBefore = new Set(this.runningBefore);
    c.commanded = copySteps(this.commanded);
    c.restoreCommanded = copySteps(this.restoreCommanded);
    c.restored = new Set(this.restored);
    c.sent = new Set(this.sent);
    c.intentAt = new Map(this.intentAt);
    return c;
  }

  /** Applies one record; `where` names the file and line for errors. */
  apply(rec: JournalRecord, where: string): void {
    this.records++;
    if (rec.kind === 'outage_started') {
      this.start(rec);
      return;
    }
    const bad = (what: string): BlackstartError => new BlackstartError('PROTOCOL', `${where}: ${rec.kind} ${what}`);
    if (this.outageId === null) throw bad('before any outage_started');
    if (rec.outage_id !== this.outageId) {
      throw bad(`for outage ${rec.outage_id}, but the current one is ${this.outageId}`);
    }
    if (!this.active) throw bad(`after outage ${rec.outage_id} ended`);
    switch (rec.kind) {
      case 'step_intent':
      case 'restore_step_intent': {
        const stage: Stage = rec.kind === 'step_intent' ? 'shutdown' : 'restore';
        this.mapFor(stage).set(rec.host, { action: rec.action, done: false });
        this.sent.add(key(stage, rec.host, rec.action));
        this.intentAt.set(key(stage, rec.host, rec.action), rec.at);
        break;
      }
      case 'step_done':
      case 'restore_step_done': {
        const stage: Stage = rec.kind === 'step_done' ? 'shutdown' : 'restore';
        const step = this.mapFor(stage).get(rec.host);
        if (!step || step.action !== rec.action || step.done) {
          throw bad(`for ${rec.host} ${rec.action} without an open intent`);
        }
        step.done = true;
        step.ok = rec.ok;
        if (rec.error !== undefined) step.error = rec.error;
        if (rec.verified_by !== undefined) step.verifiedBy = rec.verified_by;
        if (stage === 'restore' && rec.ok) this.restored.add(rec.host);
        break;
      }
      case 'phase':
        this.phase = rec.phase;
        break;
      case 'plan_aborted':
        this.aborted = true;
        break;
      case 'ups_off':
        this.upsOffSent = true;
        break;
      case 'restore_started':
        this.phase = 'restoring';
        break;
      case 'outage_ended':
        this.active = false;
        this.phase = 'normal';
        this.result = rec.result;
        break;
    }
  }

  private start(rec: Extract<JournalRecord, { kind: 'outage_started' }>): void {
    // An outage that never ended is folded into the new one rather than dropped: the hosts it
    // took down still have to come back, or the journal would "forget what to restore".
    const carried = this.active ? this.toRestore() : [];
    this.active = true;
    this.outageId = rec.outage_id;
    this.ups = rec.ups;
    this.reason = rec.reason;
    this.startedAt = rec.at;
    this.phase = 'on_battery';
    this.result = null;
    this.aborted = false;
    this.upsOffSent = false;
    this.runningBefore = new Set([...carried, ...rec.running_before]);
    this.commanded = new Map();
    this.restoreCommanded = new Map();
    this.restored = new Set();
    this.sent = new Set();
    this.intentAt = new Map();
  }

  private mapFor(stage: Stage): Map<string, CommandedStep> {
    return stage === 'shutdown' ? this.commanded : this.restoreCommanded;
  }
}

function copySteps(m: Map<string, CommandedStep>): Map<string, CommandedStep> {
  return new Map([...m].map(([h, s]) => [h, { ...s }]));
}

function key(stage: Stage, host: string, action: string): string {
  return `${stage}\u0000${host}\u0000${action}`;
}
