/**
 * A REAL apcupsd (3.14.x) as a network slave (`UPSTYPE net`) of a NIS master on loopback (ours),
 * and the real `apcaccess` from the same package. Recipe: real-peers.md §4 ("UPSTYPE net variant").
 *
 * SAFETY: SCRIPTDIR points at a private apccontrol that only records its arguments with the time,
 * never the real /etc/apcupsd/apccontrol (which calls shutdown on doshutdown).
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { findApcupsd, writeApcupsdConf } from './apcupsd';
import { freePort } from './ports';
import { killNow } from './process';
import { repoRoot } from './repo';

export interface ApcupsdBinaries {
  apcupsd: string;
  apcaccess: string;
}

function runs(bin: string, args: string[]): boolean {
  const r = spawnSync(bin, args, { stdio: 'ignore', timeout: 5000 });
  return r.error === undefined && r.status === 0;
}

/**
 * apcupsd and apcaccess, or why not (the suite then skips with that reason). A slave needs no
 * serial line, so socat is not required here unless the .deb must be unpacked by the older helper.
 */
export function findApcupsdBinaries(): ApcupsdBinaries | { missing: string } {
  const usable = (bin: string): ApcupsdBinaries | null => {
    const apcaccess = join(dirname(bin), 'apcaccess');
    return existsSync(bin) && existsSync(apcaccess) && runs(bin, ['--version']) ? { apcupsd: bin, apcaccess } : null;
  };
  // As in helpers/apcupsd.ts, a path given in the environment is the one to test, or none.
  const fromEnv = process.env.BLACKSTART_APCUPSD;
  if (fromEnv) return usable(fromEnv) ?? { missing: `BLACKSTART_APCUPSD=${fromEnv} does not run, or has no apcaccess next to it` };
  for (const bin of [join(repoRoot(), '.cache/apcupsd-pkg/sbin/apcupsd'), '/sbin/apcupsd', '/usr/sbin/apcupsd']) {
    const found = usable(bin);
    if (found) return found;
  }
  const found = findApcupsd();
  if ('missing' in found) return found;
  const apcaccess = join(dirname(found.bin), 'apcaccess');
  return existsSync(apcaccess) ? { apcupsd: found.bin, apcaccess } : { missing: `no apcaccess next to ${found.bin}` };
}

/** `apcaccess -h 127.0.0.1:<port> [args]`: its stdout, or what went wrong with its exit code. */
export function apcaccess(bin: string, port: number, args: string[] = []): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(bin, ['-h', `127.0.0.1:${port}`, ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, out: stdout, err: stderr });
    });
  });
}

/** `apcaccess … status` as KEY → value (values trimmed), or null when it failed. */
export async function apcaccessFields(bin: string, port: number): Promise<Map<string, string> | null> {
  const r = await apcaccess(bin, port);
  if (r.code !== 0) return null;
  const fields = new Map<string, string>();
  for (const line of r.out.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return fields;
}

export interface ApcupsdCall {
  /** Epoch ms the recorder ran. */
  at: number;
  /** apccontrol's first argument: `powerout`, `onbattery`, `doshutdown`, … */
  event: string;
  args: string[];
}

export interface ApcupsdSlave {
  /** The slave's own NIS port (what `apcaccess` reads to see the slave's view). */
  readonly nisPort: number;
  readonly dir: string;
  calls(): ApcupsdCall[];
  output(): string;
  close(): Promise<void>;
}

export interface SlaveOptions {
  /** Extra or overriding apcupsd.conf lines. */
  conf?: string[];
}

/** Starts the slave and waits until it reports the master's state (STATUS with SLAVE). */
export async function startApcupsdSlave(bins: ApcupsdBinaries, masterPort: number, opts: SlaveOptions = {}): Promise<ApcupsdSlave> {
  const dir = mkdtempSync(join(tmpdir(), 'bs-apcupsd-slave-'));
  const scripts = join(dir, 'scripts');
  mkdirSync(scripts);
  mkdirSync(join(dir, 'lock'));
  const log = join(dir, 'apccontrol.log');
  writeFileSync(join(scripts, 'apccontrol'), `#!/bin/sh\necho "$(date +%s%3N) $*" >> '${log}'\nexit 0\n`);
  chmodSync(join(scripts, 'apccontrol'), 0o755);
  const nisPort = await freePort();
  // BATTERYLEVEL 5 and MINUTES 3 (the defaults there): low enough that only the master's flags take the slave down.
  const conf = writeApcupsdConf(dir, { UPSNAME: 'slave', UPSCABLE: 'ether', UPSTYPE: 'net', DEVICE: `127.0.0.1:${masterPort}` }, nisPort, opts.conf);

  let out = '';
  // -b: foreground, so the process held here is apcupsd itself and a kill reaches it.
  const proc: ChildProcess = spawn(bins.apcupsd, ['-b', '-f', conf, '-P', join(dir, 'apcupsd.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  proc.once('error', (err) => (out += `spawn failed: ${err.message}`));

  const close = async (): Promise<void> => {
    await killNow(proc);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      await close();
      throw new Error(`apcupsd slave exited during start: ${out.trim()}`);
    }
    const r = await apcaccess(bins.apcaccess, nisPort, ['-p', 'STATUS']);
    if (r.code === 0 && /SLAVE/.test(r.out)) break;
    if (Date.now() > deadline) {
      await close();
      throw new Error(`apcupsd slave did not follow the master within 15 s: ${out.trim()} ${r.err}`);
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  return {
    nisPort,
    dir,
    output: () => out,
    calls: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => {
              const [at, event, ...args] = l.split(' ');
              return { at: Number(at), event: event ?? '', args };
            })
        : [],
    close,
  };
}
