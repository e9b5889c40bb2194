/**
 * Carries out a shutdown plan. A host starts as soon as every host that must go down before it
 * has finished (done, failed or skipped), so one slow branch never holds up another. Each step
 * is journalled before its command leaves and after its outcome is known; a host is "down" only
 * when its state proves it (power off, or it stopped answering), and one that is not down by its
 * deadline is powered off through its BMC. A failed host is reported and the plan carries on.
 */
import type { CommandResult, Hub } from '../core/hub';
import type { Clock, TimerHandle } from '../core/clock';
import type { Logger } from '../core/logger';
import { isVmDown, type HostState, type PlanStep, type StepAction, type StepState, type VmState } from '../core/state';
import { formatDuration } from '../core/duration';
import { shutdownProof } from '../core/host-phase';
import { nodeFacts, nodeRef, type GuestPolicy } from './nodes';
import type { OutageJournal, JournalState } from './journal';
import type { PlanHost, ShutdownPlan } from './planner';
import { doneRecord, isOver, runOutcome, toPlanStep, type RunStep } from './run-steps';

/** After a hard power-off is sent, how long the BMC has to read power off before the step fails. */
const ESCALATION_GRACE_MS = 60_000;

export interface ShutdownRunOptions {
  hub: Hub;
  journal: OutageJournal;
  log: Logger;
  outageId: string;
  plan: ShutdownPlan;
  hosts: readonly PlanHost[];
  /** The guest nodes' policies, by node id (`<host>/<guest>`). */
  guests?: ReadonlyMap<string, GuestPolicy>;
  /** Hosts running when the outage began; the others are skipped unless they are up now. */
  runningBefore: ReadonlySet<string>;
  /** Sent to the UPS after the last host other than the controller: off unless configured. */
  upsOff?: { ups: string; action: string; afterMs: number };
  /**
   * Run when every host but the controller is over, before `upsOff` and the controller: e.g. the
   * NUT server's FSD, which waits for its secondaries to log out. Each bounds its own wait.
   */
  finalSteps?: readonly FinalStep[];
  /** Epoch ms the plan started (deadlines count from each step's own start). */
  startedAt: number;
  onChange: () => void;
  /** A measured, proven shutdown, for the learned durations. */
  onMeasured?: (host: string, tookMs: number) => void;
}

interface Step extends RunStep {
  host: string;
  controller: boolean;
  /** Hosts that must be finished first. */
  after: string[];
  action: StepAction;
  expectedMs: number;
  escalateMs: number;
  escalated: boolean;
  timer: TimerHandle | undefined;
}

export interface FinalStep {
  name: string;
  run(): Promise<void>;
}

export interface ShutdownSummary {
  done: string[];
  failed: string[];
  skipped: string[];
  /** Not started because the plan was stopped (power back, abort). */
  notStarted: string[];
}

export class ShutdownRun {
  private readonly steps = new Map<string, Step>();
  private readonly clock: Clock;
  private starting = true;
  private escalating = true;
  private cancelled = false;
  /** The finale (final steps, then ups_off) between the other hosts and the controller. */
  private finale: 'pending' | 'running' | 'over';
  private upsOffTimer: TimerHandle | undefined;
  private resolveUpsOffWait: (() => void) | undefined;
  private resolveDone!: (s: ShutdownSummary) => void;
  readonly done: Promise<ShutdownSummary>;
  private readonly onHost = (id: string, s: HostState): void => this.observe(id, s);
  private readonly onVm = (host: string, guest: string, v: VmState): void => {
    const s = this.steps.get(`${host}/${guest}`);
    if (s?.state === 'running' && !this.cancelled && isVmDown(v.state)) void this.succeed(s, 'hypervisor');
  };
  /** What the journal knew when this run began: a resumed outage's commands and outcomes. */
  private readonly prior: JournalState;

  constructor(private readonly o: ShutdownRunOptions) {
    this.clock = o.hub.clock;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.prior = o.journal.replay();
    // Journalled before it leaves: a resumed run never cuts the outlets a second time.
    this.finale = (o.upsOff && !this.prior.upsOffSent) || (o.finalSteps?.length ?? 0) > 0 ? 'pending' : 'over';
    const byId = new Map(o.hosts.map((h) => [h.id, h]));
    const inPlan = new Set(o.plan.steps.map((s) => s.host));
    // What must finish first: a host's dependents, looking through hosts left running.
    const dependents = new Map<string, string[]>(o.hosts.map((h) => [h.id, []]));
    for (const h of o.hosts) for (const d of h.dependsOn) dependents.get(d)?.push(h.id);
    const afterOf = (id: string): string[] => {
      const out = new Set<string>();
      const seen = new Set<string>();
      const walk = (x: string): void => {
        for (const dep of dependents.get(x) ?? []) {
          if (seen.has(dep)) continue;
          seen.add(dep);
          if (inPlan.has(dep)) out.add(dep);
          else walk(dep);
        }
      };
      walk(id);
      return [...out];
    };
    for (const s of o.plan.steps) {
      const h = byId.get(s.host) as PlanHost;
      const controller = Boolean(h.controller);
      this.steps.set(s.host, {
        host: s.host,
        wave: s.wave,
        controller,
        after: controller ? o.plan.steps.filter((x) => x.host !== s.host).map((x) => x.host) : afterOf(s.host),
        state: 'pending',
        action: 'shutdown',
        started: null,
        finished: null,
        deadline: null,
        expectedMs: s.expectedDoneMs - s.startMs,
        escalateMs: s.escalateAtMs - s.startMs,
        error: null,
        escalated: false,
        timer: undefined,
      });
    }
  }

  start(): void {
    this.o.hub.on('host', this.onHost);
    this.o.hub.on('vm', this.onVm);
    this.pump();
  }

  /** No new step starts; steps under way run to their end. */
  stopStarting(reason: string, opts: { escalate?: boolean } = {}): void {
    if (opts.escalate === false) this.escalating = false;
    if (!this.starting) return;
    this.starting = false;
    for (const s of this.steps.values()) if (s.state === 'pending') s.error = reason;
    this.o.log.info({ reason }, 'shutdown plan: no further hosts will be started');
    if (this.finale === 'pending') this.finale = 'over';
    this.o.onChange();
    this.checkFinished();
  }

  /** Stops everything at once (the process is stopping): no timers, no more commands. */
  cancel(): void {
    this.cancelled = true;
    this.starting = false;
    this.clock.clearTimeout(this.upsOffTimer);
    this.resolveUpsOffWait?.();
    for (const s of this.steps.values()) this.clock.clearTimeout(s.timer);
    this.o.hub.off('host', this.onHost);
    this.o.hub.off('vm', this.onVm);
  }

  /** Runtime is draining faster than planned: hosts past their expected time are powered off now. */
  escalateOverdue(reason: string): void {
    const now = this.clock.now();
    for (const s of this.steps.values()) {
      if (s.state === 'running' && !s.escalated && !s.controller && s.started !== null && now >= s.started + s.expectedMs) {
        void this.escalate(s, reason);
      }
    }
  }

  /** Expected time until the plan is over, from now, by the plan's own figures. */
  remainingMs(): number {
    const now = this.clock.now();
    let end = now;
    const endOf = new Map<string, number>();
    const visit = (s: Step): number => {
      const known = endOf.get(s.host);
      if (known !== undefined) return known;
      let e: number;
      if (isOver(s.state)) e = now;
      // An overdue host may take until its deadline (then the grace after a hard power-off).
      else if (s.state === 'running') e = now < (s.started ?? now) + s.expectedMs ? (s.started ?? now) + s.expectedMs : Math.max(now, s.deadline ?? now);
      else e = Math.max(now, ...s.after.map((a) => visit(this.steps.get(a) as Step))) + s.expectedMs;
      endOf.set(s.host, e);
      return e;
    };
    for (const s of this.steps.values()) if (s.state !== 'pending' || this.starting) end = Math.max(end, visit(s));
    return end - now;
  }

  planSteps(): PlanStep[] {
    return [...this.steps.values()].map((s) => toPlanStep(s, s.host, s.action, 'shutdown'));
  }

  /** The latest deadline of the steps under way or done, for the outage state. */
  deadline(): number | null {
    const ds = [...this.steps.values()].map((s) => s.deadline).filter((d): d is number => d !== null);
    return ds.length ? Math.max(...ds) : null;
  }

  private pump(): void {
    if (this.cancelled) return;
    const over = (id: string): boolean => isOver(this.steps.get(id)?.state);
    for (const s of this.steps.values()) {
      if (s.state !== 'pending' || !this.starting) continue;
      if (!s.after.every(over)) continue;
      if (s.controller && this.finale !== 'over') continue;
      s.state = 'running';
      s.started = this.clock.now();
      void this.begin(s).catch((err: unknown) => this.finish(s, 'failed', `internal error: ${(err as Error).message}`));
    }
    const othersOver = [...this.steps.values()].every((s) => s.controller || (s.state !== 'pending' && s.state !== 'running'));
    if (othersOver && this.starting && this.finale === 'pending') {
      this.finale = 'running';
      void this.runFinale().finally(() => {
        this.finale = 'over';
        this.pump();
      });
    }
    this.checkFinished();
  }

  private async runFinale(): Promise<void> {
    for (const step of this.o.finalSteps ?? []) {
      if (this.cancelled) return;
      try {
        await step.run();
      } catch (err) {
        this.o.log.warn({ step: step.name, err: (err as Error).message }, 'final step before the controller failed; carrying on');
      }
    }
    const off = this.o.upsOff;
    if (!off || this.prior.upsOffSent || this.cancelled) return;
    await new Promise<void>((resolve) => {
      this.resolveUpsOffWait = resolve;
      this.upsOffTimer = this.clock.setTimeout(resolve, off.afterMs);
    });
    if (!this.cancelled) await this.sendUpsOff(off);
  }

  private async sendUpsOff(off: NonNullable<ShutdownRunOptions['upsOff']>): Promise<void> {
    await this.o.journal.append({ kind: 'ups_off', outage_id: this.o.outageId, action: off.action });
    if (this.cancelled) return;
    const r = await this.o.hub.execute({ kind: 'ups', id: off.ups }, { action: off.action, id: `outage-${this.o.outageId}-ups-off` });
    this.o.hub.emitEvent({
      type: 'ups_off_sent',
      ups: off.ups,
      message: r.ok ? `sent ${off.action} to UPS ${off.ups}` : `${off.action} to UPS ${off.ups} failed: ${r.error?.message ?? '?'}`,
      detail: { action: off.action, ok: r.ok },
    });
  }

  private async begin(s: Step): Promise<void> {
    const hub = this.o.hub;
    const prior = this.prior;
    const commanded = prior.commanded.get(s.host);

    if (commanded?.done) {
      // Resumed after a restart: this host's outcome is already known. Never command it twice.
      return this.finish(s, commanded.ok ? 'done' : 'failed', commanded.ok ? null : (commanded.error ?? 'failed before the restart'));
    }
    if (commanded) return this.resume(s, prior, commanded.action);

    const facts = nodeFacts(hub, s.host);
    if (facts.down) return this.finish(s, 'skipped', 'already down');
    // A guest its hypervisor cannot account for may be running: better a failed stop than a skipped one.
    if (!this.o.runningBefore.has(s.host) && !facts.up && !facts.unknown) {
      return this.finish(s, 'skipped', 'was not running when the outage began');
    }
    const guest = this.o.guests?.get(s.host);
    if (guest) return this.beginGuest(s, guest);
    const caps = hub.capabilities('host', s.host);
    const action = caps.includes('shutdown') ? 'shutdown' : caps.includes('soft_off') ? 'soft_off' : null;
    if (!action) {
      const msg = 'no shutdown method configured (add shutdown: or ipmi:)';
      hub.emitEvent({ type: 'host_shutdown_failed', host: s.host, message: `${s.host}: ${msg}`, detail: { code: 'UNSUPPORTED' } });
      return this.finish(s, 'failed', msg);
    }
    s.action = action;
    s.deadline = (s.started as number) + s.escalateMs;
    this.o.onChange();
    await this.o.journal.append({ kind: 'step_intent', outage_id: this.o.outageId, host: s.host, action });
    if (this.cancelled) return;
    this.armDeadline(s);
    this.o.log.info({ host: s.host, action, deadline: new Date(s.deadline).toISOString() }, 'shutdown step started');
    void hub.execute({ kind: 'host', id: s.host }, { action, id: `outage-${this.o.outageId}-${s.host}` }).then((r) => this.onResult(s, action, r));
    this.observe(s.host, hub.host(s.host) as HostState);
  }

  /** A guest: its configured stop through the hypervisor, which answers once the guest is off or saved. */
  private async beginGuest(s: Step, g: GuestPolicy): Promise<void> {
    s.action = g.stop;
    s.escalated = g.stop === 'off';
    s.deadline = (s.started as number) + s.escalateMs;
    this.o.onChange();
    await this.o.journal.append({ kind: 'step_intent', outage_id: this.o.outageId, host: s.host, action: g.stop });
    if (this.cancelled) return;
    this.armDeadline(s);
    this.o.log.info({ host: g.host, vm: g.guest, action: g.stop, deadline: new Date(s.deadline).toISOString() }, 'guest stop started');
    void this.o.hub.executeVm(g.host, g.guest, { action: g.stop, id: `outage-${this.o.outageId}-${g.host}-${g.guest}` }).then((r) => this.onResult(s, g.stop, r));
  }

  /** An intent with no outcome in the journal: the command may have left. Watch; do not resend. */
  private resume(s: Step, prior: JournalState, action: StepAction): void {
    const at = prior.uncertain().find((u) => u.stage === 'shutdown' && u.host === s.host)?.at ?? this.clock.now();
    s.action = action;
    s.started = at;
    s.escalated = action === 'power_off' || (action === 'off' && nodeRef(s.host).kind === 'vm');
    if (s.controller) {
      // We are running, so the controller's own shutdown is behind us (or never took): done.
      this.o.log.info({ host: s.host }, 'the controller was shutting itself down before the restart; counting it done');
      void this.record(s, true, 'restart').then(() => this.finish(s, 'done', null));
      return;
    }
    s.deadline = s.escalated ? this.clock.now() + ESCALATION_GRACE_MS : at + s.escalateMs;
    this.o.log.warn({ host: s.host, action }, 'resuming: the command may have been sent before the restart; watching, not resending');
    this.armDeadline(s);
    this.o.onChange();
    this.recheck(s);
  }

  /** Whether the node is already proven down (a host's proof, or a guest read off or saved). */
  private recheck(s: Step): void {
    const ref = nodeRef(s.host);
    if (ref.kind === 'host') return this.observe(s.host, this.o.hub.host(s.host) as HostState);
    if (s.state === 'running' && nodeFacts(this.o.hub, s.host).down) void this.succeed(s, 'hypervisor');
  }

  private onResult(s: Step, action: StepAction, r: CommandResult): void {
    if (s.state !== 'running' || s.action !== action || this.cancelled) return;
    if (r.ok) {
      const by = typeof r.detail?.verified_by === 'string' ? r.detail.verified_by : undefined;
      if (by === 'probe' || by === 'ipmi' || by === 'hypervisor') return void this.succeed(s, by);
      if (r.detail?.already !== undefined) return void this.succeed(s, 'hypervisor');
      if (by === 'none') {
        // Nothing can prove it down: trust the method and give it its expected time.
        const wait = Math.max(0, (s.started as number) + s.expectedMs - this.clock.now());
        this.clock.clearTimeout(s.timer);
        s.timer = this.clock.setTimeout(() => void this.succeed(s, 'none'), wait);
      }
      return;
    }
    const why = `${action} failed: ${r.error?.message ?? 'unknown error'}`;
    if (r.error?.code === 'CANCELLED') return;
    if (s.escalated) return void this.fail(s, why);
    void this.escalate(s, why);
  }

  private observe(id: string, state: HostState): void {
    const s = this.steps.get(id);
    if (!s || s.state !== 'running' || this.cancelled) return;
    // The same proof the shutdown method's own verification waits for; a restarted controller uses it
    // for a host it may already have shut down.
    const proof = shutdownProof(state);
    if (proof) void this.succeed(s, proof);
  }

  private armDeadline(s: Step): void {
    this.clock.clearTimeout(s.timer);
    if (s.deadline === null) return;
    s.timer = this.clock.setTimeout(
      () => {
        if (s.state !== 'running') return;
        if (s.escalated) void this.fail(s, `still not down ${formatDuration(ESCALATION_GRACE_MS)} after the hard power-off`);
        else void this.escalate(s, `not down after ${formatDuration(s.escalateMs)}`);
      },
      Math.max(0, s.deadline - this.clock.now()),
    );
  }

  private async escalate(s: Step, why: string): Promise<void> {
    if (s.state !== 'running' || s.escalated) return;
    const hub = this.o.hub;
    if (!this.escalating) return this.fail(s, `${why}; the plan was aborted, so it is not powered off`);
    const ref = nodeRef(s.host);
    if (ref.kind === 'vm') return this.escalateGuest(s, ref.host, ref.guest, why);
    if (s.controller || !hub.capabilities('host', s.host).includes('power_off')) {
      return this.fail(s, s.controller ? why : `${why}; no BMC to power it off`);
    }
    s.escalated = true;
    hub.emitEvent({ type: 'escalation', host: s.host, message: `${s.host}: ${why}; powering it off through its BMC`, detail: { from: s.action, to: 'power_off' } });
    if (!(await this.forcing(s, 'power_off', why))) return;
    void hub.execute({ kind: 'host', id: s.host }, { action: 'power_off', id: `outage-${this.o.outageId}-${s.host}-off` }, { urgent: true }).then((r) => {
      if (!r.ok && s.state === 'running' && s.action === 'power_off') void this.fail(s, `power_off failed: ${r.error?.message ?? '?'}`);
      else this.observe(s.host, hub.host(s.host) as HostState);
    });
  }

  /**
   * Journals the graceful attempt as failed and the forced action's intent before it leaves, with
   * its own grace period; false when the run was cancelled meanwhile (send nothing then).
   */
  private async forcing(s: Step, action: StepAction, why: string): Promise<boolean> {
    await this.record(s, false, undefined, why);
    s.action = action;
    s.deadline = this.clock.now() + ESCALATION_GRACE_MS;
    this.o.onChange();
    await this.o.journal.append({ kind: 'step_intent', outage_id: this.o.outageId, host: s.host, action });
    if (this.cancelled) return false;
    this.armDeadline(s);
    return true;
  }

  /** A guest that would not stop in time is turned off through its hypervisor. */
  private async escalateGuest(s: Step, host: string, guest: string, why: string): Promise<void> {
    const hub = this.o.hub;
    s.escalated = true;
    hub.emitEvent({ type: 'escalation', host, vm: guest, message: `${s.host}: ${why}; turning it off through its hypervisor`, detail: { from: s.action, to: 'off' } });
    if (!(await this.forcing(s, 'off', why))) return;
    void hub.executeVm(host, guest, { action: 'off', id: `outage-${this.o.outageId}-${host}-${guest}-off` }, { urgent: true }).then((r) => {
      if (s.state !== 'running' || s.action !== 'off') return;
      if (r.ok) void this.succeed(s, 'hypervisor');
      else void this.fail(s, `off failed: ${r.error?.message ?? '?'}`);
    });
  }

  private async succeed(s: Step, by: string): Promise<void> {
    if (s.state !== 'running') return;
    s.state = 'done'; // claimed now, so a second proof arriving during the write does nothing
    const took = this.clock.now() - (s.started as number);
    await this.record(s, true, by);
    if (!s.escalated && by !== 'none') this.o.onMeasured?.(s.host, took);
    this.finish(s, 'done', null);
  }

  private async fail(s: Step, why: string): Promise<void> {
    if (s.state !== 'running') return;
    s.state = 'failed';
    const ref = nodeRef(s.host);
    if (ref.kind === 'vm') this.o.hub.emitEvent({ type: 'vm_stop_failed', host: ref.host, vm: ref.guest, message: `${s.host}: ${why}`, detail: { action: s.action } });
    else this.o.hub.emitEvent({ type: 'host_shutdown_failed', host: s.host, message: `${s.host}: ${why}`, detail: { action: s.action } });
    await this.record(s, false, undefined, why);
    this.finish(s, 'failed', why);
  }

  private async record(s: Step, ok: boolean, verifiedBy?: string, error?: string): Promise<void> {
    await this.o.journal.append(doneRecord('step_done', this.o.outageId, s, this.clock.now(), { ok, error, verifiedBy }));
  }

  private finish(s: Step, state: StepState, error: string | null): void {
    this.clock.clearTimeout(s.timer);
    s.state = state;
    s.finished = this.clock.now();
    if (s.started === null) s.started = s.finished;
    s.error = error;
    this.o.log.info({ host: s.host, state, error }, 'shutdown step finished');
    this.o.onChange();
    this.pump();
  }

  private checkFinished(): void {
    const out = runOutcome(this.steps.values(), this.starting, (s) => s.host);
    if (!out || this.finale === 'running' || (this.finale === 'pending' && this.starting)) return;
    this.o.hub.off('host', this.onHost);
    this.o.hub.off('vm', this.onVm);
    this.resolveDone(out);
  }
}
