/**
 * Planning time for a large lab: 1,000 hosts in 10 levels of 100, each host (but the last level's)
 * depending on 1–3 random hosts of the next level, seeded so every run plans the same graph.
 * Times the whole of planShutdown (validation, cycle check, layering, both schedules) and planRestore.
 */
import { performance } from 'node:perf_hooks';
import { planRestore, planShutdown, type PlanHost } from '../src/orchestrator/planner';
import { prng } from '../test/helpers/prng';
import { percentile } from './mqtt-latency';

export interface PlannerFigures {
  hosts: number;
  levels: number;
  edges: number;
  runs: number;
  waves: number;
  criticalPathMs: number;
  shutdownP50Ms: number;
  shutdownMaxMs: number;
  restoreP50Ms: number;
  restoreMaxMs: number;
}

export function layeredHosts(levels: number, perLevel: number, seed: number): PlanHost[] {
  const rnd = prng(seed);
  const id = (l: number, i: number): string => `l${l}-h${i}`;
  const hosts: PlanHost[] = [];
  for (let l = 0; l < levels; l++) {
    for (let i = 0; i < perLevel; i++) {
      const deps = new Set<string>();
      if (l < levels - 1) {
        const n = 1 + Math.floor(rnd() * 3);
        while (deps.size < n) deps.add(id(l + 1, Math.floor(rnd() * perLevel)));
      }
      hosts.push({ id: id(l, i), dependsOn: [...deps], shutdownTakesMs: 5_000 + Math.floor(rnd() * 115_000) });
    }
  }
  hosts.push({ id: 'controller', dependsOn: [], shutdownTakesMs: 30_000, controller: true });
  return hosts;
}

export function measurePlanner(runs = 20): PlannerFigures {
  const hosts = layeredHosts(10, 100, 42);
  const time = (fn: () => unknown): number[] => {
    for (let i = 0; i < 3; i++) fn(); // let the JIT settle before timing
    return Array.from({ length: runs }, () => {
      const t0 = performance.now();
      fn();
      return performance.now() - t0;
    });
  };
  const shutdown = time(() => planShutdown(hosts));
  const restore = time(() => planRestore(hosts));
  const plan = planShutdown(hosts);
  return {
    hosts: hosts.length,
    levels: 10,
    edges: hosts.reduce((n, h) => n + h.dependsOn.length, 0),
    runs,
    waves: plan.waves.length,
    criticalPathMs: plan.criticalPathMs,
    shutdownP50Ms: percentile(shutdown, 50),
    shutdownMaxMs: Math.max(...shutdown),
    restoreP50Ms: percentile(restore, 50),
    restoreMaxMs: Math.max(...restore),
  };
}

if (require.main === module) {
  console.log(JSON.stringify(measurePlanner(), null, 2));
}
