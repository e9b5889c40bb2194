/**
 * `blackstart ups status` for the two APC paths as a user runs them: apcupsd:// against a real
 * apcupsd (driving our Smart-UPS emulator over a pty), apcsmart:// straight at the emulator.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApcEmulator } from '../helpers/apc-emulator';
import { findApcupsd, startApcupsd, type Apcupsd } from '../helpers/apcupsd';
import { haveSocat, openPtyPair, type PtyPair } from '../helpers/pty-pair';
import { cli, until, type CliRun } from '../helpers/cli-run';

const lastState = (run: CliRun): Record<string, unknown> => JSON.parse(run.stdout().trim().split('\n').at(-1) as string) as Record<string, unknown>;

const found = findApcupsd();
(haveSocat() && 'bin' in found ? describe : describe.skip)('blackstart ups status apcupsd://… against a real apcupsd', () => {
  let peer: Apcupsd;
  beforeAll(async () => {
    if ('bin' in found) peer = await startApcupsd(found.bin);
  }, 20_000);
  afterAll(async () => {
    await peer?.close();
  });

  it('--json prints the normalized state; --watch follows the UPS onto battery', async () => {
    const url = `apcupsd://127.0.0.1:${peer.port}`;
    const once = cli(['ups', 'status', url, '--json']);
    expect(await once.code).toBe(0);
    expect(JSON.parse(once.stdout())).toMatchObject({ status: 'online', flags: ['ONLINE'], charge_pct: 100, runtime_s: 2700, source: url });

    const watch = cli(['ups', 'status', url, '--json', '--watch', '--interval', '250ms']);
    try {
      await until(() => watch.stdout().includes('"status":"online"'), 8000, 'online', watch);
      peer.ups.set({ onBattery: true, chargePct: 70 });
      await until(() => watch.stdout().includes('"status":"on_battery"'), 8000, 'on_battery', watch);
      expect(lastState(watch)).toMatchObject({ status: 'on_battery', flags: ['ONBATT'] });
    } finally {
      watch.proc.kill('SIGINT');
      expect(await watch.code).toBe(0);
      peer.ups.set({ onBattery: false, chargePct: 100 });
    }
  }, 30_000);
});

(haveSocat() ? describe : describe.skip)('blackstart ups status apcsmart://… against the Smart-UPS emulator on a pty', () => {
  let pty: PtyPair;
  let ups: ApcEmulator;
  beforeAll(async () => {
    pty = await openPtyPair(mkdtempSync(join(tmpdir(), 'bs-cli-apc-')));
    ups = await ApcEmulator.open(pty.b, { chargePct: 98, runtimeMin: 40, loadPct: 31, inputV: 229.6, batteryV: 27.2 });
  });
  afterAll(async () => {
    await ups?.close();
    await pty?.close();
  });

  it('--json prints the normalized state read over the serial line', async () => {
    const run = cli(['ups', 'status', `apcsmart://${pty.a}`, '--json']);
    expect(await run.code).toBe(0);
    expect(JSON.parse(run.stdout())).toMatchObject({
      status: 'online',
      flags: ['OL'],
      charge_pct: 98,
      runtime_s: 2400,
      load_pct: 31,
      input_v: 229.6,
      battery_v: 27.2,
      source: `apcsmart://${pty.a}`,
    });
    // The handshake came first, then the queries.
    expect(ups.receivedText()).toMatch(/^Y/);
  });

  it('--watch shows an alert at once, long before the next poll', async () => {
    const run = cli(['ups', 'status', `apcsmart://${pty.a}`, '--json', '--watch', '--interval', '30s']);
    try {
      await until(() => run.stdout().includes('"status":"online"'), 8000, 'online', run);
      const t0 = Date.now();
      ups.set({ onBattery: true });
      await until(() => run.stdout().includes('"status":"on_battery"'), 5000, 'on_battery', run);
      // A 30 s poll could not have seen it: the "!" alert did.
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      run.proc.kill('SIGINT');
      expect(await run.code).toBe(0);
      ups.set({ onBattery: false });
    }
  });

  it('a device that does not exist exits 4 (UNREACHABLE) naming it', async () => {
    const run = cli(['ups', 'status', 'apcsmart:///dev/nonexistent-tty', '--timeout', '1s']);
    expect(await run.code).toBe(4);
    expect(run.stderr()).toContain('/dev/nonexistent-tty');
  });
});
