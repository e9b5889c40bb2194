/**
 * Brings hosts back after an outage, what others depend on first: IPMI power-on where the host
 * has a BMC, Wake-on-LAN as the fallback, with retries. A host is back when it answers and its
 * declared services pass; a failing service gets its remediation once, then is checked again.
 * Every command is journalled before it leaves, so a restart never sends it twice.
 */
import type { Hub } from '../core/hub';
import type { Clock, TimerHandle } from '../core/clock';
import type { Logger } from '../core/logger';
import type { HostAction, PlanStep, StepAction, StepState } from '../core/state';
import { formatDuration } from '../core/duration';
import { toBlackstartError } from '../core/errors';
import { nodeFacts, nodeRef, type GuestPolicy } from './nodes';
import type { JournalState, OutageJournal } from './journal';
import { planRestore } from './planner';
import { doneRecord, isOver, runOutcome, toPlanStep, type RunStep } from './run-steps';

/** Service checks and remediation, built from config by the adapters' side. */
export interface HostServices {
  /** Names of the host's checks, empty when it declares none. */
  names(host: string): string[];
  /** null when every check passes, else what failed. */
  check(host: string): Promise<string | null>;
  /** Runs the host's remediation; resolves with a description, or null when it has none. */
  remediate(host: string): Promise<string | null>;
}

export const NO_SERVICES: HostServices = {
  names: () => [],
  check: () => Promise.resolve(null),
  remediate: () => Promise.resolve(null),
};

export interface RestoreHost {
  id: string;
  dependsOn: readonly string[];
  bootWithinMs: number;
}

export interface RestoreRunOptions {
  hub: Hub;
  journal: OutageJournal;
  log: Logger;
  outageId: string;
  hosts: readonly RestoreHost[];
  /** The guest nodes' policies, by node id (`<host>/<guest>`). */
  guests?: ReadonlyMap<string, GuestPolicy>;
  retries: number;
  servicesWithinMs: number;
  checkEveryMs: number;
  services: HostServices;
  onChange: () => void;
}

interface Step extends RunStep {
  host: RestoreHost;
  action: StepAction | 'none';
}

export interface RestoreSummary {
  done: string[];
  failed: string[];
  notStarted: string[];
}

export class RestoreRun {
  private readonly steps = new Map<string, Step>();
  private readonly clock: Clock;
  private starting = true;
  private cancelled = false;
  private readonly waits = new Set<() => void>();
  /** What the journal knew when this run began (a resumed restore). */
  private readonly prior: JournalState;
  /** Intents journalled without an outcome yet, by host. */
  private readonly open = new Map<string, StepAction>();
  private resolveDone!: (s: RestoreSummary) => void;
  readonly done: Promise<RestoreSummary>;

  constructor(private readonly o: RestoreRunOptions) {
    this.clock = o.hub.clock;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.prior = o.journal.replay();
    for (const [host, step] of this.prior.restoreCommanded) if (!step.done) this.open.set(host, step.action);
    const { waves } = planRestore(o.hosts);
    const waveOf = new Map(waves.flatMap((w, i) => w.map((id) => [id, i] as const)));
    const inSet = new Set(o.hosts.map((h) => h.id));
    for (const h of [...o.hosts].sort((a, b) => (waveOf.get(a.id) ?? 0) - (waveOf.get(b.id) ?? 0))) {
      this.steps.set(h.id, {
        host: { ...h, dependsOn: h.dependsOn.filter((d) => inSet.has(d)) },
        wave: waveOf.get(h.id) ?? 0,
        state: 'pending',
        action: 'none',
        started: null,
        finished: null,
        deadline: null,
        error: null,
      });
    }
  }

  start(): void {
    this.pump();
  }

  /** No new host is started (mains failed again, or abort); hosts being started finish their attempt. */
  stopStarting(reason: string): void {
    if (!this.starting) return;
    this.starting = false;
    for (const s of this.steps.values()) if (s.state === 'pending') s.error = reason;
    this.o.onChange();
    this.checkFinished();
  }

  cancel(): void {
    this.cancelled = true;
    this.starting = false;
    for (const wake of [...this.waits]) wake();
  }

  planSteps(): PlanStep[] {
    return [...this.steps.values()].map((s) => toPlanStep(s, s.host.id, s.action === 'none' ? this.firstAction(s.host.id) : s.action, 'restore'));
  }

  /** What a step that has not started will send first. */
  private firstAction(host: string): StepAction {
    if (nodeRef(host).kind === 'vm') return 'start';
    return this.o.hub.capabilities('host', host).includes('power_on') ? 'power_on' : 'wake';
  }

  private pump(): void {
    if (this.cancelled) return this.checkFinished();
    const over = (id: string): boolean => isOver(this.steps.get(id)?.state);
    for (const s of this.steps.values()) {
      if (s.state !== 'pending' || !this.starting || !s.host.dependsOn.every(over)) continue;
      s.state = 'running';
      s.started = this.clock.now();
      this.o.onChange();
      void this.run(s).then(
        (outcome) => this.finish(s, outcome === null ? 'done' : 'failed', outcome),
        (err: unknown) => this.finish(s, 'failed', `internal error: ${toBlackstartError(err).message}`),
      );
    }
    this.checkFinished();
  }

  /** Resolves null when the host is back with its services, else why not. */
  private async run(s: Step): Promise<string | null> {
    const { hub, journal, outageId } = this.o;
    const id = s.host.id;
    const prior = this.prior.restoreCommanded.get(id);
    if (prior?.done && prior.ok) return null;
    if (prior && !prior.done) s.action = prior.action;
    const guest = this.o.guests?.get(id);
    if (guest) return this.runGuest(s, guest, prior);

    const caps = hub.capabilities('host', id);
    const order: HostAction[] = [];
    if (caps.includes('power_on')) order.push('power_on');
    if (caps.includes('wake')) order.push('wake');
    const up = this.isUp(id);
    if (!prior && up) {
      this.o.log.info({ host: id }, 'already up; not commanded');
    } else if (!up) {
      if (order.length === 0) return this.giveUp(s, 'no way to start it: add ipmi: or wol:');
      let answered = false;
      for (let attempt = 0; attempt <= this.o.retries && !answered; attempt++) {
        if (this.cancelled) return 'cancelled';
        const action = order[attempt % order.length] as HostAction;
        s.action = action;
        s.deadline = this.clock.now() + s.host.bootWithinMs;
        this.o.onChange();
        const resumed = attempt === 0 && prior !== undefined && !prior.done;
        if (resumed) {
          // The command may have left before a restart: wait for the host instead of resending.
          s.action = prior.action;
          this.o.log.warn({ host: id, action: prior.action }, 'resuming: the start command may have been sent before the restart; waiting, not resending');
        } else {
          await journal.append({ kind: 'restore_step_intent', outage_id: outageId, host: id, action });
          this.open.set(id, action);
          if (this.cancelled) return 'cancelled';
          const r = await hub.execute({ kind: 'host', id }, { action, id: `outage-${outageId}-${id}-${action}-${attempt + 1}` });
          if (!r.ok) {
            const why = `${action} failed: ${r.error?.message ?? '?'}`;
            this.o.log.warn({ host: id, attempt: attempt + 1, err: why }, 'restore attempt failed');
            await this.journalDone(id, action, false, why, s);
            continue;
          }
        }
        answered = await this.waitUntil(() => this.isUp(id), s.host.bootWithinMs);
        if (!answered) {
          await this.journalDone(id, s.action as HostAction, false, `did not answer within ${formatDuration(s.host.bootWithinMs)}`, s);
        }
      }
      if (!answered) return this.giveUp(s, `did not come back after ${this.o.retries + 1} attempt(s)`);
    }

    const failing = await this.checkServices(s);
    const proof = this.o.services.names(id).length > 0 ? 'services' : 'probe';
    if (s.action !== 'none') await this.journalDone(id, s.action, failing === null, failing ?? undefined, s, failing === null ? proof : undefined);
    if (failing !== null) {
      hub.emitEvent({ type: 'host_restore_failed', host: id, message: `${id} is up but ${failing}`, detail: { services: this.o.services.names(id) } });
    }
    return failing;
  }

  /** A guest: `start` through its hypervisor, which answers once the guest reads running. */
  private async runGuest(s: Step, g: GuestPolicy, prior: { action: StepAction; done: boolean } | undefined): Promise<string | null> {
    const { hub, journal, outageId } = this.o;
    const id = s.host.id;
    const up = (): boolean => this.isUp(id);
    if (up()) {
      if (!prior) this.o.log.info({ host: g.host, vm: g.guest }, 'guest already running; not commanded');
      else await this.journalDone(id, prior.action, true, undefined, s, 'hypervisor');
      return null;
    }
    let why = 'not started';
    for (let attempt = 0; attempt <= this.o.retries; attempt++) {
      if (this.cancelled) return 'cancelled';
      if (attempt > 0) await this.sleep(this.o.checkEveryMs);
      s.action = 'start';
      s.deadline = this.clock.now() + g.startWithin;
      this.o.onChange();
      if (attempt === 0 && prior && !prior.done) {
        this.o.log.warn({ host: g.host, vm: g.guest }, 'resuming: the start may have been sent before the restart; waiting, not resending');
        if (await this.waitUntil(up, g.startWithin)) break;
        why = `did not read running within ${formatDuration(g.startWithin)}`;
        await this.journalDone(id, 'start', false, why, s);
        continue;
      }
      await journal.append({ kind: 'restore_step_intent', outage_id: outageId, host: id, action: 'start' });
      this.open.set(id, 'start');
      if (this.cancelled) return 'cancelled';
      const r = await hub.executeVm(g.host, g.guest, { action: 'start', id: `outage-${outageId}-${g.host}-${g.guest}-start-${attempt + 1}` });
      if (r.ok) break;
      why = `start failed: ${r.error?.message ?? '?'}`;
      this.o.log.warn({ host: g.host, vm: g.guest, attempt: attempt + 1, err: why }, 'guest start attempt failed');
      await this.journalDone(id, 'start', false, why, s);
    }
    if (!up()) {
      const msg = `did not start after ${this.o.retries + 1} attempt(s): ${why}`;
      hub.emitEvent({ type: 'vm_start_failed', host: g.host, vm: g.guest, message: `${id}: ${msg}` });
      return msg;
    }
    await this.journalDone(id, 'start', true, undefined, s, 'hypervisor');
    return null;
  }

  private async checkServices(s: Step): Promise<string | null> {
    const id = s.host.id;
    if (this.o.services.names(id).length === 0) return null;
    const until = this.clock.now() + this.o.servicesWithinMs;
    let remediated = false;
    for (;;) {
      if (this.cancelled) return 'cancelled';
      const last = await this.o.services.check(id).catch((err: unknown) => `service check error: ${toBlackstartError(err).message}`);
      if (last === null) return null;
      if (!remediated) {
        remediated = true;
        this.o.hub.emitEvent({ type: 'service_check_failed', host: id, message: `${id}: ${last}` });
        const how = await this.o.services.remediate(id).then(
          (d) => d,
          (err: unknown) => `remediation failed: ${toBlackstartError(err).message}`,
        );
        if (how !== null) this.o.hub.emitEvent({ type: 'remediation', host: id, message: `${id}: ${how}` });
      }
      if (this.clock.now() + this.o.checkEveryMs > until) return `services failing after ${formatDuration(this.o.servicesWithinMs)}: ${last}`;
      await this.sleep(this.o.checkEveryMs);
    }
  }

  private async giveUp(s: Step, why: string): Promise<string> {
    this.o.hub.emitEvent({ type: 'host_restore_failed', host: s.host.id, message: `${s.host.id}: ${why}` });
    return why;
  }

  private async journalDone(host: string, action: StepAction, ok: boolean, error: string | undefined, s: Step, verifiedBy?: string): Promise<void> {
    if (this.open.get(host) !== action) return;
    this.open.delete(host);
    await this.o.journal.append(doneRecord('restore_step_done', this.o.outageId, { host, action, started: s.started }, this.clock.now(), { ok, error, verifiedBy }));
  }

  /** A host answers, or a guest reads running on a host that is not down. */
  private isUp(id: string): boolean {
    return nodeFacts(this.o.hub, id).up;
  }

  /** Resolves true as soon as `check` holds after a host or guest change, false after `ms`. */
  private waitUntil(check: () => boolean, ms: number): Promise<boolean> {
    const hub = this.o.hub;
    if (check()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onChange = (): void => {
        if (check()) end(true);
      };
      const end = (ok: boolean): void => {
        this.clock.clearTimeout(timer);
        hub.off('host', onChange);
        hub.off('vm', onChange);
        this.waits.delete(cancel);
        resolve(ok);
      };
      const cancel = (): void => end(false);
      this.waits.add(cancel);
      hub.on('host', onChange);
      hub.on('vm', onChange);
      const timer: TimerHandle = this.clock.setTimeout(() => end(false), ms);
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const cancel = (): void => {
        this.clock.clearTimeout(timer);
        this.waits.delete(cancel);
        resolve();
      };
      const timer = this.clock.setTimeout(cancel, ms);
      this.waits.add(cancel);
    });
  }

  private finish(s: Step, state: StepState, error: string | null): void {
    s.state = state;
    s.error = error;
    s.finished = this.clock.now();
    this.o.log.info({ host: s.host.id, state, error }, 'restore step finished');
    this.o.onChange();
    this.pump();
  }

  private checkFinished(): void {
    const out = runOutcome(this.steps.values(), this.starting, (s) => s.host.id);
    if (out) this.resolveDone({ done: out.done, failed: out.failed, notStarted: out.notStarted });
  }
}
