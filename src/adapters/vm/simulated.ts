/**
 * A hypervisor whose guests stop and start in configured times on the hub's clock, for the demo,
 * tests and `blackstart simulate`. Its guests lose power with their host: while the host is not
 * powered the hypervisor cannot be reached, and a guest that was running is off afterwards.
 */
import type { Clock, TimerHandle } from '../../core/clock';
import { BlackstartError } from '../../core/errors';
import type { VmPower } from '../../core/state';
import { DEFAULT_VM_STOP_TAKES_MS, type VmsConfig } from './config';
import type { GuestListing, GuestSpec, Hypervisor } from './hypervisor';

interface SimGuest {
  state: VmPower;
  stopMs: number;
  startMs: number;
  ignoresShutdown: boolean;
  timer: TimerHandle | undefined;
}

export interface SimulatedHypervisorDeps {
  clock: Clock;
  /** Whether the host the hypervisor runs on has power and answers. */
  hostUp: () => boolean;
}

export class SimulatedHypervisor implements Hypervisor {
  readonly listsAll = true;
  private readonly guests = new Map<string, SimGuest>();
  private readonly answers: boolean;

  constructor(
    private readonly hostId: string,
    cfg: VmsConfig,
    private readonly deps: SimulatedHypervisorDeps,
  ) {
    this.answers = cfg.simulated?.answers ?? true;
    for (const [id, g] of Object.entries(cfg.guests)) {
      const sim = g.simulated;
      this.guests.set(g.name ?? id, {
        state: (sim?.running ?? true) ? 'running' : 'off',
        stopMs: sim?.stopTakes ?? g.stopTakes ?? DEFAULT_VM_STOP_TAKES_MS,
        startMs: sim?.startTakes ?? 5000,
        ignoresShutdown: sim?.ignoresShutdown ?? false,
        timer: undefined,
      });
    }
  }

  describe(): string {
    return `simulated hypervisor on ${this.hostId}`;
  }

  list(): Promise<GuestListing[]> {
    this.reach();
    return Promise.resolve([...this.guests].map(([name, g]) => ({ name, state: g.state })));
  }

  shutdown(spec: GuestSpec): Promise<void> {
    const g = this.guest(spec);
    if (g.state === 'running' || g.state === 'paused') {
      if (g.ignoresShutdown) return Promise.resolve();
      g.state = 'stopping';
      this.after(g, g.stopMs, 'off');
    }
    return Promise.resolve();
  }

  /** Like `virsh managedsave`, it returns once the image is written. */
  async save(spec: GuestSpec): Promise<void> {
    const g = this.guest(spec);
    if (g.state !== 'running' && g.state !== 'paused') throw new BlackstartError('REFUSED', `${this.describe()}: ${spec.name} is ${g.state}, not running: nothing to save`);
    g.state = 'stopping';
    await new Promise<void>((resolve) => this.after(g, g.stopMs, 'saved', resolve));
  }

  off(spec: GuestSpec): Promise<void> {
    const g = this.guest(spec);
    this.deps.clock.clearTimeout(g.timer);
    if (g.state !== 'saved') g.state = 'off';
    return Promise.resolve();
  }

  start(spec: GuestSpec): Promise<void> {
    const g = this.guest(spec);
    if (g.state === 'off' || g.state === 'saved') this.after(g, g.startMs, 'running');
    return Promise.resolve();
  }

  close(): Promise<void> {
    for (const g of this.guests.values()) this.deps.clock.clearTimeout(g.timer);
    return Promise.resolve();
  }

  private guest(spec: GuestSpec): SimGuest {
    this.reach();
    const g = this.guests.get(spec.name);
    if (!g) throw new BlackstartError('NOT_FOUND', `${this.describe()}: no guest named "${spec.name}"`);
    return g;
  }

  /** The host lost power since we last looked: whatever ran on it is off now. */
  private reach(): void {
    if (!this.answers) throw new BlackstartError('UNREACHABLE', `${this.describe()}: not answering (simulated.answers is false)`);
    if (!this.deps.hostUp()) {
      for (const g of this.guests.values()) {
        this.deps.clock.clearTimeout(g.timer);
        if (g.state !== 'saved') g.state = 'off';
      }
      throw new BlackstartError('UNREACHABLE', `${this.describe()}: the host is not running`);
    }
  }

  private after(g: SimGuest, ms: number, then: VmPower, done?: () => void): void {
    this.deps.clock.clearTimeout(g.timer);
    g.timer = this.deps.clock.setTimeout(() => {
      g.timer = undefined;
      if (!this.deps.hostUp()) return done?.();
      g.state = then;
      done?.();
    }, ms);
  }
}
