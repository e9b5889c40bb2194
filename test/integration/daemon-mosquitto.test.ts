/**
 * `blackstart run` as a real process against a real Mosquitto: last will, broker restart,
 * graceful stop, bad credentials, and no secret in its output.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto';
import { sleep, Watcher } from '../helpers/mqtt-watch';
import { cliPath } from '../helpers/repo';

const HUB = { username: 'hub', password: 'daemon-pw-7f3a', acl: ['topic readwrite blackstart/#'] };
const READER = { username: 'reader', password: 'reader-pw', acl: ['topic read blackstart/#', 'topic write blackstart/host/+/set'] };

interface Daemon {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startDaemon(mosq: Mosquitto, password: string): Daemon {
  const cfg = join(mosq.dir, `bs-${Math.random().toString(16).slice(2)}.yaml`);
  writeFileSync(
    cfg,
    `mqtt:
  url: ${mosq.url}
  username: ${HUB.username}
  password_env: BS_TEST_MQTT_PW
  reconnect_min: 200ms
  reconnect_max: 1s
ups:
  main:
    simulated: {}
hosts:
  nas:
    simulated: {}
  web:
    simulated: {}
`,
  );
  const proc = spawn(process.execPath, [cliPath(), 'run', '-c', cfg, '--log-level', 'debug'], {
    env: { ...process.env, BS_TEST_MQTT_PW: password },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, output: () => out, exited };
}

async function waitForOutput(d: Daemon, pattern: RegExp, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(d.output())) {
    if (Date.now() > deadline) throw new Error(`daemon never printed ${pattern}; output:\n${d.output()}`);
    await sleep(50);
  }
}

describe('blackstart run against a real Mosquitto', () => {
  let mosq: Mosquitto;
  const daemons: Daemon[] = [];

  beforeAll(async () => {
    mosq = await startMosquitto([HUB, READER]);
  });
  afterEach(async () => {
    for (const d of daemons.splice(0)) {
      if (d.proc.exitCode === null && d.proc.signalCode === null) {
        d.proc.kill('SIGKILL');
        await d.exited;
      }
    }
  });
  afterAll(async () => {
    await mosq.close();
  });

  const reader = () => Watcher.connect(mosq.url, { username: READER.username, password: READER.password }, ['blackstart/#']);
  /** Runs `fn` with a fresh reader that has already seen the daemon's `online`. */
  const withOnlineReader = async (fn: (w: Watcher) => Promise<void>): Promise<void> => {
    const w = await reader();
    try {
      await w.waitForTopic('blackstart/bridge/state', (m) => m.text === 'online', 10_000);
      await fn(w);
    } finally {
      await w.close();
    }
  };

  it('the last will flips bridge/state to offline (retained) when the process is killed', async () => {
    const d = startDaemon(mosq, HUB.password);
    daemons.push(d);
    await withOnlineReader(async (w) => {
      d.proc.kill('SIGKILL');
      await d.exited;
      // Mosquitto sends the will once it sees the socket close.
      await w.waitForTopic('blackstart/bridge/state', (m) => m.text === 'offline', 10_000);
    });
    const late = await reader();
    try {
      const retained = await late.waitForTopic('blackstart/bridge/state');
      expect([retained.text, retained.retain]).toEqual(['offline', true]);
    } finally {
      await late.close();
    }
  });

  it('republishes all retained state after the broker restarts', async () => {
    const d = startDaemon(mosq, HUB.password);
    daemons.push(d);
    await waitForOutput(d, /ready: state published/);

    await mosq.stop();
    await sleep(500);
    await mosq.start();
    const live = await reader();
    await live.waitForTopic('blackstart/bridge/state', (m) => m.text === 'online', 10_000);
    await live.waitForTopic('blackstart/host/web', () => true, 10_000);
    await live.close();
    // No persistence: anything retained now was published again by the daemon.
    const after = await reader();
    try {
      expect((await after.waitForTopic('blackstart/bridge/state', (m) => m.text === 'online', 10_000)).retain).toBe(true);
      await after.waitForTopic('blackstart/ups/main', (m) => m.retain, 10_000);
      await after.waitForTopic('blackstart/host/nas', (m) => m.retain, 10_000);
      await after.waitForTopic('blackstart/host/web', (m) => m.retain, 10_000);
      // Commands work again after the reconnect.
      await after.publish('blackstart/host/nas/set', '{"action":"wake","id":"after-restart"}');
      const r = await after.waitForTopic('blackstart/host/nas/result', () => true, 10_000);
      expect(r.json()).toMatchObject({ id: 'after-restart', ok: true });
    } finally {
      await after.close();
    }
    expect(d.output()).toMatch(/MQTT connection lost; reconnecting/);
    expect(d.proc.exitCode).toBeNull();
  });

  it('SIGTERM publishes offline and exits 0', async () => {
    const d = startDaemon(mosq, HUB.password);
    daemons.push(d);
    await withOnlineReader(async (w) => {
      w.clear();
      d.proc.kill('SIGTERM');
      expect(await d.exited).toBe(0);
      await w.waitForTopic('blackstart/bridge/state', (m) => m.text === 'offline', 5000);
    });
  });

  it('with a wrong password it keeps running, says why, retries, and never prints a password', async () => {
    const d = startDaemon(mosq, 'wrong-pw-91c2');
    daemons.push(d);
    await waitForOutput(d, /Not authorized/);
    await sleep(1500);
    expect(d.output()).toMatch(/"err":"Connection refused: Not authorized","msg":"MQTT error"/);
    expect(d.proc.exitCode).toBeNull();
    expect(d.output().match(/MQTT reconnect scheduled/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
    expect(d.output()).not.toContain('wrong-pw-91c2');
  });

  it('never prints the broker password in its logs', async () => {
    const d = startDaemon(mosq, HUB.password);
    daemons.push(d);
    await withOnlineReader(async (w) => {
      await w.publish('blackstart/host/nas/set', '{"action":"shutdown"}');
      await w.waitForTopic('blackstart/host/nas/result', () => true, 5000);
    });
    expect(d.output()).toMatch(/MQTT connected/);
    expect(d.output()).not.toContain(HUB.password);
  });
});
