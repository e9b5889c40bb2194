/**
 * The done-when of the UPS issue, end to end with real servers: `blackstart run` reads a real
 * NUT upsd (dummy-ups driver), publishes every change on a real Mosquitto, obeys UPS commands
 * from MQTT within its allow-list, and says comm_lost when upsd dies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mqttYaml, startMosquitto, type Mosquitto } from '../helpers/mosquitto';
import { sleep, Watcher, type Received } from '../helpers/mqtt-watch';
import { NUT_USERS, nutMissing, startNut, type NutServer } from '../helpers/nut';
import { cliPath } from '../helpers/repo';

const HUB = { username: 'hub', password: 'hub-pw-40c1', acl: ['topic readwrite blackstart/#'] };
const CLIENT = { username: 'client', password: 'client-pw-9d2e', acl: ['topic read blackstart/#', 'topic write blackstart/ups/+/set'] };
const OL = { 'ups.status': 'OL', 'battery.charge': 100, 'battery.runtime': 1800, 'ups.load': 23, 'input.voltage': 230.0 };
const missing = nutMissing();

(missing ? describe.skip : describe)('blackstart run with a NUT UPS, real upsd and Mosquitto', () => {
  let mosq: Mosquitto;
  let nut: NutServer;
  let proc: ChildProcess;
  let output = '';
  let watch: Watcher;
  const status = (m: Received): string => String(m.json().status);

  beforeAll(async () => {
    [mosq, nut] = await Promise.all([startMosquitto([HUB, CLIENT]), startNut({ ups: { labups: OL } })]);
    const cfg = join(mosq.dir, 'blackstart.yaml');
    writeFileSync(
      cfg,
      `${mqttYaml(mosq.url, HUB.username)}ups:
  lab:
    nut:
      port: ${nut.port}
      ups: labups
      username: ${NUT_USERS.monuser.username}
      password_env: BS_NUT_PW
      role: primary
      commands: [fsd]
      poll_interval: 250ms
      dead_time: 2s
      on_battery_delay: 0s
      reconnect_max: 500ms
`,
    );
    proc = spawn(process.execPath, [cliPath(), 'run', '-c', cfg, '--log-level', 'debug'], {
      env: { ...process.env, BS_MQTT_PW: HUB.password, BS_NUT_PW: NUT_USERS.monuser.password },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    watch = await Watcher.connect(mosq.url, { username: CLIENT.username, password: CLIENT.password }, ['blackstart/#']);
  });

  afterAll(async () => {
    await watch?.close();
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    await Promise.all([nut?.stop(), mosq?.close()]);
  });

  const next = (pred: (m: Received) => boolean, what: string, timeoutMs = 8000): Promise<Received> => {
    const from = watch.messages.length;
    return watch.waitFor((m) => watch.messages.indexOf(m) >= from && m.topic === 'blackstart/ups/lab' && pred(m), timeoutMs, what);
  };

  /** Events follow the state change that raised them. */
  const event = (type: string): Promise<Received> => watch.waitForTopic('blackstart/event', (m) => m.json().type === type && m.json().ups === 'lab');

  it('publishes the normalized state read from upsd', async () => {
    const m = await watch.waitForTopic('blackstart/ups/lab', (x) => status(x) === 'online', 10_000);
    expect(m.json()).toMatchObject({
      status: 'online',
      flags: ['OL'],
      charge_pct: 100,
      runtime_s: 1800,
      load_pct: 23,
      input_v: 230,
      battery_v: null,
      on_battery_s: 0,
      source: `nut://127.0.0.1:${nut.port}/labups`,
    });
  });

  it('follows .dev edits: on battery, low battery, back on mains, with events', async () => {
    const onBattery = next((m) => status(m) === 'on_battery', 'on_battery');
    nut.setVars('labups', { ...OL, 'ups.status': 'OB DISCHRG', 'battery.charge': 80, 'input.voltage': 0 });
    expect((await onBattery).json()).toMatchObject({ flags: ['OB', 'DISCHRG'], charge_pct: 80, input_v: 0 });

    const low = next((m) => status(m) === 'low_battery', 'low_battery');
    nut.setVars('labups', { ...OL, 'ups.status': 'OB LB', 'battery.charge': 9, 'battery.runtime': 60 });
    expect((await low).json()).toMatchObject({ flags: ['OB', 'LB'], charge_pct: 9, runtime_s: 60 });

    const back = next((m) => status(m) === 'online', 'online again');
    nut.setVars('labups', OL);
    expect((await back).json()).toMatchObject({ on_battery_s: 0 });

    for (const type of ['power_lost', 'low_battery', 'power_restored']) await event(type);
  });

  it('refuses a command that is not allow-listed, with ok:false, and leaves the UPS alone', async () => {
    await watch.publish('blackstart/ups/lab/set', JSON.stringify({ action: 'load.off', id: 'no-1' }));
    const r = await watch.waitForTopic('blackstart/ups/lab/result', (m) => m.json().id === 'no-1');
    expect(r.json()).toMatchObject({ ok: false, action: 'load.off', error: { code: 'BAD_REQUEST' } });
    await sleep(600);
    expect(watch.messages.filter((m) => m.topic === 'blackstart/ups/lab').slice(-1)[0]?.json().status).toBe('online');
  });

  it('sets forced shutdown from MQTT as primary: upsd latches FSD and the state says shutting_down', async () => {
    const shutting = next((m) => status(m) === 'shutting_down', 'shutting_down');
    await watch.publish('blackstart/ups/lab/set', JSON.stringify({ action: 'fsd', id: 'fsd-1' }));
    const r = await watch.waitForTopic('blackstart/ups/lab/result', (m) => m.json().id === 'fsd-1');
    expect(r.json()).toMatchObject({ ok: true, action: 'fsd' });
    expect((await shutting).json().flags).toEqual(['FSD', 'OL']);
    await nut.waitForStatus('labups', 'FSD OL');
  });

  it('says comm_lost when upsd dies (after dead_time) and recovers when it is back', async () => {
    const lost = next((m) => status(m) === 'comm_lost', 'comm_lost');
    await nut.stopUpsd();
    expect((await lost).json()).toMatchObject({ charge_pct: null, flags: [] });

    const back = next((m) => status(m) !== 'comm_lost', 'a reading after restart', 15_000);
    await nut.startUpsd();
    // A restarted upsd has forgotten FSD: the UPS reads online again.
    expect(status(await back)).toBe('online');
    for (const type of ['ups_comm_lost', 'ups_comm_restored']) await event(type);
  });

  it('never printed a password', () => {
    expect(output).not.toContain(NUT_USERS.monuser.password);
    expect(output).not.toContain(HUB.password);
    expect(watch.messages.map((m) => m.text).join('\n')).not.toContain(NUT_USERS.monuser.password);
  });
});
