/**
 * A REAL apcupsd (3.14.x, `UPSTYPE apcsmart`) on one end of a socat pty pair, with our TypeScript
 * APC smart emulator on the other end: apcupsd polls the emulator over the serial protocol and
 * serves what it sees on its NIS port (127.0.0.1, free port). Recipe: real-peers.md §4.
 *
 * Where the binary comes from, first match wins:
 *   1. $BLACKSTART_APCUPSD            path to the `apcupsd` binary (e.g. /opt/apcupsd-pkg/sbin/apcupsd)
 *   2. <repo>/.cache/apcupsd-pkg/sbin/apcupsd   (unpacked before, see 4)
 *   3. /sbin/apcupsd, /usr/sbin/apcupsd          (Debian package installed)
 *   4. a .deb unpacked with `dpkg -x` into <repo>/.cache/apcupsd-pkg: $BLACKSTART_APCUPSD_DEB,
 *      else the newest /tmp/debs/apcupsd_*.deb or <repo>/.cache/debs/apcupsd_*.deb
 * (apt-installing apcupsd would remove NUT, which the NUT tests need, hence the unpacked copy.)
 *
 * SAFETY: SCRIPTDIR points at a private apccontrol that only logs its arguments, never the real
 * /etc/apcupsd/apccontrol (which calls shutdown on low battery).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ApcEmulator, type ApcUpsState } from './apc-emulator';
import { freePort } from './ports';
import { haveSocat, openPtyPair, type PtyPair } from './pty-pair';
import { repoRoot } from './repo';
import { killNow } from './process';

function runs(bin: string): boolean {
  // `apcupsd --version` exits 0 without touching the system; a missing library shows here too.
  const r = spawnSync(bin, ['--version'], { stdio: 'ignore', timeout: 5000 });
  return r.error === undefined && r.status === 0;
}

function findDeb(): string | null {
  const fromEnv = process.env.BLACKSTART_APCUPSD_DEB;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : null;
  for (const dir of ['/tmp/debs', join(repoRoot(), '.cache/debs')]) {
    if (!existsSync(dir)) continue;
    const debs = readdirSync(dir).filter((f) => /^apcupsd_.*\.deb$/.test(f)).sort();
    const last = debs[debs.length - 1];
    if (last) return join(dir, last);
  }
  return null;
}

/** Unpacks the .deb next to the cache path atomically, so parallel test files never see half a tree. */
function unpack(deb: string, target: string): void {
  mkdirSync(dirname(target), { recursive: true });
  const tmp = mkdtempSync(`${target}.tmp-`);
  const r = spawnSync('dpkg', ['-x', deb, tmp], { stdio: 'pipe', timeout: 60_000 });
  if (r.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`dpkg -x ${deb} failed: ${r.stderr?.toString() ?? r.error?.message}`);
  }
  try {
    renameSync(tmp, target);
  } catch {
    // Another worker got there first; its copy is as good as ours.
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The apcupsd binary, or a reason why there is none (the test then skips with that reason). */
export function findApcupsd(): { bin: string } | { missing: string } {
  if (!haveSocat()) return { missing: 'socat is not installed (Debian package "socat")' };
  const fromEnv = process.env.BLACKSTART_APCUPSD;
  if (fromEnv) return runs(fromEnv) ? { bin: fromEnv } : { missing: `BLACKSTART_APCUPSD=${fromEnv} does not run` };
  const cached = join(repoRoot(), '.cache/apcupsd-pkg');
  const cachedBin = join(cached, 'sbin/apcupsd');
  if (existsSync(cachedBin) && runs(cachedBin)) return { bin: cachedBin };
  for (const p of ['/sbin/apcupsd', '/usr/sbin/apcupsd']) if (existsSync(p) && runs(p)) return { bin: p };
  const deb = findDeb();
  if (!deb) {
    return { missing: 'no apcupsd: set BLACKSTART_APCUPSD, or put apcupsd_*.deb in /tmp/debs (apt-get download apcupsd)' };
  }
  unpack(deb, cached);
  if (runs(cachedBin)) return { bin: cachedBin };
  return { missing: `${cachedBin} unpacked from ${deb} does not run (needs libusb-0.1-4 and libwrap0)` };
}

export interface Apcupsd {
  readonly port: number;
  readonly dir: string;
  /** The UPS apcupsd talks to. */
  readonly ups: ApcEmulator;
  /** What apcupsd printed, for failure messages. */
  output(): string;
  /** Lines our harmless apccontrol logged (`powerout labapc …`, `onbattery …`). */
  apccontrolCalls(): string[];
  /** Kills apcupsd (SIGKILL: as if it crashed) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts apcupsd again on the same pty, port and config, and waits until it serves a status. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface StartOptions {
  initial?: Partial<ApcUpsState>;
  /** Extra or overriding apcupsd.conf lines. */
  conf?: string[];
}

/**
 * Writes an apcupsd.conf in `dir` for a test run: polled every second, its own lock, scripts
 * (`dir/scripts`) and events file, a NIS server on 127.0.0.1:`nisPort`, no thresholds of its own
 * beyond 5 % / 3 min. `device` sets UPSNAME, UPSCABLE, UPSTYPE and DEVICE; `extra` lines
 * (`KEY value`) override anything. Returns the file's path.
 */
export function writeApcupsdConf(dir: string, device: Record<'UPSNAME' | 'UPSCABLE' | 'UPSTYPE' | 'DEVICE', string>, nisPort: number, extra: readonly string[] = []): string {
  const settings = new Map<string, string>([
    ...Object.entries(device),
    ['POLLTIME', '1'],
    ['LOCKFILE', join(dir, 'lock')],
    ['SCRIPTDIR', join(dir, 'scripts')],
    ['PWRFAILDIR', dir],
    ['NOLOGINDIR', dir],
    ['ONBATTERYDELAY', '0'],
    ['BATTERYLEVEL', '5'],
    ['MINUTES', '3'],
    ['TIMEOUT', '0'],
    ['ANNOY', '0'],
    ['NOLOGON', 'disable'],
    ['KILLDELAY', '0'],
    ['NETSERVER', 'on'],
    ['NISIP', '127.0.0.1'],
    ['NISPORT', String(nisPort)],
    ['EVENTSFILE', join(dir, 'apcupsd.events')],
    ['EVENTSFILEMAX', '10'],
    ['UPSCLASS', 'standalone'],
    ['UPSMODE', 'disable'],
    ['STATTIME', '0'],
    ['LOGSTATS', 'off'],
    ['DATATIME', '0'],
  ]);
  for (const line of extra) {
    const [k, ...v] = line.trim().split(/\s+/);
    if (k) settings.set(k, v.join(' '));
  }
  const conf = join(dir, 'apcupsd.conf');
  writeFileSync(conf, ['## apcupsd.conf v1.1 ##', ...[...settings].map(([k, v]) => `${k} ${v}`), ''].join('\n'));
  return conf;
}

export async function startApcupsd(bin: string, opts: StartOptions = {}): Promise<Apcupsd> {
  const dir = mkdtempSync(join(tmpdir(), 'bs-apcupsd-'));
  const scripts = join(dir, 'scripts');
  mkdirSync(scripts);
  mkdirSync(join(dir, 'lock'));
  const calls = join(dir, 'apccontrol.log');
  writeFileSync(join(scripts, 'apccontrol'), `#!/bin/sh\necho "$*" >> '${calls}'\nexit 0\n`);
  chmodSync(join(scripts, 'apccontrol'), 0o755);

  let pty: PtyPair | undefined;
  let ups: ApcEmulator | undefined;
  try {
    pty = await openPtyPair(dir);
    ups = await ApcEmulator.open(pty.b, opts.initial ?? {});
  } catch (err) {
    await pty?.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const port = await freePort();
  const conf = writeApcupsdConf(dir, { UPSNAME: 'labapc', UPSCABLE: 'smart', UPSTYPE: 'apcsmart', DEVICE: pty.a }, port, opts.conf);

  const apcaccess = join(dirname(bin), 'apcaccess');
  let proc: ChildProcess | undefined;
  let out = '';

  const status = (): Promise<string> =>
    new Promise((resolve) => {
      const p = spawn(apcaccess, ['-h', `127.0.0.1:${port}`, '-p', 'STATUS'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let s = '';
      p.stdout.on('data', (d: Buffer) => (s += d.toString()));
      p.once('error', () => resolve(''));
      p.once('close', () => resolve(s.trim()));
    });

  const kill = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    await killNow(p);
  };

  const start = async (): Promise<void> => {
    // -b: stay in the foreground, so the process we hold is apcupsd itself.
    const p = spawn(bin, ['-b', '-f', conf, '-P', join(dir, 'apcupsd.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 10_000;
    // apcaccess is part of the same package: readiness is judged by apcupsd's own client, not ours.
    for (;;) {
      if (p.exitCode !== null || p.signalCode !== null) throw new Error(`apcupsd exited during start: ${out.trim()}`);
      if (/ONLINE|ONBATT/.test(await status())) return;
      if (Date.now() > deadline) {
        await kill();
        throw new Error(`apcupsd did not report ONLINE/ONBATT within 10 s: ${out.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const emulator = ups;
  const pair = pty;
  const close = async (): Promise<void> => {
    await kill();
    await emulator.close();
    await pair.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await start();
  } catch (err) {
    await close();
    throw err;
  }
  return {
    port,
    dir,
    ups: emulator,
    output: () => out,
    apccontrolCalls: () => (existsSync(calls) ? readFileSync(calls, 'utf8').split('\n').filter(Boolean) : []),
    kill,
    start,
    close,
  };
}
