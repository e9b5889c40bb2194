/**
 * APC smart serial: time from a change at the UPS to the hub's state, when the UPS sends its alert
 * character (`!`/`$`, poll every 10 s) and when it does not (the change waits for the next poll, at
 * 1 s and 250 ms). Our source under PolledUps + Hub, the Smart-UPS emulator on a socat pty.
 * Standalone: `node <outdir>/bench/apc-smart-alert.js [trials]`; rows match ups-latency's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { apcSmartSchema, createApcSmartSource } from '../src/adapters/ups/apc-smart';
import { PolledUps } from '../src/adapters/ups/polled';
import { systemClock } from '../src/core/clock';
import { Hub } from '../src/core/hub';
import { silentLogger } from '../src/core/logger';
import { ApcEmulator } from '../test/helpers/apc-emulator';
import { haveSocat, openPtyPair } from '../test/helpers/pty-pair';
import { percentile } from './mqtt-latency';

export interface ApcSmartRow {
  source: string;
  how: string;
  n: number;
  p50: number;
  max: number;
}

async function run(trials: number, pollInterval: string, alerts: boolean): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bs-apcbench-'));
  const pty = await openPtyPair(dir);
  const ups = await ApcEmulator.open(pty.b, {}, { autoAlerts: alerts });
  const cfg = apcSmartSchema.parse({ device: pty.a, poll_interval: pollInterval, dead_time: '60s', on_battery_delay: '0s' });
  const hub = new Hub({ clock: systemClock, log: silentLogger() });
  hub.addUps('bench');
  hub.attach(new PolledUps('bench', createApcSmartSource(cfg, { clock: systemClock, log: silentLogger() }), { ...cfg, impl: 'apc-smart' }));
  let waiter: { status: string; resolve: (t: number) => void } | undefined;
  hub.on('ups', (_id, s) => {
    if (waiter && s.status === waiter.status) {
      waiter.resolve(performance.now());
      waiter = undefined;
    }
  });
  const next = (status: string): Promise<number> => new Promise((resolve) => (waiter = { status, resolve }));
  const out: number[] = [];
  try {
    const first = next('online');
    await hub.start();
    await first;
    for (let i = 0; i < trials; i++) {
      const onBattery = i % 2 === 0;
      // Changes land at a random point of the poll cycle, as real outages do.
      await new Promise((r) => setTimeout(r, 200 + Math.random() * 1000));
      const seen = next(onBattery ? 'on_battery' : 'online');
      const t0 = performance.now();
      ups.set({ onBattery });
      out.push((await seen) - t0);
    }
  } finally {
    await hub.stop();
    await ups.close();
    await pty.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

export async function measureApcSmart(trials: number): Promise<ApcSmartRow[]> {
  const source = 'APC smart serial (emulator, socat pty)';
  if (!haveSocat()) return [{ source, how: 'skipped: socat not installed', n: 0, p50: NaN, max: NaN }];
  const row = (how: string, xs: number[]): ApcSmartRow => ({ source, how, n: xs.length, p50: percentile(xs, 50), max: Math.max(...xs) });
  return [
    row('blackstart, alert char (! / $), poll 10s', await run(trials, '10s', true)),
    row('blackstart, no alert, poll 1s', await run(trials, '1s', false)),
    row('blackstart, no alert, poll 250ms', await run(trials, '250ms', false)),
  ];
}

if (require.main === module) {
  const trials = Number(process.argv[2] ?? 8);
  measureApcSmart(trials).then(
    (rows) => {
      for (const r of rows) console.log(`${r.source} | ${r.how} | n=${r.n} | p50 ${r.p50.toFixed(2)} ms | max ${r.max.toFixed(2)} ms`);
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
