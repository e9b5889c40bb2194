import { Hysteresis } from '../../../src/adapters/reach/hysteresis';
import type { MethodOutcome } from '../../../src/adapters/reach/outcome';
import { Prober, type ProbeSpec, type ReachReport } from '../../../src/adapters/reach/prober';
import { FakeClock } from '../../../src/core/clock';
import { prng } from '../../helpers/prng';

/** What the state must be after a sequence, worked out step by step from the rule itself. */
function expected(seq: boolean[], failAfter: number, succeedAfter: number): boolean[] {
  const out: boolean[] = [];
  let state: boolean | null = null;
  let opposite = 0;
  for (const ok of seq) {
    if (state === null) state = ok;
    else if (ok === state) opposite = 0;
    else if (++opposite === (ok ? succeedAfter : failAfter)) {
      state = ok;
      opposite = 0;
    }
    out.push(state);
  }
  return out;
}

describe('Hysteresis', () => {
  it('takes the first result at once, either way', () => {
    expect(new Hysteresis(3, 2).push(false)).toBe(false);
    expect(new Hysteresis(3, 2).push(true)).toBe(true);
  });

  it('needs fail_after failures in a row to go down and succeed_after successes to come back', () => {
    const h = new Hysteresis(3, 2);
    const seq = [true, false, false, true, false, false, false, true, false, true, true];
    expect(seq.map((ok) => h.push(ok))).toEqual([true, true, true, true, true, true, false, false, false, false, true]);
  });

  it('never flips on a flapping link shorter than the counts', () => {
    const h = new Hysteresis(3, 3);
    h.push(true);
    for (let i = 0; i < 50; i++) {
      expect(h.push(false)).toBe(true);
      expect(h.push(false)).toBe(true);
      expect(h.push(true)).toBe(true);
    }
  });

  it('follows the rule on random sequences', () => {
    const rand = prng(42);
    for (let round = 0; round < 100; round++) {
      const failAfter = 1 + Math.floor(rand() * 4);
      const succeedAfter = 1 + Math.floor(rand() * 4);
      const seq = Array.from({ length: 40 }, () => rand() < 0.6);
      const h = new Hysteresis(failAfter, succeedAfter);
      expect(seq.map((ok) => h.push(ok))).toEqual(expected(seq, failAfter, succeedAfter));
    }
  });
});

/** Scripted probe methods: each call takes the next answer for that address. */
function scripted(answers: Record<string, boolean[]>) {
  const calls: { method: string; targets: string[]; at: number }[] = [];
  const next = (target: string): boolean => answers[target]?.shift() ?? false;
  const outcome = (method: MethodOutcome['method'], target: string): MethodOutcome => {
    const ok = next(target);
    return { method, ok, latencyMs: ok ? 1.5 : null, error: ok ? null : `${method} ${target}: scripted failure` };
  };
  return {
    calls,
    methods: (clock: FakeClock) => ({
      tcp: async (address: string) => {
        calls.push({ method: 'tcp', targets: [address], at: clock.now() });
        return outcome('tcp', address);
      },
      http: async (spec: { url: string }) => {
        calls.push({ method: 'http', targets: [spec.url], at: clock.now() });
        return outcome('http', spec.url);
      },
      icmp: async (addresses: readonly string[]) => {
        calls.push({ method: 'icmp', targets: [...addresses], at: clock.now() });
        return new Map(addresses.map((a) => [a, outcome('icmp', a)]));
      },
    }),
  };
}

const base: Omit<ProbeSpec, 'address'> = { intervalMs: 1000, timeoutMs: 500, failAfter: 3, succeedAfter: 2 };

describe('Prober with a fake clock', () => {
  it('reports the first result at once, then holds state until the counts are reached', async () => {
    const clock = new FakeClock();
    const s = scripted({ a: [true, false, false, true, false, false, false, true, true] });
    const prober = new Prober({ clock, methods: s.methods(clock) });
    const reports: ReachReport[] = [];
    const stop = prober.watch({ ...base, address: 'a', tcp: [22] }, (r) => reports.push(r));
    await clock.advance(0);
    expect(reports.map((r) => r.reachable)).toEqual([true]);
    await clock.advance(8000);
    expect(reports.map((r) => r.reachable)).toEqual([true, true, true, true, true, true, false, false, true]);
    expect(reports[1]).toMatchObject({ reachable: true, latencyMs: 1.5, lastError: 'tcp a: scripted failure' });
    expect(reports[6]).toMatchObject({ reachable: false, latencyMs: null });
    expect(reports[8]).toMatchObject({ reachable: true, latencyMs: 1.5, lastError: null });
    stop();
    expect(clock.pending).toBe(0);
  });

  it('uses one timer per interval and one ICMP call per sweep for all its hosts', async () => {
    const clock = new FakeClock();
    const s = scripted({});
    const prober = new Prober({ clock, methods: s.methods(clock) });
    const stops = ['h1', 'h2', 'h3'].map((a) => prober.watch({ ...base, address: a, icmp: true }, () => undefined));
    stops.push(prober.watch({ ...base, intervalMs: 5000, address: 'h4', icmp: true }, () => undefined));
    expect(clock.pending).toBe(2);
    await clock.advance(3000);
    const icmp = s.calls.filter((c) => c.method === 'icmp');
    const fast = icmp.filter((c) => c.targets.includes('h1'));
    expect(fast).toHaveLength(4);
    for (const c of fast) expect(c.targets).toEqual(['h1', 'h2', 'h3']);
    expect(icmp.filter((c) => c.targets.includes('h4'))).toHaveLength(1);
    expect(clock.pending).toBe(2);
    stops.forEach((f) => f());
    expect(clock.pending).toBe(0);
  });

  it('needs every configured method to answer, and names each that did not', async () => {
    const clock = new FakeClock();
    const s = scripted({ h: [true, true], 'http://h/': [false, true] });
    const prober = new Prober({ clock, methods: s.methods(clock) });
    const reports: ReachReport[] = [];
    prober.watch(
      { ...base, failAfter: 1, address: 'h', icmp: true, http: { url: 'http://h/', method: 'GET', expectStatus: [[200, 399]], insecure: false } },
      (r) => reports.push(r),
    );
    await clock.advance(1000);
    expect(reports[0]).toMatchObject({ reachable: false, lastError: 'http http://h/: scripted failure' });
    expect(reports[1]).toMatchObject({ reachable: false, lastError: null });
  });

  it('never runs more TCP probes at once than its limit, and skips a tick while a sweep runs', async () => {
    const clock = new FakeClock();
    let inFlight = 0;
    let most = 0;
    const release: (() => void)[] = [];
    const prober = new Prober({
      clock,
      concurrency: 3,
      methods: {
        tcp: async (address) => {
          inFlight++;
          most = Math.max(most, inFlight);
          await new Promise<void>((resolve) => release.push(resolve));
          inFlight--;
          return { method: 'tcp', ok: true, latencyMs: 1, error: null, address } as never;
        },
      },
    });
    const got: string[] = [];
    for (let i = 0; i < 10; i++) prober.watch({ ...base, address: `h${i}`, tcp: [1] }, () => got.push(`h${i}`));
    await clock.advance(0);
    expect(inFlight).toBe(3);
    await clock.advance(2500);
    expect(prober.overruns).toBe(2);
    while (got.length < 10) {
      release.shift()?.();
      await clock.advance(0);
    }
    expect(most).toBe(3);
  });

  it('turns a method that throws into a failed result instead of losing the host', async () => {
    const clock = new FakeClock();
    const prober = new Prober({ clock, methods: { icmp: () => Promise.reject(new Error('boom')) } });
    const reports: ReachReport[] = [];
    prober.watch({ ...base, address: 'h', icmp: true }, (r) => reports.push(r));
    await clock.advance(0);
    expect(reports[0]).toMatchObject({ reachable: false, lastError: 'icmp h: boom' });
  });
});
