import type { Adapter, AdapterContext, CommandRequest } from '../../../core/adapter';
import { BlackstartError } from '../../../core/errors';
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
 * Says whether a host answers. It reports `reachable`, `latencyMs`, `lastError` and a phase
 * derived from reachability alone: `running` while reachable, `unreachable` otherwise. It cannot
 * tell "down" from "hung"; an adapter that sees power (IPMI) can, and its word should win.
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
    this.unwatch = prober.watch(this.spec, (r: ReachReport) =>
      ctx.update({ reachable: r.reachable, latencyMs: r.latencyMs, lastError: r.lastError, phase: r.reachable ? 'running' : 'unreachable' }),
    );
  }

  stop(): void {
    this.unwatch?.();
    this.unwatch = undefined;
  }

  async execute(request: CommandRequest): Promise<void> {
    throw new BlackstartError('UNSUPPORTED', `${this.name} only watches; it has no action "${request.action}"`);
  }
}
