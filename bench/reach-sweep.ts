/**
 * Reachability at scale: 1,000 hosts probed by TCP every 2 s for about 20 s. Each host is its own
 * loopback address (127.0.1.1 … 127.0.4.232, all on lo under Linux) with a listener on one port,
 * opened by a child process so that accepting does not count against the prober's CPU.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Prober } from '../src/adapters/reach/prober';
import { systemClock } from '../src/core/clock';
import { freePort } from '../test/helpers/ports';
import { percentile } from './mqtt-latency';

export interface ReachSweepFigures {
  hosts: number;
  intervalMs: number;
  concurrency: number;
  sweeps: number;
  sweepP50Ms: number;
  sweepMaxMs: number;
  overruns: number;
  /** Reports with reachable=false (every listener stays up, so any is a false alarm). */
  unreachableReports: number;
  cpuPct: number;
  rssMaxMb: number;
}

const LISTENERS = `
const net = require('node:net');
const [port, n] = process.argv.slice(1).map(Number);
let ready = 0;
for (let i = 0; i < n; i++) {
  const s = net.createServer((c) => { c.on('error', () => {}); c.destroy(); });
  s.listen(port, '127.0.' + (1 + Math.floor(i / 250)) + '.' + (1 + (i % 250)), () => { if (++ready === n) console.log('ready'); });
}`;

export const addressOf = (i: number): string => `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;

async function startListeners(port: number, n: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', LISTENERS, String(port), String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`listener process exited ${code}`)));
  });
  return child;
}

export async function measureReachSweep(opts: { hosts?: number; intervalMs?: number; durationMs?: number; concurrency?: number } = {}): Promise<ReachSweepFigures> {
  const hosts = opts.hosts ?? 1000;
  const intervalMs = opts.intervalMs ?? 2000;
  const durationMs = opts.durationMs ?? 20_000;
  const concurrency = opts.concurrency ?? 64;
  const port = await freePort();
  const child = await startListeners(port, hosts);
  const prober = new Prober({ clock: systemClock, concurrency });
  const sweeps: number[] = [];
  prober.onSweep = (s) => sweeps.push(s.tookMs);
  let unreachableReports = 0;
  let rssMax = 0;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 250);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const stops = Array.from({ length: hosts }, (_, i) =>
    prober.watch({ address: addressOf(i), tcp: [port], intervalMs, timeoutMs: 1000, failAfter: 3, succeedAfter: 1 }, (r) => {
      if (!r.reachable) unreachableReports++;
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, durationMs));
  stops.forEach((stop) => stop());
  // Let the sweep in flight finish so its CPU is counted.
  await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, 2000)));
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  child.kill();
  return {
    hosts,
    intervalMs,
    concurrency,
    sweeps: sweeps.length,
    sweepP50Ms: Math.round(percentile(sweeps, 50)),
    sweepMaxMs: Math.round(Math.max(...sweeps)),
    overruns: prober.overruns,
    unreachableReports,
    cpuPct: Math.round(((cpu.user + cpu.system) / 1000 / wall) * 1000) / 10,
    rssMaxMb: Math.round(rssMax / 1048576),
  };
}

if (require.main === module) {
  measureReachSweep().then(
    (f) => console.log(JSON.stringify(f, null, 2)),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
