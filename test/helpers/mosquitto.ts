/**
 * A real Mosquitto on a free loopback port in a temp dir, with password auth and an ACL
 * (recipe: shared/reference/real-peers.md §1). Persistence is off, so a restart loses every
 * retained message: whatever is there afterwards was republished by its owner.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './ports';

export interface MosquittoUser {
  username: string;
  password: string;
  /** ACL lines for this user, e.g. `topic readwrite blackstart/#`. */
  acl: string[];
}

export interface Mosquitto {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  readonly log: () => string;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

function findMosquitto(): string {
  for (const p of ['/usr/sbin/mosquitto', '/usr/bin/mosquitto']) {
    if (spawnSync(p, ['-h']).error === undefined) return p;
  }
  throw new Error('mosquitto is not installed (Debian package "mosquitto"; .ci/run installs it)');
}

export async function startMosquitto(users: MosquittoUser[]): Promise<Mosquitto> {
  const bin = findMosquitto();
  const dir = mkdtempSync(join(tmpdir(), 'bs-mosq-'));
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, '');
  for (const u of users) {
    const r = spawnSync('mosquitto_passwd', ['-b', passwd, u.username, u.password]);
    if (r.status !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr.toString()}`);
  }
  const acl = join(dir, 'acl');
  writeFileSync(acl, users.map((u) => [`user ${u.username}`, ...u.acl, ''].join('\n')).join('\n'));
  chmodSync(passwd, 0o600);
  chmodSync(acl, 0o600);
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      'user root',
      'per_listener_settings false',
      'allow_anonymous false',
      `password_file ${passwd}`,
      `acl_file ${acl}`,
      'persistence false',
      'log_dest stdout',
      'log_type error',
      'log_type warning',
      'log_type notice',
      `listener ${port} 127.0.0.1`,
      '',
    ].join('\n'),
  );

  let proc: ChildProcess | undefined;
  let output = '';
  const start = async (): Promise<void> => {
    proc = spawn(bin, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    await waitForPort(port);
  };
  const stop = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  };
  await start();
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    log: () => output,
    start,
    stop,
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The `mqtt:` section of a daemon config that logs in to this broker; the password comes from `passwordEnv`. */
export function mqttYaml(url: string, username: string, passwordEnv = 'BS_MQTT_PW'): string {
  return `mqtt:\n  url: ${url}\n  username: ${username}\n  password_env: ${passwordEnv}\n`;
}
