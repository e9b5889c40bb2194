/**
 * A host's hypervisor as the hub sees it: polls the guests' states, and carries out guest actions
 * to the end, so a `shutdown` resolves only once the hypervisor reads the guest off (or saved).
 * While an action runs, states are read every second rather than every `poll_every`.
 */
import type { CommandDetail, CommandRequest, VmAdapter, VmAdapterContext } from '../../core/adapter';
import { every, sleep } from '../../core/clock';
import { formatDuration } from '../../core/duration';
import { BlackstartError, toBlackstartError } from '../../core/errors';
import { isVmDown, isVmUp, type VmPower } from '../../core/state';
import type { VmGuestConfig, VmsConfig } from './config';
import type { GuestSpec, Hypervisor } from './hypervisor';

/** How often states are read while an action waits for its outcome. */
const VM_ACTION_POLL_MS = 1000;
/** Room for the command itself on top of the wait for its outcome. */
const COMMAND_SLACK_MS = 30_000;

export class VmHost implements VmAdapter {
  readonly name: string;
  readonly guests: readonly string[];
  private ctx: VmAdapterContext | undefined;
  private cancelPolling: (() => void) | undefined;
  private busy = 0;
  private polling: Promise<void> | undefined;
  /** Why a guest reads unknown: the hypervisor is away, or has no such guest. */
  private readonly unreadable = new Map<string, BlackstartError>();
  /** Guests the last listing showed kept after a crash: their start clears the remains first. */
  private readonly crashed = new Set<string>();

  constructor(
    readonly hostId: string,
    private readonly cfg: VmsConfig,
    private readonly hv: Hypervisor,
  ) {
    this.name = `host:${hostId}/vms`;
    this.guests = Object.keys(cfg.guests);
  }

  /**
   * The first reading is not waited for: a hypervisor that is off (its host is, after an outage)
   * would hold up the whole daemon's start until its login timed out. Until it answers, its guests
   * read unknown with no error.
   */
  start(ctx: VmAdapterContext): void {
    this.ctx = ctx;
    void this.poll();
    // An action's own loop reads states while it runs.
    this.cancelPolling = every(ctx.clock, this.cfg.pollEvery, () => {
      if (this.busy === 0) void this.poll();
    });
  }

  async stop(): Promise<void> {
    this.ctx = undefined;
    this.cancelPolling?.();
    await this.hv.close();
  }

  timeoutFor(guest: string, action: string): number {
    const g = this.guest(guest);
    return (action === 'start' ? g.startWithin : g.stopWithin) + COMMAND_SLACK_MS;
  }

  async execute(guest: string, request: CommandRequest): Promise<CommandDetail> {
    const ctx = this.ctx;
    if (!ctx) throw new BlackstartError('UNREACHABLE', `${this.name} is not started`);
    const g = this.guest(guest);
    const started = ctx.clock.now();
    this.busy++;
    try {
      await this.poll();
      const now = ctx.current(guest).state;
      // Nothing sensible can be sent for a guest nobody can see; say why rather than try blind.
      if (now === 'unknown') throw this.unreadable.get(guest) ?? new BlackstartError('UNREACHABLE', `${this.hostId}/${guest}: its state cannot be read`);
      switch (request.action) {
        case 'start':
          if (isVmUp(now)) return { already: now };
          await this.hv.start({ ...specOf(guest, g), ...(this.crashed.has(guest) ? { crashed: true as const } : {}) });
          return await this.until(guest, (s) => s === 'running', g.startWithin, 'running', started);
        case 'shutdown':
        case 'save':
        case 'off': {
          if (isVmDown(now)) return { already: now };
          if (request.action === 'save' && now !== 'running' && now !== 'paused') {
            throw new BlackstartError('REFUSED', `${this.hostId}/${guest} is ${now}: only a running or paused guest can be saved`);
          }
          ctx.update(guest, { state: 'stopping', lastError: null });
          await this.hv[request.action](specOf(guest, g));
          const want = request.action === 'save' ? (s: VmPower) => s === 'saved' : isVmDown;
          return await this.until(guest, want, g.stopWithin - (ctx.clock.now() - started), request.action === 'save' ? 'saved' : 'off', started);
        }
        default:
          throw new BlackstartError('BAD_REQUEST', `unknown action "${request.action}" for a guest`);
      }
    } catch (err) {
      const e = toBlackstartError(err);
      this.ctx?.update(guest, { lastError: e.message });
      void this.poll();
      throw e;
    } finally {
      this.busy--;
    }
  }

  /** Reads states until `want` holds; the guest's own deadline, not the hub's, bounds the wait. */
  private async until(guest: string, want: (s: VmPower) => boolean, withinMs: number, what: string, started: number): Promise<CommandDetail> {
    const ctx = this.ctx as VmAdapterContext;
    const deadline = ctx.clock.now() + Math.max(0, withinMs);
    await this.poll();
    for (;;) {
      const st = ctx.current(guest).state;
      if (want(st)) return { verified_by: 'hypervisor', state: st, took_ms: ctx.clock.now() - started };
      if (ctx.clock.now() >= deadline) {
        throw new BlackstartError('TIMEOUT', `${this.hostId}/${guest} is still ${st}, not ${what}, after ${formatDuration(ctx.clock.now() - started)}`);
      }
      await sleep(ctx.clock, Math.min(VM_ACTION_POLL_MS, Math.max(1, deadline - ctx.clock.now())));
      if (!this.ctx) throw new BlackstartError('CANCELLED', `${this.name} stopped`);
      await this.poll();
    }
  }

  /** One listing at a time; callers that arrive while one runs share it. */
  private poll(): Promise<void> {
    this.polling ??= this.readStates().finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async readStates(): Promise<void> {
    const ctx = this.ctx;
    if (!ctx) return;
    try {
      const listed = new Map((await this.hv.list()).map((l) => [l.name, l]));
      for (const [id, g] of Object.entries(this.cfg.guests)) {
        const name = g.name ?? id;
        const entry = listed.get(name);
        const state = entry?.state ?? (this.hv.listsAll ? undefined : 'off');
        if (entry?.crashed) this.crashed.add(id);
        else this.crashed.delete(id);
        if (state !== undefined) {
          this.unreadable.delete(id);
          ctx.update(id, { state, lastError: null });
        } else {
          const e = new BlackstartError('NOT_FOUND', `${this.hv.describe()} has no guest named "${name}"`);
          this.unreadable.set(id, e);
          ctx.update(id, { state: 'unknown', lastError: e.message });
        }
      }
    } catch (err) {
      const e = toBlackstartError(err);
      // A guest last seen off or saved stays so while its hypervisor is away (its host is off, most
      // likely); one that was running may be anything now.
      for (const id of this.guests) {
        this.unreadable.set(id, e);
        ctx.update(id, { state: isVmDown(ctx.current(id).state) ? ctx.current(id).state : 'unknown', lastError: e.message });
      }
    }
  }

  private guest(id: string): VmGuestConfig {
    const g = this.cfg.guests[id];
    if (!g) throw new BlackstartError('NOT_FOUND', `unknown guest "${id}" on host "${this.hostId}"`);
    return g;
  }
}

function specOf(id: string, g: VmGuestConfig): GuestSpec {
  return { name: g.name ?? id, ...(g.config !== undefined ? { config: g.config } : {}) };
}
