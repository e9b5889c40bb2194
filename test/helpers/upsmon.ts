/**
 * A real NUT upsmon (nut-client) following a NUT server on loopback, in a fresh temp dir, that can
 * never shut this machine down: SHUTDOWNCMD is a recorder script, POWERDOWNFLAG is a file in the
 * temp dir, NOTIFYCMD records events, and `wall` (which upsmon runs at shutdown) is a recorder
 * found first on PATH. upsmon 2.8.0 writes its PID file to the built-in /run/nut whatever
 * NUT_ALTPIDPATH says, so it runs in a private mount namespace with a tmpfs over /run/nut:
 * the machine's /run/nut is never touched and two test upsmons never see each other.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The daemon itself: /sbin/upsmon is Debian's wrapper that reads /etc/nut/nut.conf. */
export const UPSMON = '/lib/nut/upsmon';
export const UPSC = '/usr/bin/upsc';
export const UPSCMD = '/usr/bin/upscmd';
const PIDPATH = '/run/nut';

/** Why NUT's clients (upsc, upscmd, a real upsmon) cannot run here, or undefined when they can. */
export function nutClientsMissing(): string | undefined {
  for (const bin of [UPSMON, UPSC, UPSCMD]) {
    if (!existsSync(bin)) return `${bin} is missing (Debian package nut-client; .ci/run installs it)`;
  }
  if (process.getuid?.() !== 0) return 'upsmon must run as root here (its root parent runs SHUTDOWNCMD)';
  if (existsSync(PIDPATH)) {
    try {
      execFileSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs tmpfs ${PIDPATH}`], { stdio: 'ignore' });
    } catch {
      return `cannot give upsmon a private ${PIDPATH} (unshare --mount failed); it would write the machine's ${PIDPATH}/upsmon.pid`;
    }
  }
  return undefined;
}

export interface UpsmonOptions {
  /** `ups@host:port` */
  system: string;
  username: string;
  password: string;
  role: 'secondary' | 'primary';
  /** Seconds between polls (on mains and on battery). */
  pollFreq?: number;
  /** Seconds from "shutdown decided" to SHUTDOWNCMD. */
  finalDelay?: number;
  hostSync?: number;
}

export interface Upsmon {
  readonly dir: string;
  readonly proc: ChildProcess;
  /** Resolves with the exit code once upsmon has exited. */
  readonly exited: Promise<number | null>;
  /** Lines the SHUTDOWNCMD recorder wrote (`shutdown <epoch s>`). */
  shutdowns(): string[];
  /** `NOTIFYTYPE UPSNAME message` per event upsmon notified. */
  notifications(): string[];
  /** What upsmon wrote to the POWERDOWNFLAG file, or undefined when it wrote none. */
  powerdownFlag(): string | undefined;
  output(): string;
  stop(): Promise<void>;
}

export function startUpsmon(o: UpsmonOptions): Upsmon {
  const dir = mkdtempSync(join(tmpdir(), 'bs-upsmon-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const recorder = join(dir, 'record-shutdown.sh');
  const notifier = join(dir, 'record-notify.sh');
  const flag = join(dir, 'killpower');
  const script = (path: string, body: string): void => {
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
  };
  script(recorder, `echo "shutdown $(date +%s.%N)" >> '${join(dir, 'shutdown.log')}'`);
  script(notifier, `echo "$NOTIFYTYPE $UPSNAME $1" >> '${join(dir, 'notify.log')}'`);
  script(join(bin, 'wall'), `cat >> '${join(dir, 'wall.log')}'`);
  const events = ['ONLINE', 'ONBATT', 'LOWBATT', 'FSD', 'COMMOK', 'COMMBAD', 'SHUTDOWN', 'REPLBATT', 'NOCOMM', 'NOPARENT'];
  const conf = [
    'RUN_AS_USER root',
    `MONITOR ${o.system} 1 ${o.username} ${o.password} ${o.role}`,
    'MINSUPPLIES 1',
    `SHUTDOWNCMD "${recorder}"`,
    `NOTIFYCMD "${notifier}"`,
    `POWERDOWNFLAG ${flag}`,
    `POLLFREQ ${o.pollFreq ?? 1}`,
    `POLLFREQALERT ${o.pollFreq ?? 1}`,
    `HOSTSYNC ${o.hostSync ?? 2}`,
    'DEADTIME 15',
    `FINALDELAY ${o.finalDelay ?? 0}`,
    ...events.map((e) => `NOTIFYFLAG ${e} SYSLOG+EXEC`),
    '',
  ].join('\n');
  // The one line that decides what "shutdown" means: checked before upsmon ever starts.
  if (!conf.includes(`\nSHUTDOWNCMD "${recorder}"\n`) || !recorder.startsWith(dir)) throw new Error('upsmon config would not use the recorder');
  writeFileSync(join(dir, 'upsmon.conf'), conf, { mode: 0o600 });

  const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, NUT_CONFPATH: dir, NUT_STATEPATH: dir, NUT_ALTPIDPATH: dir };
  const args = ['-F', '-u', 'root'];
  // `exec` keeps one PID from unshare to upsmon's root parent, so it is the process we hold.
  const proc = existsSync(PIDPATH)
    ? spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o mode=0770 tmpfs ${PIDPATH} && exec ${UPSMON} ${args.join(' ')}`], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(UPSMON, args, { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const lines = (file: string): string[] => (existsSync(join(dir, file)) ? readFileSync(join(dir, file), 'utf8').split('\n').filter((l) => l) : []);

  return {
    dir,
    proc,
    exited,
    shutdowns: () => lines('shutdown.log'),
    notifications: () => lines('notify.log'),
    powerdownFlag: () => (existsSync(flag) ? readFileSync(flag, 'utf8') : undefined),
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined) {
        // The monitoring child first (its parent then exits on its own), then the parent: both ours.
        for (const child of childrenOf(proc.pid)) {
          try {
            process.kill(child, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        proc.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
