/**
 * The outage orchestrator: watches one UPS through the hub, starts the shutdown plan when a
 * trigger fires (or a planned window comes), brings hosts back once mains is stable, and keeps
 * `<base>/outage` current. It reaches devices only through `hub.execute` and MQTT only through
 * hub events, so a broker outage never stalls a shutdown. Every step goes through the journal,
 * and `start()` resumes whatever outage the journal says is open.
 */
import { randomBytes } from 'node:crypto';
import type { CommandDetail, CommandRequest } from '../core/adapter';
import { every, sleep, type Clock } from '../core/clock';
import { formatDuration } from '../core/duration';
import { BlackstartError, toBlackstartError } from '../core/errors';
import type { Hub } from '../core/hub';
import { silentLogger, type Logger } from '../core/logger';
import { isOnBattery, type OutagePhase, type OutageState, type PlanStep, type UpsState, type UpsStatus } from '../core/state';
import { nodeFacts, planNodesOf, type GuestPolicy } from './nodes';
import type { JournalState, OutageJournal, OutageResult } from './journal';
import type { LearnedDurations } from './learned';
import { budgetWarning, fitBudget, planShutdown, shouldStart, toPlanSteps, type PlanHost, type ShutdownPlan } from './planner';
import type { HostOutagePolicy, OutagePolicy } from './policy';
import { NO_SERVICES, RestoreRun, type HostServices } from './restore-run';
import { nextWindow, windowOf, type Window } from './schedule';
import { ShutdownRun, type FinalStep } from './shutdown-run';

export interface OrchestratorOptions {
  hub: Hub;
  policy: OutagePolicy;
  /** Every host's `outage:` block, by id. */
  hosts: Readonly<Record<string, HostOutagePolicy>>;
  /** Every guest of the hosts' hypervisors, by node id (`<host>/<guest>`). */
  guests?: Readonly<Record<string, GuestPolicy>>;
  /** The UPS that feeds the hosts. */
  ups: string;
  journal: OutageJournal;
  services?: HostServices;
  learned?: LearnedDurations;
  /** Answers `{"action": "simulate"}` on `<base>/outage/set`. */
  simulate?: (args: Record<string, unknown>) => Promise<CommandDetail>;
  log?: Logger;
  /** How often triggers, gates and windows are looked at besides UPS changes (default 1 s). */
  tickMs?: number;
  /** On a restart mid-outage, longest wait for the first UPS reading before carrying on (default 10 s). */
  settleMs?: number;
}

export const OUTAGE_ACTIONS = ['abort', 'simulate'] as const;

export class Orchestrator {
  private readonly hub: Hub;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly services: HostServices;
  private phase: OutagePhase = 'normal';
  private outageId: string | null = null;
  private reason: string | null = null;
  private startedAt: number | null = null;
  private shutdown: ShutdownRun | null = null;
  private restore: RestoreRun | null = null;
  private onBatterySince: number | null = null;
  private onlineSince: number | null = null;
  private lastKnown: UpsStatus | null = null;
  private runningAtLoss = new Set<string>();
  /** Hosts the last plan did not reach because mains came back: a new cut must take them down. */
  private leftRunning: string[] = [];
  private aborted = false;
  private overBudgetSent = false;
  /** The planned window under way (its outage running), else null. */
  private window: Window | null = null;
  /** The next planned window as the last evaluation saw it: the snapshot shows it without recomputing. */
  private upcoming: Window | null = null;
  private readonly announced = new Set<string>();
  private readonly finalSteps: FinalStep[] = [];
  private stopTick: (() => void) | undefined;
  private chain: Promise<void> = Promise.resolve();
  private queued = false;
  private publishQueued = false;
  private lastPublished = '';
  /** The plan and the nodes it was made from; dropped whenever a measured duration is learned. */
  private planCache: { hosts: PlanHost[]; plan: ShutdownPlan } | undefined;
  private stopped = false;
  private readonly onUps = (id: string): void => {
    if (id === this.o.ups) this.kick();
  };

  constructor(private readonly o: OrchestratorOptions) {
    this.hub = o.hub;
    this.clock = o.hub.clock;
    this.log = o.log ?? silentLogger();
    this.services = o.services ?? NO_SERVICES;
    if (!this.hub.has('ups', o.ups)) throw new BlackstartError('CONFIG', `outage.ups names "${o.ups}", which is not a UPS of this config`);
    // Until start() has resumed, say what the journal says, so a restart never shows a quiet `normal`.
    const js = o.journal.replay();
    if (js.active) {
      this.phase = js.phase === 'normal' ? 'on_battery' : js.phase;
      this.resumeFrom(js);
      this.hub.setOutage(this.snapshot());
    }
  }

  /** Replays the journal (resuming an open outage), then follows the UPS. */
  async start(): Promise<void> {
    this.hub.setOutageHandler((req) => this.command(req));
    const js = this.o.journal.replay();
    if (js.active) {
      this.resumeFrom(js);
      this.log.warn({ outage: js.outageId, phase: js.phase, toRestore: js.toRestore(), uncertain: js.uncertain() }, 'resuming an outage from the journal');
      await this.settle();
      const spec = this.o.policy.planned.find((p) => js.reason?.startsWith(`planned outage "${p.name}"`));
      this.window = spec ? windowOf(spec, this.clock.now()) : null;
      if (js.phase === 'shutting_down' || (js.phase === 'on_battery' && js.commanded.size > 0)) {
        this.phase = 'shutting_down';
        this.startShutdown(js.runningBefore);
        if (this.aborted) this.shutdown?.stopStarting('aborted before the restart', { escalate: false });
      } else if (js.phase === 'on_battery') {
        this.phase = 'on_battery';
        this.runningAtLoss = new Set(js.runningBefore);
      } else if (js.phase === 'restoring' && this.hub.ups(this.o.ups)?.status === 'online') {
        this.startRestore(false);
      } else {
        this.phase = 'down';
      }
    }
    // Only now: a reading during settle() would be judged with the phase still `normal` and start a second outage.
    this.hub.on('ups', this.onUps);
    this.stopTick = every(this.clock, this.o.tickMs ?? 1000, () => this.kick());
    this.kick();
    this.publish();
  }

  /** The open outage the journal tells of: its id, start, reason and whether it was aborted. */
  private resumeFrom(js: JournalState): void {
    this.outageId = js.outageId;
    this.startedAt = js.startedAt;
    this.reason = js.reason;
    this.aborted = js.aborted;
  }

  /**
   * A step run when every host but the controller is down, before `ups_off` and the controller's own
   * shutdown (the NUT server's FSD, waiting for its secondaries to log out).
   */
  addFinalStep(step: FinalStep): void {
    this.finalSteps.push(step);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopTick?.();
    this.hub.off('ups', this.onUps);
    this.hub.setOutageHandler(undefined);
    this.shutdown?.cancel();
    this.restore?.cancel();
    await this.chain;
  }

  get state(): OutageState {
    return this.snapshot();
  }

  /** The plan as it would run now, with the learned durations. */
  plan(): ShutdownPlan {
    return this.currentPlan().plan;
  }

  /** Published on every change: planned once, again only when a measured duration changes it. */
  private currentPlan(): { hosts: PlanHost[]; plan: ShutdownPlan } {
    if (!this.planCache) {
      const hosts = this.planHosts();
      this.planCache = { hosts, plan: planShutdown(hosts) };
    }
    return this.planCache;
  }

  /** `<base>/outage/set`: abort the running plan, or run a simulation. */
  private async command(req: CommandRequest): Promise<void | CommandDetail> {
    if (req.action === 'simulate') {
      if (!this.o.simulate) throw new BlackstartError('UNSUPPORTED', 'simulation is not available in this process');
      return this.o.simulate(req.args ?? {});
    }
    if (req.action !== 'abort') throw new BlackstartError('BAD_REQUEST', `unknown outage action "${req.action}" (expected one of: ${OUTAGE_ACTIONS.join(', ')})`);
    return this.serialize(() => this.abort());
  }

  private async abort(): Promise<CommandDetail> {
    const was = this.phase;
    if (was === 'shutting_down' && this.shutdown && this.outageId) {
      await this.o.journal.append({ kind: 'plan_aborted', outage_id: this.outageId, by: 'mqtt' });
      this.aborted = true;
      this.shutdown.stopStarting('aborted', { escalate: false });
    } else if (was === 'on_battery') {
      if (this.outageId) await this.o.journal.append({ kind: 'plan_aborted', outage_id: this.outageId, by: 'mqtt' });
      this.aborted = true;
    } else if (was === 'restoring' && this.restore && this.outageId) {
      const run = this.restore;
      run.stopStarting('aborted');
      run.cancel();
      await run.done;
      await this.endOutage('aborted');
    } else {
      throw new BlackstartError('REFUSED', `nothing to abort: the outage phase is ${was}`);
    }
    this.hub.emitEvent({ type: 'outage_aborted', ups: this.o.ups, message: `outage plan aborted while ${was}`, detail: { phase: was } });
    this.publish();
    return { aborted: was };
  }

  private kick(): void {
    if (this.queued || this.stopped) return;
    this.queued = true;
    void this.serialize(async () => {
      this.queued = false;
      await this.evaluate();
    }).catch((err: unknown) => this.log.error({ err: toBlackstartError(err).message }, 'outage evaluation failed'));
  }

  /** One transition at a time: a UPS update never races a journal write. */
  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn);
    this.chain = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  private async evaluate(): Promise<void> {
    if (this.stopped) return;
    const ups = this.hub.ups(this.o.ups) as UpsState;
    const now = this.clock.now();
    this.track(ups, now);
    const upcoming = this.updatePlanned(now);

    if (this.phase === 'normal') {
      if (upcoming && now >= upcoming.shutdownAt && now < upcoming.end) {
        this.window = upcoming;
        this.hub.emitEvent({ type: 'planned_outage_started', ups: this.o.ups, message: `planned outage "${upcoming.name}": shutting down for ${iso(upcoming.start)} – ${iso(upcoming.end)}`, detail: { name: upcoming.name } });
        await this.beginOutage(`planned outage "${upcoming.name}" from ${iso(upcoming.start)} to ${iso(upcoming.end)}`, 'planned');
        return;
      }
      if (isOnBattery(ups.status)) this.enterOnBattery(now);
      else return this.publish();
    }

    if (this.phase === 'on_battery') {
      if (ups.status === 'online') {
        // Mains back before anything was commanded: a long blip. Hosts still to restore keep the outage open.
        this.phase = this.outageId ? 'down' : 'normal';
        this.aborted = false;
        this.log.info('mains back before the shutdown started');
      } else if (!this.aborted) {
        const fired = this.trigger(ups, now);
        if (fired) await this.beginOutage(fired.reason, fired.trigger);
      }
    } else if (this.phase === 'shutting_down') {
      // A planned outage runs with mains on: only a real outage's power coming back stops the plan.
      if (ups.status === 'online' && !this.window && this.o.policy.onPowerBack === 'stop') this.shutdown?.stopStarting('mains power came back');
      else if (isOnBattery(ups.status)) this.watchBudget(ups);
    } else if (this.phase === 'down') {
      if (isOnBattery(ups.status) && !this.aborted && this.leftRunning.some((h) => nodeFacts(this.hub, h).up)) {
        // Hosts left running (power came back mid-plan) face a new cut: plan again.
        this.enterOnBattery(now);
      } else if (this.restoreGateOpen(ups, now)) {
        this.startRestore(true);
      }
    } else if (this.phase === 'restoring') {
      if (isOnBattery(ups.status) && this.restore) {
        const run = this.restore;
        this.log.warn('mains failed again during the restore; back to the shutdown plan');
        run.stopStarting('mains failed again');
        run.cancel();
        this.restore = null;
        await run.done;
        this.enterOnBattery(now);
      }
    }
    this.publish();
  }

  private enterOnBattery(now: number): void {
    this.phase = 'on_battery';
    // A new cut: the last plan's finished steps give way to the preview of the next one.
    this.shutdown = null;
    this.aborted = false;
    this.overBudgetSent = false;
    this.runningAtLoss = new Set(this.nodeIds().filter((h) => nodeFacts(this.hub, h).wasRunning));
    const ups = this.hub.ups(this.o.ups) as UpsState;
    if (ups.runtimeS !== null) {
      const warning = budgetWarning(this.plan(), ups.runtimeS, this.o.policy);
      if (warning) this.overBudget(warning);
    }
    this.log.info({ since: iso(now), running: [...this.runningAtLoss] }, 'on battery: waiting for a trigger');
  }

  private trigger(ups: UpsState, now: number): { trigger: string; reason: string } | null {
    if (ups.status === 'comm_lost' && this.lastKnown !== null && isOnBattery(this.lastKnown)) {
      // As NUT's upsmon does: a UPS lost while on battery may be about to die. Assume the worst.
      return { trigger: 'comm_lost', reason: 'contact with the UPS was lost while it was on battery' };
    }
    const onBatteryMs = this.onBatterySince === null ? 0 : now - this.onBatterySince;
    return shouldStart(this.plan(), ups, this.o.policy, onBatteryMs);
  }

  private async beginOutage(reason: string, trigger: string): Promise<void> {
    const now = this.clock.now();
    const id = `${new Date(now).toISOString().replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`;
    const running = new Set([...this.runningAtLoss, ...this.nodeIds().filter((h) => nodeFacts(this.hub, h).wasRunning)]);
    await this.o.journal.append({ kind: 'outage_started', outage_id: id, ups: this.o.ups, reason, running_before: [...running].sort() });
    await this.o.journal.append({ kind: 'phase', outage_id: id, phase: 'shutting_down' });
    this.outageId = id;
    this.startedAt = now;
    this.reason = reason;
    this.phase = 'shutting_down';
    const plan = this.plan();
    this.hub.emitEvent({
      type: 'shutdown_started',
      ups: this.o.ups,
      message: `shutdown plan started (${trigger}): ${reason}`,
      detail: { trigger, reason, outage_id: id, critical_path_s: plan.criticalPathMs / 1000, waves: plan.waves },
    });
    this.startShutdown(this.o.journal.replay().runningBefore);
    this.publish();
  }

  private startShutdown(runningBefore: ReadonlySet<string>): void {
    // The hub's hosts and guests are fixed once built, so the cached plan is the one planning now would make.
    const { hosts, plan } = this.currentPlan();
    const off = this.o.policy.upsOff;
    const run = new ShutdownRun({
      hub: this.hub,
      journal: this.o.journal,
      log: this.log.child({ outage: this.outageId }),
      outageId: this.outageId as string,
      plan,
      hosts,
      guests: this.guestMap(),
      runningBefore,
      startedAt: this.startedAt ?? this.clock.now(),
      onChange: () => this.publish(),
      finalSteps: this.finalSteps,
      onMeasured: (host, ms) => {
        const saved = this.o.learned?.record(host, ms);
        // Dropped at once (the durations take a measurement as soon as they are told) and again once it is saved.
        this.planCache = undefined;
        void saved?.then(() => (this.planCache = undefined));
      },
      ...(off && !this.window ? { upsOff: { ups: this.o.ups, action: off.action, afterMs: off.after } } : {}),
    });
    this.shutdown = run;
    void run.done.then((summary) =>
      this.serialize(async () => {
        if (this.shutdown !== run || this.stopped || !this.outageId) return;
        await this.o.journal.append({ kind: 'phase', outage_id: this.outageId, phase: 'down' });
        this.phase = 'down';
        this.leftRunning = this.aborted ? [] : summary.notStarted;
        this.hub.emitEvent({
          type: 'shutdown_finished',
          ups: this.o.ups,
          message: `shutdown plan over: ${summary.done.length} down, ${summary.failed.length} failed, ${summary.skipped.length} skipped, ${summary.notStarted.length} left running`,
          detail: { done: summary.done, failed: summary.failed, skipped: summary.skipped, not_started: summary.notStarted },
        });
        this.publish();
        this.kick();
      }),
    );
    run.start();
  }

  private startRestore(fresh: boolean): void {
    const js = this.o.journal.replay();
    const ids = new Set(js.toRestore());
    for (const [id, h] of Object.entries(this.o.hosts)) if (h.alwaysOn) ids.add(id);
    for (const [id, h] of Object.entries(this.o.hosts)) if (h.leaveRunning) ids.delete(id);
    const guests = this.guestMap();
    for (const [id, g] of guests) {
      if (g.start === 'none') ids.delete(id);
      // Only on a host that is coming back (or never left): nobody would start the host for it.
      else if (g.start === 'always' && (ids.has(g.host) || nodeFacts(this.hub, g.host).up)) ids.add(id);
    }
    const restore = this.o.policy.restore;
    const run = new RestoreRun({
      hub: this.hub,
      journal: this.o.journal,
      log: this.log.child({ outage: this.outageId }),
      outageId: this.outageId as string,
      hosts: [...ids].flatMap((id) => {
        const g = guests.get(id);
        if (g) return [{ id, dependsOn: [g.host, ...g.dependsOn], bootWithinMs: g.startWithin }];
        const h = this.o.hosts[id];
        return h ? [{ id, dependsOn: h.dependsOn, bootWithinMs: h.bootWithin ?? restore.bootWithin }] : [];
      }),
      guests,
      retries: restore.retries,
      servicesWithinMs: restore.servicesWithin,
      checkEveryMs: restore.checkEvery,
      services: this.services,
      onChange: () => this.publish(),
    });
    this.phase = 'restoring';
    this.restore = run;
    const begin = async (): Promise<void> => {
      if (fresh && this.outageId) await this.o.journal.append({ kind: 'restore_started', outage_id: this.outageId });
      this.hub.emitEvent({ type: 'restore_started', ups: this.o.ups, message: `restoring ${ids.size} host(s): ${[...ids].join(', ') || 'none'}`, detail: { hosts: [...ids] } });
      run.start();
    };
    // Called from inside the serialized chain, so the journal write is awaited by the caller's turn.
    void begin().catch((err: unknown) => this.log.error({ err: toBlackstartError(err).message }, 'restore could not start'));
    void run.done.then((summary) =>
      this.serialize(async () => {
        if (this.restore !== run || this.stopped || this.phase !== 'restoring') return;
        const result: OutageResult = summary.failed.length === 0 ? 'restored' : summary.done.length > 0 ? 'partial' : 'failed';
        this.hub.emitEvent({
          type: 'restore_finished',
          ups: this.o.ups,
          message: `restore over (${result}): ${summary.done.length} back, ${summary.failed.length} failed`,
          detail: { result, done: summary.done, failed: summary.failed },
        });
        await this.endOutage(result);
      }),
    );
  }

  private async endOutage(result: OutageResult): Promise<void> {
    if (this.outageId) await this.o.journal.append({ kind: 'outage_ended', outage_id: this.outageId, result });
    this.log.info({ outage: this.outageId, result }, 'outage over');
    this.phase = 'normal';
    this.shutdown = null;
    this.restore = null;
    this.outageId = null;
    this.reason = null;
    this.startedAt = null;
    this.window = null;
    this.aborted = false;
    this.runningAtLoss.clear();
    this.leftRunning = [];
    this.publish();
  }

  private watchBudget(ups: UpsState): void {
    if (ups.runtimeS === null || !this.shutdown) return;
    const remaining = this.shutdown.remainingMs();
    const runtimeMs = ups.runtimeS * 1000;
    if (runtimeMs - this.o.policy.reserve >= remaining) return;
    const why = `runtime ${formatDuration(runtimeMs)} minus the ${formatDuration(this.o.policy.reserve)} reserve no longer covers the ${formatDuration(remaining)} the plan still needs`;
    this.overBudget(why);
    // Eating into the reserve is what it is for; only a battery that would run flat first forces hosts off.
    if (runtimeMs < remaining) this.shutdown.escalateOverdue(`${why}, and the battery would run flat first`);
  }

  private overBudget(message: string): void {
    if (this.overBudgetSent) return;
    this.overBudgetSent = true;
    this.hub.emitEvent({ type: 'plan_over_budget', ups: this.o.ups, message });
  }

  private restoreGateOpen(ups: UpsState, now: number): boolean {
    const r = this.o.policy.restore;
    if (this.window && now < this.window.end) return false;
    if (ups.status !== 'online' || this.onlineSince === null) return false;
    if (now - this.onlineSince < r.mainsStableFor) return false;
    return ups.chargePct === null || ups.chargePct >= r.chargeAtLeast;
  }

  private track(ups: UpsState, now: number): void {
    if (isOnBattery(ups.status)) {
      this.onBatterySince ??= now - ups.onBatteryS * 1000;
      this.onlineSince = null;
    } else if (ups.status === 'online') {
      this.onBatterySince = null;
      this.onlineSince ??= now;
    } else {
      this.onlineSince = null;
    }
    if (ups.status !== 'comm_lost') this.lastKnown = ups.status;
  }

  /** The next planned window with its shutdown time, kept for the snapshot; announces it once when it comes near. */
  private updatePlanned(now: number): (Window & { shutdownAt: number }) | null {
    this.upcoming = this.o.policy.planned.length ? nextWindow(this.o.policy.planned, now) : null;
    const w = this.upcoming;
    if (!w) return null;
    const shutdownAt = w.start - this.leadMs();
    const key = `${w.name}@${w.start}`;
    if (now >= shutdownAt - this.o.policy.announceBefore && !this.announced.has(key)) {
      this.announced.add(key);
      this.hub.emitEvent({
        type: 'planned_outage_announced',
        ups: this.o.ups,
        message: `planned outage "${w.name}" from ${iso(w.start)} to ${iso(w.end)}; hosts start going down at ${iso(shutdownAt)}`,
        detail: { name: w.name, shutdown_at: iso(shutdownAt), start: iso(w.start), end: iso(w.end) },
      });
    }
    return { ...w, shutdownAt };
  }

  /** How long before a planned window the shutdown starts: `lead`, else the plan's worst case plus a minute. */
  private leadMs(): number {
    return this.o.policy.lead ?? this.plan().worstCaseMs + 60_000;
  }

  /** On a restart, the UPS's first reading decides whether the plan goes on or the restore begins. */
  private async settle(): Promise<void> {
    const limit = this.clock.now() + (this.o.settleMs ?? 10_000);
    while (this.hub.ups(this.o.ups)?.status === 'comm_lost' && this.clock.now() < limit) {
      await sleep(this.clock, 100);
    }
    const ups = this.hub.ups(this.o.ups) as UpsState;
    this.track(ups, this.clock.now());
  }

  private hostIds(): string[] {
    return Object.keys(this.o.hosts).filter((id) => this.hub.has('host', id));
  }

  /** Hosts, then the guests of their hypervisors that the hub knows. */
  private nodeIds(): string[] {
    return [...this.hostIds(), ...this.guestMap().keys()];
  }

  private guestMap(): Map<string, GuestPolicy> {
    const out = new Map<string, GuestPolicy>();
    for (const [id, g] of Object.entries(this.o.guests ?? {})) {
      if (this.hub.has('host', g.host) && this.hub.vm(g.host, g.guest)) out.set(id, g);
    }
    return out;
  }

  /** The plan's nodes: the hosts and guests the hub has. */
  private planHosts(): PlanHost[] {
    const hosts = Object.fromEntries(this.hostIds().map((id) => [id, this.o.hosts[id] as HostOutagePolicy]));
    return planNodesOf(hosts, Object.fromEntries(this.guestMap()), (id) => this.o.learned?.shutdownMs(id) ?? null);
  }

  private publish(): void {
    if (this.publishQueued || this.stopped) return;
    this.publishQueued = true;
    queueMicrotask(() => {
      this.publishQueued = false;
      if (this.stopped) return;
      // Evaluated every tick: only a real change reaches the hub (and the retained MQTT topic).
      const next = this.snapshot();
      const text = JSON.stringify(next);
      if (text === this.lastPublished) return;
      this.lastPublished = text;
      this.hub.setOutage(next);
    });
  }

  private snapshot(): OutageState {
    const now = this.clock.now();
    const ups = this.hub.ups(this.o.ups) as UpsState;
    const plan = this.plan();
    let steps: PlanStep[] = [];
    if (this.shutdown) steps = this.shutdown.planSteps();
    else if (this.phase === 'on_battery') steps = toPlanSteps(plan, now).map((s) => ({ ...s, deadline: null }));
    if (this.restore) steps = [...steps, ...this.restore.planSteps()];
    const neededMs = this.phase === 'shutting_down' && this.shutdown ? this.shutdown.remainingMs() : plan.criticalPathMs;
    const fit = ups.runtimeS === null ? null : fitBudget({ criticalPathMs: neededMs }, { runtimeS: ups.runtimeS, reserveMs: this.o.policy.reserve });
    return {
      phase: this.phase,
      ups: this.o.ups,
      plan: steps,
      started: this.startedAt,
      deadline: this.shutdown?.deadline() ?? null,
      id: this.outageId,
      reason: this.reason,
      budget: {
        runtimeS: ups.runtimeS,
        reserveS: this.o.policy.reserve / 1000,
        neededS: Math.round(neededMs / 1000),
        worstCaseS: Math.round(plan.worstCaseMs / 1000),
        slackS: fit === null ? null : Math.round(fit.slackMs / 1000),
        criticalPath: plan.criticalPath,
      },
      planned: this.plannedState(),
    };
  }

  private plannedState(): OutageState['planned'] {
    const w = this.window ?? this.upcoming;
    if (!w) return null;
    return { name: w.name, shutdownAt: w.start - this.leadMs(), start: w.start, end: w.end };
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
