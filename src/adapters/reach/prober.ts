/**
 * Probes many hosts on one schedule: one timer per interval (not per host), all ICMP targets
 * of a sweep in one fping run, TCP and HTTP through a shared concurrency limit, and a
 * hysteresis per host so one lost packet does not flip its state.
 */
import { performance } from 'node:perf_hooks';
import type { Clock, TimerHandle } from '../../core/clock';
import { BlackstartError } from '../../core/errors';
import { probeHttp, type HttpProbeSpec } from './http';
import { Hysteresis } from './hysteresis';
import { IcmpProber } from './icmp';
import type { MethodOutcome } from './outcome';
import { probeTcp } from './tcp';

export interface ProbeSpec {
  /** Host name or address for TCP and ICMP (HTTP takes its host from the URL). */
  address?: string;
  tcp?: readonly number[];
  icmp?: boolean;
  http?: HttpProbeSpec;
  intervalMs: number;
  timeoutMs: number;
  failAfter: number;
  succeedAfter: number;
}

export interface ReachReport {
  reachable: boolean;
  /** Latency of the last successful probe while reachable; null while unreachable. */
  latencyMs: number | null;
  /** Failures of the latest probe, one per failing method; null when it succeeded. */
  lastError: string | null;
  /** This sweep's raw results (before hysteresis). */
  outcomes: MethodOutcome[];
}

export interface ProbeMethods {
  tcp(address: string, ports: readonly number[], timeoutMs: number): Promise<MethodOutcome>;
  http(spec: HttpProbeSpec, timeoutMs: number): Promise<MethodOutcome>;
  /** One call for all ICMP targets of a sweep. */
  icmp(addresses: readonly string[], timeoutMs: number): Promise<Map<string, MethodOutcome>>;
}

export interface ProberOptions {
  clock: Clock;
  /** Most TCP/HTTP probes in flight at once, across all hosts (default 64). */
  concurrency?: number;
  methods?: Partial<ProbeMethods>;
}

export interface SweepStats {
  intervalMs: number;
  hosts: number;
  /** Wall time of the sweep in ms (real time, whatever the clock). */
  tookMs: number;
}

interface Member {
  spec: ProbeSpec;
  onReport: (r: ReachReport) => void;
  hysteresis: Hysteresis;
  lastLatency: number | null;
  active: boolean;
}

interface Group {
  intervalMs: number;
  members: Set<Member>;
  timer: TimerHandle | undefined;
  running: boolean;
}

/** Where each method's latency ranks when a host has several: the lowest layer answers first. */
const LATENCY_ORDER: MethodOutcome['method'][] = ['icmp', 'tcp', 'http'];

export class Prober {
  private readonly clock: Clock;
  private readonly methods: ProbeMethods;
  private readonly limit: Limiter;
  private readonly groups = new Map<number, Group>();
  /** Sweeps skipped because the previous one of the same interval was still running. */
  overruns = 0;
  /** Called after every sweep; for benchmarks and debug logging. */
  onSweep: ((s: SweepStats) => void) | undefined;

  constructor(opts: ProberOptions) {
    this.clock = opts.clock;
    this.limit = new Limiter(opts.concurrency ?? 64);
    const icmp = new IcmpProber();
    this.methods = {
      tcp: (a, p, t) => probeTcp(a, p, t),
      http: (s, t) => probeHttp(s, t),
      icmp: (a, t) => icmp.sweep(a, t),
      ...opts.methods,
    };
  }

  /**
   * Starts probing a host; `onReport` gets every result after hysteresis. The first sweep of a
   * new interval runs at once; a host joining a running interval gets its first result at the
   * next tick. Returns the function that stops it.
   */
  watch(spec: ProbeSpec, onReport: (r: ReachReport) => void): () => void {
    if (!spec.address && (spec.tcp?.length || spec.icmp)) throw new BlackstartError('CONFIG', 'a tcp or icmp probe needs an address');
    const member: Member = { spec, onReport, hysteresis: new Hysteresis(spec.failAfter, spec.succeedAfter), lastLatency: null, active: true };
    let group = this.groups.get(spec.intervalMs);
    if (!group) {
      group = { intervalMs: spec.intervalMs, members: new Set(), timer: undefined, running: false };
      this.groups.set(spec.intervalMs, group);
      const g = group;
      // A zero delay lets every host added in the same turn (the hub starts all adapters together) share the first sweep.
      g.timer = this.clock.setTimeout(() => this.tick(g), 0);
    }
    group.members.add(member);
    return () => {
      member.active = false;
      const g = this.groups.get(spec.intervalMs);
      if (!g) return;
      g.members.delete(member);
      if (g.members.size === 0) {
        this.clock.clearTimeout(g.timer);
        this.groups.delete(spec.intervalMs);
      }
    };
  }

  /** Hosts being probed, for diagnostics. */
  get size(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.members.size;
    return n;
  }

  private tick(g: Group): void {
    if (this.groups.get(g.intervalMs) !== g) return;
    g.timer = this.clock.setTimeout(() => this.tick(g), g.intervalMs);
    if (g.running) {
      this.overruns++;
      return;
    }
    g.running = true;
    void this.sweep(g).finally(() => (g.running = false));
  }

  private async sweep(g: Group): Promise<void> {
    const started = performance.now();
    const members = [...g.members];
    const icmpByTimeout = new Map<number, string[]>();
    for (const m of members) {
      if (!m.spec.icmp || !m.spec.address) continue;
      const list = icmpByTimeout.get(m.spec.timeoutMs) ?? [];
      list.push(m.spec.address);
      icmpByTimeout.set(m.spec.timeoutMs, list);
    }
    const icmpResults = new Map<number, Promise<Map<string, MethodOutcome>>>();
    for (const [timeout, addresses] of icmpByTimeout) icmpResults.set(timeout, this.safeIcmp(addresses, timeout));

    await Promise.all(
      members.map(async (m) => {
        const { spec } = m;
        const jobs: Promise<MethodOutcome>[] = [];
        if (spec.icmp && spec.address) {
          const address = spec.address;
          jobs.push((icmpResults.get(spec.timeoutMs) as Promise<Map<string, MethodOutcome>>).then((r) => r.get(address) ?? lost('icmp', address)));
        }
        if (spec.tcp?.length && spec.address) {
          const [address, ports] = [spec.address, spec.tcp];
          jobs.push(this.limit.run(() => this.methods.tcp(address, ports, spec.timeoutMs)).catch((e: unknown) => crashed('tcp', address, e)));
        }
        if (spec.http) {
          const http = spec.http;
          jobs.push(this.limit.run(() => this.methods.http(http, spec.timeoutMs)).catch((e: unknown) => crashed('http', http.url, e)));
        }
        const outcomes = await Promise.all(jobs);
        if (m.active) this.report(m, outcomes);
      }),
    );
    this.onSweep?.({ intervalMs: g.intervalMs, hosts: members.length, tookMs: performance.now() - started });
  }

  private safeIcmp(addresses: string[], timeoutMs: number): Promise<Map<string, MethodOutcome>> {
    return this.methods.icmp(addresses, timeoutMs).catch((e: unknown) => new Map(addresses.map((a) => [a, crashed('icmp', a, e)])));
  }

  private report(m: Member, outcomes: MethodOutcome[]): void {
    const ok = outcomes.length > 0 && outcomes.every((o) => o.ok);
    const reachable = m.hysteresis.push(ok);
    if (ok) {
      const ranked = [...outcomes].sort((a, b) => LATENCY_ORDER.indexOf(a.method) - LATENCY_ORDER.indexOf(b.method));
      m.lastLatency = ranked.find((o) => o.latencyMs !== null)?.latencyMs ?? null;
    }
    if (!reachable) m.lastLatency = null;
    const errors = outcomes.filter((o) => !o.ok).map((o) => o.error ?? `${o.method} failed`);
    try {
      m.onReport({ reachable, latencyMs: m.lastLatency, lastError: errors.length ? errors.join('; ') : null, outcomes });
    } catch {
      // A failing listener must not stop the other hosts' reports; the hub logs its own failures.
    }
  }
}

function lost(method: MethodOutcome['method'], target: string): MethodOutcome {
  return { method, ok: false, latencyMs: null, error: `${method} ${target}: no result` };
}

function crashed(method: MethodOutcome['method'], target: string, err: unknown): MethodOutcome {
  return { method, ok: false, latencyMs: null, error: `${method} ${target}: ${err instanceof Error ? err.message : String(err)}` };
}

/** At most `max` tasks at once; the rest wait in order. */
class Limiter {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly max: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    // A finishing task hands its slot straight to the next waiter, so a newcomer cannot slip in between.
    if (this.active >= this.max) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    }
  }
}
