/**
 * A real NUT upsd with one dummy-ups driver per UPS, in a fresh temp dir, on a free 127.0.0.1
 * port (recipe: shared/reference/real-peers.md §3). Each UPS reads a `.dev` file (dummy-once mode:
 * re-read when its mtime changes), so `setVars` is how a test moves the UPS between states.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { freePort, waitForPort } from './ports';

export const NUT_BIN = '/lib/nut';
export const UPSD = join(NUT_BIN, 'upsd');
export const DUMMY_UPS = join(NUT_BIN, 'dummy-ups');

/** Why real-upsd tests cannot run here, or undefined when they can. */
export function nutMissing(): string | undefined {
  for (const bin of [UPSD, DUMMY_UPS]) {
    if (!existsSync(bin)) return `${bin} is missing (Debian packages nut-server and nut-client; .ci/run installs them)`;
  }
  return undefined;
}

export const NUT_USERS = {
  /** instcmds ALL, actions SET FSD: may run commands and set FSD without LOGIN. */
  admin: { username: 'admin', password: 'admin-pw-7f3a' },
  /** upsmon primary: may LOGIN, PRIMARY and FSD. */
  monuser: { username: 'monuser', password: 'mon-pw-91c2' },
} as const;

export type DevVars = Record<string, string | number>;

export interface NutServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly dir: string;
  /** Rewrites the UPS's .dev file (all variables) and bumps its mtime so the driver re-reads it. */
  setVars(ups: string, vars: DevVars): void;
  /** Resolves when upsd reports `ups.status` as `status` (exactly, FSD prefix included). */
  waitForStatus(ups: string, status: string, timeoutMs?: number): Promise<void>;
  stopUpsd(): Promise<void>;
  startUpsd(): Promise<void>;
  log(): string;
  stop(): Promise<void>;
}

export async function startNut(opts: { ups: Record<string, DevVars> }): Promise<NutServer> {
  const dir = mkdtempSync(join(tmpdir(), 'bs-nut-'));
  const etc = join(dir, 'etc');
  const state = join(dir, 'state');
  mkdirSync(etc);
  mkdirSync(state, { mode: 0o770 });
  const port = await freePort();
  const names = Object.keys(opts.ups);
  const devFile = (ups: string): string => join(etc, `${ups}.dev`);
  const writeDev = (ups: string, vars: DevVars): void => {
    writeFileSync(devFile(ups), Object.entries(vars).map(([k, v]) => `${k}: ${v}\n`).join(''));
  };

  writeFileSync(join(etc, 'nut.conf'), 'MODE=standalone\n');
  writeFileSync(
    join(etc, 'ups.conf'),
    ['user = root', 'pollinterval = 1', ...names.flatMap((n) => [`[${n}]`, '  driver = dummy-ups', `  port = ${devFile(n)}`, `  desc = "test UPS ${n}"`]), ''].join('\n'),
  );
  for (const n of names) writeDev(n, opts.ups[n] as DevVars);
  writeFileSync(join(etc, 'upsd.conf'), `LISTEN 127.0.0.1 ${port}\nMAXAGE 15\n`);
  const { admin, monuser } = NUT_USERS;
  writeFileSync(
    join(etc, 'upsd.users'),
    [`[${admin.username}]`, `  password = ${admin.password}`, '  actions = SET FSD', '  instcmds = ALL', `[${monuser.username}]`, `  password = ${monuser.password}`, '  upsmon primary', ''].join('\n'),
  );
  for (const f of ['nut.conf', 'ups.conf', 'upsd.conf', 'upsd.users']) chmodSync(join(etc, f), 0o640);

  const env = { ...process.env, NUT_CONFPATH: etc, NUT_STATEPATH: state, NUT_ALTPIDPATH: state };
  let output = '';
  const spawnNut = (bin: string, args: string[]): ChildProcess => {
    const p = spawn(bin, args, { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    p.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    return p;
  };
  const drivers = names.map((n) => spawnNut(DUMMY_UPS, ['-a', n, '-u', 'root', '-F']));
  let upsd: ChildProcess | undefined;

  const kill = async (p: ChildProcess | undefined): Promise<void> => {
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  };

  const server: NutServer = {
    host: '127.0.0.1',
    port,
    dir,
    setVars: (ups, vars) => {
      writeDev(ups, vars);
      // dummy-once re-reads on an mtime change; one second later than any earlier write is always one.
      const t = new Date(Date.now() + 1000 * ++bumps);
      utimesSync(devFile(ups), t, t);
    },
    waitForStatus: async (ups, status, timeoutMs = 8000) => {
      const deadline = Date.now() + timeoutMs;
      let last = '';
      while (Date.now() < deadline) {
        last = await ask(port, `GET VAR ${ups} ups.status\n`).catch((e: Error) => e.message);
        if (last === `VAR ${ups} ups.status "${status}"`) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`upsd never reported ${ups} status "${status}" within ${timeoutMs} ms (last answer: ${last})\n${output}`);
    },
    stopUpsd: async () => {
      const p = upsd;
      upsd = undefined;
      await kill(p);
    },
    startUpsd: async () => {
      upsd = spawnNut(UPSD, ['-u', 'root', '-F']);
      await waitForPort(port, 10_000);
    },
    log: () => output,
    stop: async () => {
      await server.stopUpsd();
      await Promise.all(drivers.map(kill));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  let bumps = 0;

  try {
    const deadline = Date.now() + 10_000;
    while (!names.every((n) => existsSync(join(state, `dummy-ups-${n}`)))) {
      if (Date.now() > deadline) throw new Error(`dummy-ups sockets did not appear:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await server.startUpsd();
    // upsd says WAIT until the driver's first dump (about 2 s).
    for (const n of names) {
      const st = String((opts.ups[n] as DevVars)['ups.status'] ?? '');
      if (st) await server.waitForStatus(n, st, 10_000);
    }
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

/** One line asked, one line answered, on a fresh connection. */
function ask(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('no answer'));
    }, 2000);
    s.on('connect', () => s.write(line));
    s.on('data', (d) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        s.destroy();
        resolve(buf.slice(0, nl));
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
