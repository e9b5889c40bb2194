/**
 * The demo as a newcomer starts it: time from process start until a subscriber holds the retained
 * bridge, UPS and host state, and the process's resident memory once it has settled.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { parseDocument } from 'yaml';
import { freePort } from '../test/helpers/ports';
import { cliPath, repoRoot } from '../test/helpers/repo';
import { percentile } from './mqtt-latency';

export interface DemoFigures {
  runs: number;
  readyMs: number;
  readyMsMax: number;
  rssMiB: number;
}

async function once(): Promise<{ readyMs: number; rssMiB: number }> {
  const port = await freePort();
  const doc = parseDocument(readFileSync(join(repoRoot(), 'examples/demo.yaml'), 'utf8'));
  doc.setIn(['mqtt', 'embedded', 'port'], port);
  const dir = mkdtempSync(join(tmpdir(), 'bs-bench-'));
  const cfg = join(dir, 'demo.yaml');
  // Its own journal: never /var/lib/blackstart, which a real install on this machine may hold.
  doc.setIn(['outage', 'journal'], join(dir, 'journal.jsonl'));
  doc.setIn(['compat', 'apcupsd', 'port'], await freePort());
  doc.setIn(['compat', 'nut', 'port'], await freePort());
  writeFileSync(cfg, doc.toString());

  const t0 = performance.now();
  const proc = spawn(process.execPath, [cliPath(), 'run', '-c', cfg, '--log-level', 'warn'], { stdio: 'ignore' });
  try {
    const expected = new Set(['blackstart/bridge/state', 'blackstart/ups/rack', 'blackstart/host/gateway', 'blackstart/host/nas', 'blackstart/host/mail']);
    const deadline = t0 + 30_000;
    for (;;) {
      if (performance.now() > deadline) throw new Error('the demo did not publish its state within 30 s');
      try {
        const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 1000 });
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no state from the demo; still missing ${[...expected].join(', ')}`)), 30_000);
          c.on('message', (topic, payload) => {
            // Retained (already there) or live (published after we subscribed): either way the state is out.
            if (topic !== 'blackstart/bridge/state' || payload.toString() === 'online') expected.delete(topic);
            if (expected.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          });
          void c.subscribeAsync('blackstart/#');
        });
        await c.endAsync(true);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    const readyMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 5000));
    const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    return { readyMs, rssMiB: rssKiB / 1024 };
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  }
}

export async function measureDemo(runs = 5): Promise<DemoFigures> {
  const results = [];
  for (let i = 0; i < runs; i++) results.push(await once());
  return {
    runs,
    readyMs: percentile(results.map((r) => r.readyMs), 50),
    readyMsMax: Math.max(...results.map((r) => r.readyMs)),
    rssMiB: percentile(results.map((r) => r.rssMiB), 50),
  };
}
