/**
 * From the UPS reading that fires the trigger (low battery) to the shutdown commands reaching the
 * host adapters, through the real Orchestrator on the system clock. 200 hosts in three levels:
 * 150 VMs (wave 0) on 40 hypervisors on 10 storage hosts. Every run builds a fresh hub,
 * orchestrator and journal, and runs the plan to its end so the order can be checked.
 * File and memory journal runs alternate, so drift in the machine's load hits both alike.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Hub } from '../src/core/hub';
import { silentLogger } from '../src/core/logger';
import { Journal, MemoryJournal, type OutageJournal } from '../src/orchestrator/journal';
import { Orchestrator } from '../src/orchestrator/orchestrator';
import { planShutdown, toPlanHost } from '../src/orchestrator/planner';
import { hostOutageSchema, outagePolicySchema, type HostOutagePolicy } from '../src/orchestrator/policy';
import { percentile } from './mqtt-latency';
import { TimedHost, type HostTimes } from './timed-host';

export type JournalKind = 'file' | 'memory';

export interface DispatchFigures {
  journal: JournalKind;
  runs: number;
  hosts: number;
  wave0: number;
  firstP50Ms: number;
  firstP99Ms: number;
  wave0P50Ms: number;
  wave0P99Ms: number;
  /** Until the last host reported down: includes three levels of `downAfterMs`. */
  allDownP50Ms: number;
}

const UPS = 'rack';
const DOWN_AFTER_MS = 20;

/** 150 → 40 → 10: each VM needs one hypervisor, each hypervisor one storage host. */
export function dispatchLab(): Record<string, HostOutagePolicy> {
  const hosts: Record<string, HostOutagePolicy> = {};
  const add = (id: string, deps: string[]): void => {
    hosts[id] = hostOutageSchema.parse({ depends_on: deps, shutdown_takes: '20s' });
  };
  for (let i = 0; i < 10; i++) add(`st-${i}`, []);
  for (let i = 0; i < 40; i++) add(`hv-${i}`, [`st-${i % 10}`]);
  for (let i = 0; i < 150; i++) add(`vm-${i}`, [`hv-${i % 40}`]);
  return hosts;
}

interface Run {
  firstMs: number;
  wave0Ms: number;
  allDownMs: number;
}

async function once(kind: JournalKind, hosts: Record<string, HostOutagePolicy>, wave0: ReadonlySet<string>): Promise<Run> {
  const hub = new Hub({ log: silentLogger() });
  hub.addUps(UPS);
  const times = new Map<string, HostTimes>();
  let wave0Left = wave0.size;
  let wave0Done!: () => void;
  const wave0Sent = new Promise<void>((resolve) => (wave0Done = resolve));
  for (const id of Object.keys(hosts)) {
    const t: HostTimes = {};
    times.set(id, t);
    hub.addHost(id);
    hub.attach(new TimedHost(id, t, DOWN_AFTER_MS, () => wave0.has(id) && --wave0Left === 0 && wave0Done()));
  }
  await hub.start();
  hub.updateUps(UPS, { status: 'online', chargePct: 100, runtimeS: 3600, source: 'bench' });

  const dir = kind === 'file' ? mkdtempSync(join(tmpdir(), 'bs-bench-journal-')) : null;
  const journal: OutageJournal = dir ? await Journal.open(join(dir, 'journal.jsonl')) : new MemoryJournal();
  const orchestrator = new Orchestrator({ hub, policy: outagePolicySchema.parse({ trigger: { low_battery: true } }), hosts, ups: UPS, journal });
  try {
    await orchestrator.start();
    await new Promise((r) => setTimeout(r, 10)); // the start's own evaluation is over
    const finished = new Promise<number>((resolve) => hub.on('event', (e) => e.type === 'shutdown_finished' && resolve(performance.now())));

    const t0 = performance.now();
    hub.updateUps(UPS, { status: 'low_battery', chargePct: 18, runtimeS: 600 });
    await wave0Sent;
    const allDown = await finished;

    checkOrder(hosts, times);
    const sent = [...times.values()].map((t) => t.commanded as number);
    const sentWave0 = [...wave0].map((id) => times.get(id)?.commanded as number);
    return { firstMs: Math.min(...sent) - t0, wave0Ms: Math.max(...sentWave0) - t0, allDownMs: allDown - t0 };
  } finally {
    await orchestrator.stop();
    await journal.close();
    await hub.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** Every host got its command, and none before every host that needs it had reported down. */
function checkOrder(hosts: Record<string, HostOutagePolicy>, times: ReadonlyMap<string, HostTimes>): void {
  for (const [id, h] of Object.entries(hosts)) {
    const sent = times.get(id)?.commanded;
    if (sent === undefined) throw new Error(`bench: ${id} never received its shutdown`);
    for (const dep of h.dependsOn) {
      const depSent = times.get(dep)?.commanded as number;
      const down = times.get(id)?.down;
      if (down === undefined || depSent < down) throw new Error(`bench: ${dep} was commanded before ${id}, which needs it, was down`);
    }
  }
}

export async function measureDispatch(runs = 40, warmup = 3): Promise<DispatchFigures[]> {
  const hosts = dispatchLab();
  const plan = planShutdown(Object.entries(hosts).map(([id, h]) => toPlanHost(id, h)));
  const wave0 = new Set(plan.waves[0]);
  const kinds: JournalKind[] = ['file', 'memory'];
  const results = new Map<JournalKind, Run[]>(kinds.map((k) => [k, []]));
  for (let i = 0; i < warmup + runs; i++) {
    for (const kind of kinds) {
      const r = await once(kind, hosts, wave0);
      if (i >= warmup) results.get(kind)?.push(r);
    }
  }
  return kinds.map((journal) => {
    const rs = results.get(journal) as Run[];
    const of = (f: (r: Run) => number, p: number): number => percentile(rs.map(f), p);
    return {
      journal,
      runs,
      hosts: Object.keys(hosts).length,
      wave0: wave0.size,
      firstP50Ms: of((r) => r.firstMs, 50),
      firstP99Ms: of((r) => r.firstMs, 99),
      wave0P50Ms: of((r) => r.wave0Ms, 50),
      wave0P99Ms: of((r) => r.wave0Ms, 99),
      allDownP50Ms: of((r) => r.allDownMs, 50),
    };
  });
}

if (require.main === module) {
  const t = performance.now();
  void measureDispatch().then((f) => console.log(JSON.stringify({ figures: f, tookS: (performance.now() - t) / 1000 }, null, 2)));
}
