import type { Adapter, AdapterContext, CommandRequest } from '../../../core/adapter';
import type { TimerHandle } from '../../../core/clock';
import { BlackstartError } from '../../../core/errors';
import { HOST_ACTIONS, type HostPhase, type HostState } from '../../../core/state';
import type { SimulatedHostConfig } from './config';

export { simulatedHostSchema, type SimulatedHostConfig } from './config';

/**
 * A server that boots and shuts down in configured times on the hub's clock. It accepts every
 * host action, as a machine with a BMC, WOL and an OS shutdown method would.
 */
export class SimulatedHost implements Adapter<'host'> {
  readonly kind = 'host' as const;
  readonly name: string;
  readonly capabilities: readonly string[] = HOST_ACTIONS;
  private ctx: AdapterContext<'host'> | undefined;
  private phase: HostPhase = 'down';
  private timer: TimerHandle | undefined;

  constructor(
    readonly deviceId: string,
    private readonly cfg: SimulatedHostConfig,
  ) {
    this.name = `host:${deviceId}/simulated`;
  }

  start(ctx: AdapterContext<'host'>): void {
    this.ctx = ctx;
    this.set(this.cfg.running ? 'running' : 'down');
  }

  stop(): void {
    this.ctx?.clock.clearTimeout(this.timer);
    this.ctx = undefined;
  }

  async execute(request: CommandRequest): Promise<void> {
    const ctx = this.ctx;
    if (!ctx) throw new BlackstartError('UNREACHABLE', `${this.deviceId} is not started`);
    const busy = (what: string): BlackstartError => new BlackstartError('BUSY', `${this.deviceId} is ${what}; try again when it is done`);
    switch (request.action) {
      case 'wake':
      case 'power_on':
        if (this.phase === 'shutting_down') throw busy('shutting down');
        if (this.phase === 'down') this.boot();
        return;
      case 'shutdown':
      case 'soft_off':
        if (this.phase === 'waking') throw busy('booting');
        if (this.phase === 'running' || this.phase === 'unreachable') {
          if (this.cfg.ignoresShutdown) return;
          this.set('shutting_down');
          this.after(this.cfg.shutdownTakes, () => this.set('down'));
        }
        return;
      case 'power_off':
        this.set('down');
        return;
      case 'power_cycle':
        this.set('down');
        this.boot();
        return;
      case 'reset':
        if (this.phase === 'down') throw new BlackstartError('REFUSED', `${this.deviceId} is off: power it on instead of resetting it`);
        this.boot();
        return;
      default:
        throw new BlackstartError('BAD_REQUEST', `unknown action "${request.action}"`);
    }
  }

  private boot(): void {
    this.set('waking');
    this.after(this.cfg.wakeTakes, () => this.set('running'));
  }

  private after(ms: number, fn: () => void): void {
    const ctx = this.ctx;
    if (!ctx) return;
    ctx.clock.clearTimeout(this.timer);
    this.timer = ctx.clock.setTimeout(fn, ms);
  }

  private set(phase: HostPhase): void {
    if (phase === 'down') this.ctx?.clock.clearTimeout(this.timer);
    this.phase = phase;
    const powered = phase !== 'down';
    const answering = (phase === 'running' || phase === 'shutting_down') && this.cfg.answers;
    const state: Partial<HostState> = {
      power: powered ? 'on' : 'off',
      reachable: answering,
      latencyMs: answering ? this.cfg.latencyMs : null,
      phase: phase === 'running' && !this.cfg.answers ? 'unreachable' : phase,
      lastError: phase === 'running' && !this.cfg.answers ? 'does not answer (simulated)' : null,
    };
    this.ctx?.update(state);
  }
}
