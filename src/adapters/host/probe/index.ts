import type { Adapter, AdapterContext, CommandRequest } from '../../../core/adapter';
import { BlackstartError } from '../../../core/errors';
import { derivePhase, lastErrorAfter } from '../../../core/host-phase';
import type { ProbeConfig } from '../../reach/config';
import { Prober, type ProbeSpec, type ReachReport } from '../../reach/prober';

export { probeSchema, type ProbeConfig } from '../../reach/config';

export interface ProbeHostOptions {
  /** The process-wide prober, so all hosts share timers and one fping per sweep; one of its own otherwise. */
  prober?: Prober;
  /** The host's address, used when the probe block names none. */
  address?: string;
}

/**
 * Says whether a host answers. It reports `reachable`, `latencyMs`, `lastError`, and the phase
 * by the shared rule (core/host-phase): with IPMI on the same host, power off means down even
 * while a probe still fails.
 */
export class ProbeHost implements Adapter<'host'> {
  readonly kind = 'host' as const;
  readonly name: string;
  readonly capabilities: readonly string[] = [];
  private readonly spec: ProbeSpec;
  private unwatch: (() => void) | undefined;

  constructor(
    readonly deviceId: string,
    cfg: ProbeConfig,
    private readonly opts: ProbeHostOptions = {},
  ) {
    this.name = `host:${deviceId}/probe`;
    const address = cfg.address ?? opts.address;
    if (!address && (cfg.tcp || cfg.icmp)) {
      throw new BlackstartError('CONFIG', `host ${deviceId}: probe by tcp or icmp needs an address (probe.address or the host's address)`);
    }
    this.spec = {
      ...(address ? { address } : {}),
      ...(cfg.tcp ? { tcp: cfg.tcp } : {}),
      icmp: cfg.icmp,
      ...(cfg.http ? { http: cfg.http } : {}),
      intervalMs: cfg.interval,
      timeoutMs: cfg.timeout,
      failAfter: cfg.failAfter,
      succeedAfter: cfg.succeedAfter,
    };
  }

  start(ctx: AdapterContext<'host'>): void {
    this.unwatch?.();
    const prober = this.opts.prober ?? new Prober({ clock: ctx.clock });
    this.unwatch = prober.watch(this.spec, (r: ReachReport) => {
      const current = ctx.current();
      ctx.update({
        reachable: r.reachable,
        latencyMs: r.latencyMs,
        lastError: lastErrorAfter(current.lastError, 'probe', r.lastError),
        phase: derivePhase(current, { reachable: r.reachable }),
      });
    });
  }

  stop(): void {
    this.unwatch?.();
    this.unwatch = undefined;
  }

  async execute(request: CommandRequest): Promise<void> {
    throw new BlackstartError('UNSUPPORTED', `${this.name} only watches; it has no action "${request.action}"`);
  }
}
