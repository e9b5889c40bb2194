/**
 * Time from a change at the UPS source to the MQTT publish a subscriber receives, per source and
 * poll interval, beside `upsc` polled at NUT's default POLLFREQ (5 s) — what an upsmon-based setup
 * would notice. Real peers on loopback: upsd + dummy-ups, apcupsd on a pty with our emulator.
 */
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import mqtt, { type MqttClient } from 'mqtt';
import { startBlackstart, type Blackstart } from '../src/app';
import { parseConfig } from '../src/config/loader';
import { silentLogger } from '../src/core/logger';
import { freePort } from '../test/helpers/ports';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApcEmulator } from '../test/helpers/apc-emulator';
import { findApcupsd, startApcupsd } from '../test/helpers/apcupsd';
import { nutMissing, startNut, type NutServer } from '../test/helpers/nut';
import { haveSocat, openPtyPair } from '../test/helpers/pty-pair';
import { percentile } from './mqtt-latency';

export interface LatencyRow {
  source: string;
  how: string;
  n: number;
  p50: number;
  max: number;
}

const OL = { 'ups.status': 'OL', 'battery.charge': 100, 'battery.runtime': 1800, 'ups.load': 23, 'input.voltage': 230 };
const OB = { ...OL, 'ups.status': 'OB DISCHRG', 'input.voltage': 0 };

/** A running Blackstart with one UPS, and a subscriber that reports each new status of it. */
export async function withDaemon<T>(upsSection: Record<string, unknown>, fn: (nextStatus: (status: string) => Promise<number>) => Promise<T>): Promise<T> {
  const port = await freePort();
  const { config } = parseConfig(JSON.stringify({ mqtt: { embedded: { port } }, ups: { bench: upsSection } }));
  const app: Blackstart = await startBlackstart(config, { log: silentLogger() });
  const sub: MqttClient = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  let waiter: { status: string; resolve: (t: number) => void } | undefined;
  sub.on('message', (_topic, payload) => {
    const t = performance.now();
    const s = (JSON.parse(payload.toString()) as { status: string }).status;
    if (waiter && s === waiter.status) {
      waiter.resolve(t);
      waiter = undefined;
    }
  });
  await sub.subscribeAsync('blackstart/ups/bench', { qos: 1 });
  const nextStatus = (status: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${status}" on MQTT within 20 s`)), 20_000);
      waiter = {
        status,
        resolve: (t) => {
          clearTimeout(timer);
          resolve(t);
        },
      };
    });
  try {
    return await fn(nextStatus);
  } finally {
    await sub.endAsync(true);
    await app.stop();
  }
}

/** Flips the UPS between mains and battery `trials` times; each flip's delay until MQTT shows it. */
async function flips(trials: number, flip: (onBattery: boolean) => void, nextStatus: (s: string) => Promise<number>): Promise<number[]> {
  const out: number[] = [];
  await nextStatus('online');
  for (let i = 0; i < trials; i++) {
    const onBattery = i % 2 === 0;
    // Changes land at a random point of the poll cycle, as real outages do.
    await new Promise((r) => setTimeout(r, 300 + Math.random() * 1000));
    const seen = nextStatus(onBattery ? 'on_battery' : 'online');
    const t0 = performance.now();
    flip(onBattery);
    out.push((await seen) - t0);
  }
  return out;
}

const row = (source: string, how: string, xs: number[]): LatencyRow => ({ source, how, n: xs.length, p50: percentile(xs, 50), max: Math.max(...xs) });

export async function measureNut(trials: number): Promise<LatencyRow[]> {
  const why = nutMissing();
  if (why) throw new Error(why);
  const nut: NutServer = await startNut({ ups: { labups: OL } });
  const rows: LatencyRow[] = [];
  try {
    // The floor every reader shares: dummy-ups re-reads the .dev file on its own poll (pollinterval 1 s).
    const floor: number[] = [];
    for (let i = 0; i < trials; i++) {
      const onBattery = i % 2 === 0;
      // Off the driver's 1 s beat, as in the other rows (right after a change it would always wait a full cycle).
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 1000));
      const t0 = performance.now();
      nut.setVars('labups', onBattery ? OB : OL);
      await nut.waitForStatus('labups', onBattery ? 'OB DISCHRG' : 'OL');
      floor.push(performance.now() - t0);
    }
    nut.setVars('labups', OL);
    await nut.waitForStatus('labups', 'OL');
    rows.push(row('NUT upsd (dummy-ups)', 'upsd itself (GET VAR every 50 ms): the driver floor', floor));
    for (const poll of ['250ms', '1s']) {
      const xs = await withDaemon({ nut: { port: nut.port, ups: 'labups', poll_interval: poll, on_battery_delay: '0s' } }, (next) =>
        flips(trials, (b) => nut.setVars('labups', b ? OB : OL), next),
      );
      rows.push(row('NUT upsd (dummy-ups)', `blackstart, poll ${poll}`, xs));
    }
    rows.push(row('NUT upsd (dummy-ups)', 'upsc every 5 s (upsmon POLLFREQ default)', await upscPolling(nut, Math.max(3, Math.floor(trials / 2)))));
  } finally {
    await nut.stop();
  }
  return rows;
}

/** What an upsmon-style poller sees: `upsc` run every 5 s; delay from a change to the first poll showing it. */
async function upscPolling(nut: NutServer, trials: number): Promise<number[]> {
  const upsc = (): Promise<string> =>
    new Promise((resolve) => execFile('upsc', [`labups@127.0.0.1:${nut.port}`, 'ups.status'], (_e, stdout) => resolve(stdout.trim())));
  const out: number[] = [];
  let onBattery = false;
  nut.setVars('labups', OL);
  await nut.waitForStatus('labups', 'OL');
  for (let i = 0; i < trials; i++) {
    onBattery = !onBattery;
    const want = onBattery ? 'OB DISCHRG' : 'OL';
    // The poller's phase is independent of the change: start it, then change at a random offset.
    const pollStart = performance.now();
    const offset = Math.random() * 5000;
    let t0 = 0;
    const change = new Promise<void>((r) =>
      setTimeout(() => {
        t0 = performance.now();
        nut.setVars('labups', onBattery ? OB : OL);
        r();
      }, offset),
    );
    for (let k = 0; ; k++) {
      const due = pollStart + k * 5000;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const s = await upsc();
      if (t0 > 0 && s === want) {
        out.push(performance.now() - t0);
        break;
      }
      if (k > 6) throw new Error(`upsc never saw ${want}`);
    }
    await change;
  }
  return out;
}

/** Every source whose peer can run here; a source that cannot run is a row saying why. */
export async function measureUpsSources(trials: number): Promise<LatencyRow[]> {
  const rows: LatencyRow[] = [];
  rows.push(...(await measureNut(trials)));
  rows.push(...(await measureApcupsd(trials)));
  rows.push(...(await measureApcSmart(trials)));
  return rows;
}

/** apcupsd (POLLTIME 1, UPSTYPE apcsmart) reading our emulator over a pty; we read its NIS. */
export async function measureApcupsd(trials: number): Promise<LatencyRow[]> {
  const found = findApcupsd();
  if (!('bin' in found)) throw new Error(found.missing);
  const peer = await startApcupsd(found.bin);
  const rows: LatencyRow[] = [];
  try {
    for (const poll of ['250ms', '1s']) {
      const xs = await withDaemon({ apcupsd: { port: peer.port, poll_interval: poll, on_battery_delay: '0s' } }, (next) =>
        flips(trials, (b) => peer.ups.set({ onBattery: b }), next),
      );
      rows.push(row('apcupsd NIS (apcsmart driver, POLLTIME 1)', `blackstart, poll ${poll}`, xs));
    }
  } finally {
    await peer.close();
  }
  return rows;
}

/** Our serial client on a pty with the emulator: an alert at once, and a change without alert at the next poll. */
export async function measureApcSmart(trials: number): Promise<LatencyRow[]> {
  if (!haveSocat()) throw new Error('socat is not installed');
  const pty = await openPtyPair(mkdtempSync(join(tmpdir(), 'bs-bench-apc-')));
  const ups = await ApcEmulator.open(pty.b);
  const rows: LatencyRow[] = [];
  try {
    const section = (poll: string) => ({ apc_smart: { device: pty.a, poll_interval: poll, on_battery_delay: '0s' } });
    rows.push(row('APC smart serial (pty + emulator)', 'blackstart, alert char (poll 10s)', await withDaemon(section('10s'), (next) => flips(trials, (b) => ups.set({ onBattery: b }), next))));
    ups.model.opts.autoAlerts = false;
    for (const poll of ['250ms', '1s']) {
      rows.push(row('APC smart serial (pty + emulator)', `blackstart, no alert, poll ${poll}`, await withDaemon(section(poll), (next) => flips(trials, (b) => ups.set({ onBattery: b }), next))));
    }
  } finally {
    await ups.close();
    await pty.close();
  }
  return rows;
}
