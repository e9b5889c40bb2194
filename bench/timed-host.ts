/**
 * A host for benchmarks: it notes when its adapter is asked to act (the moment a real method would
 * open its SSH session or send its IPMI packet) and reports itself down a fixed time later, as a
 * verified shutdown would, so the runner moves on to the hosts it depends on.
 */
import { performance } from 'node:perf_hooks';
import type { Adapter, AdapterContext, CommandRequest } from '../src/core/adapter';
import type { TimerHandle } from '../src/core/clock';
import { BlackstartError } from '../src/core/errors';

export interface HostTimes {
  /** performance.now() of the first `execute` call. */
  commanded?: number;
  /** performance.now() when the host reported itself down. */
  down?: number;
}

export class TimedHost implements Adapter<'host'> {
  readonly kind = 'host' as const;
  readonly name: string;
  readonly capabilities: readonly string[] = ['shutdown', 'power_off'];
  private ctx: AdapterContext<'host'> | undefined;
  private timer: TimerHandle | undefined;

  constructor(
    readonly deviceId: string,
    private readonly times: HostTimes,
    private readonly downAfterMs: number,
    private readonly onCommand: () => void,
  ) {
    this.name = `host:${deviceId}/bench`;
  }

  start(ctx: AdapterContext<'host'>): void {
    this.ctx = ctx;
    ctx.update({ power: 'on', reachable: true, latencyMs: 1, phase: 'running' });
  }

  stop(): void {
    this.ctx?.clock.clearTimeout(this.timer);
    this.ctx = undefined;
  }

  execute(request: CommandRequest): Promise<void> {
    // Stamped before anything else, so the figure is the orchestrator's latency, not ours.
    this.times.commanded ??= performance.now();
    const ctx = this.ctx;
    if (!ctx) return Promise.reject(new BlackstartError('UNREACHABLE', `${this.deviceId} is not started`));
    this.onCommand();
    if (request.action === 'power_off') {
      this.down();
    } else {
      ctx.update({ phase: 'shutting_down' });
      this.timer = ctx.clock.setTimeout(() => this.down(), this.downAfterMs);
    }
    return Promise.resolve();
  }

  private down(): void {
    this.ctx?.clock.clearTimeout(this.timer);
    this.times.down ??= performance.now();
    this.ctx?.update({ power: 'off', reachable: false, latencyMs: null, phase: 'down' });
  }
}
