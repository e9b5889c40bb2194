import { BlackstartError } from '../../../src/core/errors';
import type { UpsState } from '../../../src/core/state';
import { hostOutageSchema, outagePolicySchema } from '../../../src/orchestrator/policy';
import { budgetWarning, fitBudget, planRestore, planShutdown, shouldStart, toPlanHost, toPlanSteps, validatePlanHosts, type PlanHost, type ShutdownPlan } from '../../../src/orchestrator/planner';
import { prng } from '../../helpers/prng';

const S = 1000;
const host = (id: string, dependsOn: string[], takesS: number, extra: Partial<PlanHost> = {}): PlanHost => ({ id, dependsOn, shutdownTakesMs: takesS * S, ...extra });
const stepOf = (plan: ShutdownPlan, id: string) => plan.steps.find((s) => s.host === id);

/**
 * A diamond with a side branch. app needs db and cache, both need storage; batch needs only db.
 *   app 10s → db 30s, cache 50s → storage 20s;  batch 45s → db
 * Hand-computed: app 0–10, batch 0–45, cache 10–60, db max(10,45)=45–75, storage max(75,60)=75–95.
 */
const diamond = (): PlanHost[] => [
  host('app', ['db', 'cache'], 10),
  host('db', ['storage'], 30),
  host('cache', ['storage'], 50),
  host('storage', [], 20),
  host('batch', ['db'], 45),
];

describe('planShutdown', () => {
  it('puts dependents in earlier waves than what they depend on, in parallel where it can', () => {
    expect(planShutdown(diamond()).waves).toEqual([['app', 'batch'], ['db', 'cache'], ['storage']]);
  });

  it('schedules by critical path, not wave barriers, and finds the critical path on a diamond', () => {
    const plan = planShutdown(diamond());
    const times = Object.fromEntries(plan.steps.map((s) => [s.host, [s.startMs / S, s.expectedDoneMs / S]]));
    expect(times).toEqual({ app: [0, 10], batch: [0, 45], cache: [10, 60], db: [45, 75], storage: [75, 95] });
    expect(plan.criticalPathMs).toBe(95 * S);
    expect(plan.criticalPath).toEqual(['batch', 'db', 'storage']);
    expect(plan.steps.map((s) => s.host)).toEqual(['app', 'batch', 'cache', 'db', 'storage']);
  });

  it('moves the critical path when a duration changes', () => {
    const hosts = diamond().map((h) => (h.id === 'cache' ? { ...h, shutdownTakesMs: 80 * S } : h));
    const plan = planShutdown(hosts);
    // cache 10–90 now outlasts db 45–75: storage 90–110.
    expect(plan.criticalPath).toEqual(['app', 'cache', 'storage']);
    expect(plan.criticalPathMs).toBe(110 * S);
  });

  it('derives escalation deadlines and a worst case from them', () => {
    const plan = planShutdown([host('vm', ['pve'], 10, { escalateAfterMs: 25 * S }), host('pve', [], 20)]);
    expect(stepOf(plan, 'vm')).toEqual({ host: 'vm', wave: 0, startMs: 0, expectedDoneMs: 10 * S, escalateAtMs: 25 * S });
    // pve: 2 × 20s + 30s.
    expect(stepOf(plan, 'pve')).toEqual({ host: 'pve', wave: 1, startMs: 10 * S, expectedDoneMs: 30 * S, escalateAtMs: 80 * S });
    expect(plan.worstCaseMs).toBe((25 + 70) * S);
  });

  it('puts the controller alone and last even with no dependencies', () => {
    const plan = planShutdown([host('ctl', [], 15, { controller: true }), host('a', [], 10), host('b', ['a'], 30)]);
    expect(plan.waves).toEqual([['b'], ['a'], ['ctl']]);
    expect(stepOf(plan, 'ctl')?.startMs).toBe(40 * S);
    expect(plan.criticalPath).toEqual(['b', 'a', 'ctl']);
    expect(plan.criticalPathMs).toBe(55 * S);
  });

  it('keeps the controller last when others depend on it', () => {
    const plan = planShutdown([host('vm', ['ctl'], 10), host('ctl', [], 5, { controller: true }), host('nas', [], 60)]);
    expect(plan.waves).toEqual([['vm', 'nas'], ['ctl']]);
    expect(stepOf(plan, 'ctl')?.startMs).toBe(60 * S);
  });

  it('plans the controller alone when it is the only host', () => {
    const plan = planShutdown([host('ctl', [], 5, { controller: true })]);
    expect(plan).toMatchObject({ waves: [['ctl']], criticalPath: ['ctl'], criticalPathMs: 5 * S });
  });

  it('refuses two controllers, and a controller that needs a host that would go down before it', () => {
    expect(() => planShutdown([host('a', [], 1, { controller: true }), host('b', [], 1, { controller: true })])).toThrow(
      'only one host can be the controller; "a", "b" all say controller: true',
    );
    expect(() => planShutdown([host('ctl', ['nas'], 1, { controller: true }), host('nas', [], 1)])).toThrow(/host "ctl" is the controller.*depends_on "nas"/);
    expect(planShutdown([host('ctl', ['router'], 1, { controller: true }), host('router', [], 1, { leaveRunning: true })]).waves).toEqual([['ctl']]);
  });

  it('leaves leave_running hosts out but keeps the order that passes through them', () => {
    const plan = planShutdown([host('app', ['mid'], 10), host('mid', ['db'], 99, { leaveRunning: true }), host('db', [], 20), host('router', [], 5, { leaveRunning: true })]);
    expect(plan.waves).toEqual([['app'], ['db']]);
    expect(plan.steps.map((s) => s.host)).toEqual(['app', 'db']);
    expect(stepOf(plan, 'db')).toMatchObject({ wave: 1, startMs: 10 * S });
    expect(plan.criticalPath).toEqual(['app', 'db']);
    expect(plan.criticalPathMs).toBe(30 * S);
  });

  it('validates without planning, for blackstart check', () => {
    expect(() => validatePlanHosts(diamond())).not.toThrow();
    expect(() => validatePlanHosts([host('a', ['a'], 1)])).toThrow('a → a');
    expect(() => validatePlanHosts([host('c', ['n'], 1, { controller: true }), host('n', [], 1)])).toThrow(/controller/);
  });

  it('plans nothing for no hosts', () => {
    expect(planShutdown([])).toEqual({ waves: [], steps: [], criticalPathMs: 0, criticalPath: [], worstCaseMs: 0 });
  });

  it('refuses cycles and unknown references as config errors naming them', () => {
    const err = (fn: () => unknown): BlackstartError => {
      try {
        fn();
      } catch (e) {
        return e as BlackstartError;
      }
      throw new Error('expected an error');
    };
    const cyc = err(() => planShutdown([host('a', ['b'], 1), host('b', ['c'], 1), host('c', ['a'], 1)]));
    expect(cyc).toBeInstanceOf(BlackstartError);
    expect(cyc.code).toBe('CONFIG');
    expect(cyc.message).toContain('a → b → c → a');
    expect(err(() => planShutdown([host('a', ['nope'], 1)])).message).toBe('host "a": depends_on names "nope", which is not a host');
  });

  it('builds plan hosts from config and learned durations, and hub plan steps from a plan', () => {
    const h = toPlanHost('vm', hostOutageSchema.parse({ depends_on: ['pve'] }), 20 * S);
    expect(h).toEqual({ id: 'vm', dependsOn: ['pve'], shutdownTakesMs: 20 * S, escalateAfterMs: 70 * S, controller: false, leaveRunning: false });
    const plan = planShutdown([h, toPlanHost('pve', hostOutageSchema.parse({ shutdown_takes: '1m' }))]);
    expect(toPlanSteps(plan, 1_000_000)).toEqual([
      { host: 'vm', action: 'shutdown', stage: 'shutdown', wave: 0, deadline: 1_000_000 + 70 * S, state: 'pending', started: null, finished: null, error: null },
      { host: 'pve', action: 'shutdown', stage: 'shutdown', wave: 1, deadline: 1_000_000 + 20 * S + 150 * S, state: 'pending', started: null, finished: null, error: null },
    ]);
  });
});

describe('fitBudget', () => {
  const plan = { criticalPathMs: 95 * S };
  it('fits with slack to spare, and says how long starting may wait', () => {
    expect(fitBudget(plan, { runtimeS: 300, reserveMs: 120 * S })).toEqual({ fits: true, slackMs: 85 * S, startBy: 85 * S });
  });
  it('fits exactly when plan and reserve use up the runtime', () => {
    expect(fitBudget(plan, { runtimeS: 215, reserveMs: 120 * S })).toEqual({ fits: true, slackMs: 0, startBy: 0 });
  });
  it('is over budget when the reserve would be eaten into: start now', () => {
    expect(fitBudget(plan, { runtimeS: 200, reserveMs: 120 * S })).toEqual({ fits: false, slackMs: -15 * S, startBy: 0 });
    expect(fitBudget(plan, { runtimeS: 200, reserveMs: 0 }).fits).toBe(true);
  });
  it('words the check-time warning with the critical path, and says nothing when the plan fits', () => {
    const full = planShutdown(diamond());
    const policy = outagePolicySchema.parse({ reserve: '2m' });
    expect(budgetWarning(full, 215, policy)).toBeNull();
    expect(budgetWarning(full, 200, policy)).toBe(
      'the shutdown plan needs 1m35s (batch → db → storage) plus 2m reserve, but the UPS has 3m20s of runtime: 15s over budget, so the shutdown starts as soon as mains fails',
    );
  });
  it('does not promise an early start to a policy without the plan trigger', () => {
    const full = planShutdown(diamond());
    const policy = outagePolicySchema.parse({ reserve: '2m', trigger: { low_battery: true } });
    expect(budgetWarning(full, 200, policy)).toBe(
      'the shutdown plan needs 1m35s (batch → db → storage) plus 2m reserve, but the UPS has 3m20s of runtime: 15s over budget, ' +
        'and without trigger.plan the shutdown waits for the other triggers: set outage.trigger.plan: true to start it as soon as mains fails',
    );
  });
});

describe('shouldStart', () => {
  const plan = { criticalPathMs: 95 * S };
  const ups = (over: Partial<UpsState>): Pick<UpsState, 'status' | 'chargePct' | 'runtimeS'> => ({ status: 'on_battery', chargePct: 90, runtimeS: 3600, ...over });
  const policy = (trigger: object) => outagePolicySchema.parse({ trigger });
  const defaults = outagePolicySchema.parse({});

  it('never fires on mains', () => {
    const all = policy({ on_battery_after: '1s', charge_below: 100, runtime_below: '10h', low_battery: true, plan: true });
    expect(shouldStart(plan, ups({ status: 'online', chargePct: 1, runtimeS: 1 }), all, 600 * S)).toBeNull();
    expect(shouldStart(plan, ups({ status: 'comm_lost', chargePct: 1, runtimeS: 1 }), all, 600 * S)).toBeNull();
  });

  it('low_battery', () => {
    expect(shouldStart(plan, ups({ status: 'low_battery' }), defaults, 0)?.trigger).toBe('low_battery');
    expect(shouldStart(plan, ups({}), defaults, 0)).toBeNull();
    expect(shouldStart(plan, ups({ status: 'low_battery' }), policy({ charge_below: 10 }), 0)).toBeNull();
  });

  it('charge_below', () => {
    const p = policy({ charge_below: 50 });
    expect(shouldStart(plan, ups({ chargePct: 49 }), p, 0)).toEqual({ trigger: 'charge_below', reason: 'charge 49% is below 50%' });
    expect(shouldStart(plan, ups({ chargePct: 50 }), p, 0)).toBeNull();
    expect(shouldStart(plan, ups({ chargePct: null }), p, 0)).toBeNull();
  });

  it('runtime_below', () => {
    const p = policy({ runtime_below: '10m' });
    expect(shouldStart(plan, ups({ runtimeS: 599 }), p, 0)).toEqual({ trigger: 'runtime_below', reason: 'runtime 9m59s is below 10m' });
    expect(shouldStart(plan, ups({ runtimeS: 600 }), p, 0)).toBeNull();
    expect(shouldStart(plan, ups({ runtimeS: null }), p, 0)).toBeNull();
  });

  it('on_battery_after', () => {
    const p = policy({ on_battery_after: '30s' });
    expect(shouldStart(plan, ups({}), p, 30 * S)).toEqual({ trigger: 'on_battery_after', reason: 'on battery for 30s' });
    expect(shouldStart(plan, ups({}), p, 30 * S - 1)).toBeNull();
  });

  it('plan: fires once the critical path plus the reserve reaches the runtime left', () => {
    // 95s of plan + 120s of reserve = 215s.
    expect(shouldStart(plan, ups({ runtimeS: 215 }), defaults, 0)).toEqual({ trigger: 'plan', reason: 'the plan needs 1m35s plus 2m reserve; 3m35s of runtime left' });
    expect(shouldStart(plan, ups({ runtimeS: 216 }), defaults, 0)).toBeNull();
    expect(shouldStart(plan, ups({ runtimeS: null }), defaults, 0)).toBeNull();
    expect(shouldStart(plan, ups({ runtimeS: 100 }), policy({ low_battery: true }), 0)).toBeNull();
  });

  it('reports the most urgent trigger when several fire', () => {
    const p = policy({ on_battery_after: '1s', charge_below: 50, low_battery: true });
    expect(shouldStart(plan, ups({ status: 'low_battery', chargePct: 10 }), p, 60 * S)?.trigger).toBe('low_battery');
    expect(shouldStart(plan, ups({ chargePct: 10 }), p, 60 * S)?.trigger).toBe('charge_below');
  });
});

describe('planRestore', () => {
  it('starts what others depend on first: the reverse of the shutdown order', () => {
    expect(planRestore(diamond()).waves).toEqual([['storage'], ['db', 'cache'], ['app', 'batch']]);
  });

  it('plans only the hosts passed in and does not wait for the others', () => {
    // db was off before the outage: app and batch wait for nothing of it.
    const hosts = diamond().filter((h) => h.id !== 'db');
    expect(planRestore(hosts).waves).toEqual([['storage', 'batch'], ['cache'], ['app']]);
  });

  it('refuses a cycle among the hosts passed in', () => {
    expect(() => planRestore([host('a', ['b'], 1), host('b', ['a'], 1)])).toThrow('a → b → a');
  });
});

describe('random DAGs (seeded)', () => {
  /** Host i may only depend on hosts with a higher index, so the graph is acyclic by construction. */
  function randomHosts(seed: number): PlanHost[] {
    const rnd = prng(seed);
    const n = 1 + Math.floor(rnd() * 30);
    const ids = Array.from({ length: n }, (_, i) => `h${i}`).sort(() => rnd() - 0.5);
    const hosts = ids.map((id, i) => {
      const deps = ids.slice(i + 1).filter(() => rnd() < 0.15);
      return host(id, deps, 1 + Math.floor(rnd() * 120), { leaveRunning: rnd() < 0.1 });
    });
    if (rnd() < 0.5) {
      hosts.push(host('ctl', [], 1 + Math.floor(rnd() * 30), { controller: true }));
      for (const h of hosts) if (h.id !== 'ctl' && rnd() < 0.1) h.dependsOn = [...h.dependsOn, 'ctl'];
    }
    return hosts;
  }

  function reachable(hosts: PlanHost[]): Map<string, Set<string>> {
    const byId = new Map(hosts.map((h) => [h.id, h]));
    const out = new Map<string, Set<string>>();
    for (const h of hosts) {
      const seen = new Set<string>();
      const stack = [...h.dependsOn];
      while (stack.length > 0) {
        const d = stack.pop() as string;
        if (seen.has(d)) continue;
        seen.add(d);
        stack.push(...(byId.get(d)?.dependsOn ?? []));
      }
      out.set(h.id, seen);
    }
    return out;
  }

  it('never starts a host before everything that needs it is expected down (200 seeds)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const hosts = randomHosts(seed);
      const plan = planShutdown(hosts);
      const step = new Map(plan.steps.map((s) => [s.host, s]));
      const ctx = `seed ${seed}`;
      const shut = hosts.filter((h) => !h.leaveRunning);
      expect([ctx, plan.steps.length]).toEqual([ctx, shut.length]);
      // Directly and through hosts left running: A depends_on … B ⇒ A done ≤ B start, A's wave < B's.
      for (const [a, needs] of reachable(hosts)) {
        for (const b of needs) {
          const sa = step.get(a);
          const sb = step.get(b);
          if (!sa || !sb || b === 'ctl') continue;
          expect([ctx, a, b, sa.expectedDoneMs <= sb.startMs, sa.wave < sb.wave]).toEqual([ctx, a, b, true, true]);
        }
      }
      const ctl = step.get('ctl');
      if (ctl) {
        expect([ctx, plan.waves.at(-1)]).toEqual([ctx, ['ctl']]);
        for (const s of plan.steps) if (s !== ctl) expect([ctx, s.expectedDoneMs <= ctl.startMs]).toEqual([ctx, true]);
      }
      expect([ctx, plan.criticalPathMs]).toEqual([ctx, Math.max(0, ...plan.steps.map((s) => s.expectedDoneMs))]);
      // The critical path is a gapless chain ending at the end of the plan.
      const cp = plan.criticalPath.map((id) => step.get(id) as (typeof plan.steps)[number]);
      if (cp.length > 0) expect([ctx, (cp.at(-1) as (typeof cp)[number]).expectedDoneMs]).toEqual([ctx, plan.criticalPathMs]);
      for (let i = 1; i < cp.length; i++) {
        expect([ctx, (cp[i] as (typeof cp)[number]).startMs]).toEqual([ctx, (cp[i - 1] as (typeof cp)[number]).expectedDoneMs]);
      }
      // Restore: whatever a host needs comes up in an earlier wave.
      const restoreWave = new Map(planRestore(hosts).waves.flatMap((w, i) => w.map((id) => [id, i] as const)));
      for (const h of hosts) {
        for (const d of h.dependsOn) expect([ctx, h.id, d, (restoreWave.get(d) as number) < (restoreWave.get(h.id) as number)]).toEqual([ctx, h.id, d, true]);
      }
    }
  });
});
