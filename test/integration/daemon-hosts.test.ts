/**
 * Host state on MQTT follows reachability with hysteresis, and `shutdown` from MQTT runs the
 * host's method and is verified by its probes: `blackstart run` with a real Mosquitto, a TCP
 * service standing in for the host, and a command method that records instead of shutting down.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, stopRun, until, type CliRun } from '../helpers/cli-run';
import { mqttYaml, startMosquitto, type Mosquitto } from '../helpers/mosquitto';
import { Watcher, type Received } from '../helpers/mqtt-watch';
import { freePort } from '../helpers/ports';

const HUB = { username: 'hub', password: 'hub-pw-a81f', acl: ['topic readwrite blackstart/#'] };
const CLIENT = { username: 'client', password: 'client-pw-07be', acl: ['topic read blackstart/#', 'topic write blackstart/host/+/set'] };

describe('blackstart run with probed hosts, real Mosquitto', () => {
  let mosq: Mosquitto;
  let daemon: CliRun | undefined;
  const output = (): string => (daemon ? daemon.stdout() + daemon.stderr() : '');
  let watch: Watcher;
  let port: number;
  let server: Server | undefined;
  let record: string;

  const up = async (): Promise<void> => {
    const s = createServer((c) => c.destroy());
    await new Promise<void>((r) => s.listen(port, '127.0.0.1', r));
    server = s;
  };
  const down = async (): Promise<void> => {
    const s = server;
    server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  };

  beforeAll(async () => {
    mosq = await startMosquitto([HUB, CLIENT]);
    port = await freePort();
    await up();
    const dir = mkdtempSync(join(tmpdir(), 'bs-hosts-'));
    record = join(dir, 'shutdown.log');
    const cfg = join(dir, 'blackstart.yaml');
    writeFileSync(
      cfg,
      `${mqttYaml(mosq.url, HUB.username)}hosts:
  web:
    address: 127.0.0.1
    probe:
      tcp: [${port}]
      interval: 400ms
      timeout: 200ms
      fail_after: 3
      succeed_after: 1
    shutdown:
      verify_within: 10s
      command:
        command: [/bin/sh, -c, 'echo shutdown >> ${record}']
`,
    );
    daemon = cli(['run', '-c', cfg, '--log-level', 'debug'], { BS_MQTT_PW: HUB.password });
    watch = await Watcher.connect(mosq.url, { username: CLIENT.username, password: CLIENT.password }, ['blackstart/#']);
  });

  afterAll(async () => {
    await watch?.close();
    await stopRun(daemon);
    await down();
    await mosq?.close();
  });

  const after = (pred: (m: Received) => boolean, what: string, topic = 'blackstart/host/web', timeoutMs = 10_000): Promise<Received> => watch.next(topic, pred, what, timeoutMs);

  it('publishes the host as reachable with a latency', async () => {
    const m = await watch.waitForTopic('blackstart/host/web', (x) => x.json().reachable === true, 10_000);
    expect(m.json()).toMatchObject({ reachable: true, phase: 'running', last_error: null, power: 'unknown' });
    expect(m.json().latency_ms).toEqual(expect.any(Number));
  });

  it('flips to unreachable only after fail_after failed probes, and back on the first answer', async () => {
    const t0 = Date.now();
    const lost = after((m) => m.json().reachable === false, 'unreachable');
    await down();
    const m = await lost;
    // Three failures at 400 ms spacing cannot happen in less than two intervals.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(800);
    expect(m.json()).toMatchObject({ phase: 'unreachable', latency_ms: null });
    expect(String(m.json().last_error)).toMatch(new RegExp(`${port}`));
    const back = after((m2) => m2.json().reachable === true, 'reachable again');
    await up();
    expect((await back).json()).toMatchObject({ phase: 'running' });
  });

  it('shutdown from /set runs the method, is verified when the host stops answering, and says how', async () => {
    const result = after((m) => m.json().id === 'sd-1', 'shutdown result', 'blackstart/host/web/result', 20_000);
    const shutting = after((m) => m.json().phase === 'shutting_down', 'shutting_down');
    await watch.publish('blackstart/host/web/set', JSON.stringify({ action: 'shutdown', id: 'sd-1' }));
    await shutting;
    await until(() => existsSync(record), 5000, 'the recorded shutdown');
    await down();
    const r = (await result).json();
    expect(r).toMatchObject({ ok: true, action: 'shutdown', detail: { method: 'command', verified_by: 'probe', dry_run: false } });
    expect(readFileSync(record, 'utf8')).toBe('shutdown\n');
    const last = watch.messages.filter((m) => m.topic === 'blackstart/host/web').at(-1);
    expect(last?.json()).toMatchObject({ phase: 'down', reachable: false });
    await watch.waitForTopic('blackstart/event', (m) => m.json().type === 'host_shutdown_done' && m.json().host === 'web');
  });

  it('refuses wake on a host with no wake method, with ok:false', async () => {
    const result = after((m) => m.json().id === 'wk-1', 'wake result', 'blackstart/host/web/result');
    await watch.publish('blackstart/host/web/set', JSON.stringify({ action: 'wake', id: 'wk-1' }));
    expect((await result).json()).toMatchObject({ ok: false, error: { code: 'UNSUPPORTED' } });
  });

  it('never printed a password', () => {
    expect(output() + watch.messages.map((m) => m.text).join('\n')).not.toContain(HUB.password);
  });
});
