/**
 * The done-when of the IPMI issue with real peers: the `blackstart ipmi` CLI drives a real
 * ipmi_sim and agrees with ipmitool; `blackstart run` with an `ipmi:` host publishes power and
 * sensors on a real Mosquitto and obeys `/set` through the BMC.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, stopRun, until, type CliRun } from '../helpers/cli-run';
import { IPMI_USERS, freeUdpPort, ipmiSimMissing, startIpmiSim, type IpmiSim } from '../helpers/ipmi-sim';
import { mqttYaml, startMosquitto, type Mosquitto } from '../helpers/mosquitto';
import { Watcher } from '../helpers/mqtt-watch';

const missing = ipmiSimMissing();
const OPER = IPMI_USERS.operator;
const ADMIN = IPMI_USERS.admin;

/** `ipmitool sdr list` rows as {name: {value, unit, status}}. */
function parseSdrList(text: string): Record<string, { value: number | null; unit: string; status: string }> {
  const out: Record<string, { value: number | null; unit: string; status: string }> = {};
  for (const line of text.split('\n')) {
    const cols = line.split('|').map((c) => c.trim());
    if (cols.length !== 3) continue;
    const [name, reading, status] = cols as [string, string, string];
    const m = /^(-?[\d.]+)\s*(.*)$/.exec(reading);
    out[name] = m ? { value: Number(m[1]), unit: (m[2] ?? '').trim(), status } : { value: null, unit: '', status };
  }
  return out;
}

(missing ? describe.skip : describe)('blackstart ipmi against a real ipmi_sim', () => {
  let sim: IpmiSim;
  const env = { BS_BMC_PW: OPER.password, BS_ADMIN_PW: ADMIN.password, BS_WRONG_PW: 'not-the-password' };
  const args = (verb: string, who: 'oper' | 'admin' = 'oper', extra: string[] = []): string[] => [
    'ipmi',
    verb,
    '--host',
    '127.0.0.1',
    '--port',
    String(sim.port),
    '--user',
    who === 'oper' ? OPER.username : ADMIN.username,
    '--password-env',
    who === 'oper' ? 'BS_BMC_PW' : 'BS_ADMIN_PW',
    ...extra,
  ];

  beforeAll(async () => {
    sim = await startIpmiSim();
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it('status --json says what ipmitool says, off and on again', async () => {
    const run = cli([...args('status'), '--json', '--cipher', '3'], env);
    expect(await run.code).toBe(0);
    expect(JSON.parse(run.stdout())).toMatchObject({ power: 'on', cipher_suite: 3, bmc: `${OPER.username}@127.0.0.1:${sim.port}` });
    expect((await sim.ipmitool(['chassis', 'power', 'status'])).stdout).toMatch(/Chassis Power is on/);

    const off = cli(args('off'), env);
    expect(await off.code).toBe(0);
    expect(off.stdout()).toMatch(/power off: accepted/);
    expect(sim.powerState()).toBe('0');
    expect((await sim.ipmitool(['chassis', 'power', 'status'])).stdout).toMatch(/Chassis Power is off/);
    const st = cli([...args('status'), '--json'], env);
    expect(await st.code).toBe(0);
    expect(JSON.parse(st.stdout()).power).toBe('off');

    const on = cli(args('on', 'oper', ['--json']), env);
    expect(await on.code).toBe(0);
    expect(JSON.parse(on.stdout())).toMatchObject({ ok: true, action: 'on' });
    expect(sim.powerState()).toBe('1');
    expect((await sim.ipmitool(['chassis', 'power', 'status'])).stdout).toMatch(/Chassis Power is on/);
  });

  it('cycle, reset and soft reach the chassis script as ipmitool would send them', async () => {
    const before = sim.chassisLog().length;
    for (const verb of ['reset', 'soft', 'cycle']) expect(await cli(args(verb), env).code).toBe(0);
    await until(() => sim.chassisLog().slice(before).includes('set power 1'), 5000, 'power back on after the cycle');
    const sets = sim.chassisLog().slice(before).filter((l) => l.startsWith('set'));
    expect(sets).toEqual(['set reset 1', 'set shutdown 1', 'set power 0', 'set power 1']);
  });

  it('sensors --json equal `ipmitool sdr list`, also past thresholds', async () => {
    const check = async (): Promise<Record<string, unknown>> => {
      const run = cli([...args('sensors'), '--json'], env);
      expect(await run.code).toBe(0);
      const ours = JSON.parse(run.stdout()) as Record<string, unknown>;
      expect(ours).toEqual(parseSdrList((await sim.ipmitool(['sdr', 'list'])).stdout));
      return ours;
    };
    expect(await check()).toEqual({
      'CPU Temp': { value: 45, unit: 'degrees C', status: 'ok' },
      'Fan 1': { value: 3000, unit: 'RPM', status: 'ok' },
    });
    sim.setTemp(85);
    sim.setFanRaw(7);
    await new Promise((r) => setTimeout(r, 1300));
    try {
      expect(await check()).toMatchObject({ 'CPU Temp': { value: 85, status: 'cr' }, 'Fan 1': { value: 350, status: 'nr' } });
    } finally {
      sim.setTemp(45);
      sim.setFanRaw(60);
    }
    const text = cli(args('sensors'), env);
    expect(await text.code).toBe(0);
    expect(text.stdout()).toMatch(/^CPU Temp\s+\| \d+ degrees C\s+\| \w+$/m);
  });

  it('a wrong password exits 3 (AUTH) quickly and never prints the password', async () => {
    const t0 = Date.now();
    const run = cli(['ipmi', 'status', '--host', '127.0.0.1', '--port', String(sim.port), '--user', OPER.username, '--password-env', 'BS_WRONG_PW'], env);
    expect(await run.code).toBe(3);
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(run.stderr()).toMatch(/blackstart: .*(password|auth)/i);
    expect(run.stdout() + run.stderr()).not.toContain(env.BS_WRONG_PW);
  });

  it('nothing listening exits 5 (TIMEOUT) within the configured time', async () => {
    const port = await freeUdpPort();
    const t0 = Date.now();
    const run = cli(['ipmi', 'status', '--host', '127.0.0.1', '--port', String(port), '--user', 'x', '--password-env', 'BS_BMC_PW', '--timeout', '200ms', '--retries', '1', '--cipher', '3'], env);
    expect(await run.code).toBe(5);
    const elapsed = Date.now() - t0;
    // Two attempts of 200 ms, plus a Node start-up.
    expect(elapsed).toBeGreaterThanOrEqual(400);
    expect(elapsed).toBeLessThan(3000);
    expect(run.stderr()).toContain(`127.0.0.1:${port}`);
  });

  it('refuses bad flags with exit 2 before sending anything', async () => {
    const noPw = cli(['ipmi', 'status', '--host', '127.0.0.1', '--user', 'x']);
    expect(await noPw.code).toBe(2);
    expect(noPw.stderr()).toMatch(/--password-env/);
    const verb = cli(['ipmi', 'explode', '--host', '127.0.0.1', '--user', 'x', '--password-env', 'BS_BMC_PW'], env);
    expect(await verb.code).toBe(2);
    expect(verb.stderr()).toMatch(/unknown ipmi command "explode"/);
    const cipher = cli([...args('status'), '--cipher', '7'], env);
    expect(await cipher.code).toBe(1);
    expect(cipher.stderr()).toMatch(/cipher_suite/);
  });
});

(missing ? describe.skip : describe)('blackstart run with an ipmi host, real ipmi_sim and Mosquitto', () => {
  const HUB = { username: 'hub', password: 'hub-pw-5e1d', acl: ['topic readwrite blackstart/#'] };
  const CLIENT = { username: 'client', password: 'client-pw-c3a8', acl: ['topic read blackstart/#', 'topic write blackstart/host/+/set'] };
  let mosq: Mosquitto;
  let sim: IpmiSim;
  let daemon: CliRun | undefined;
  const output = (): string => (daemon ? daemon.stdout() + daemon.stderr() : '');
  let watch: Watcher;

  beforeAll(async () => {
    [mosq, sim] = await Promise.all([startMosquitto([HUB, CLIENT]), startIpmiSim()]);
    const cfg = join(mosq.dir, 'blackstart.yaml');
    writeFileSync(
      cfg,
      `${mqttYaml(mosq.url, HUB.username)}hosts:
  db:
    name: Database server
    ipmi:
      host: 127.0.0.1
      port: ${sim.port}
      username: ${OPER.username}
      password_env: BS_BMC_PW
      poll_interval: 1s
      sensor_interval: 1s
      timeout: 300ms
      retries: 1
`,
    );
    daemon = cli(['run', '-c', cfg, '--log-level', 'debug'], { BS_MQTT_PW: HUB.password, BS_BMC_PW: OPER.password });
    watch = await Watcher.connect(mosq.url, { username: CLIENT.username, password: CLIENT.password }, ['blackstart/#']);
  });

  afterAll(async () => {
    await watch?.close();
    await stopRun(daemon);
    await Promise.all([sim?.stop(), mosq?.close()]);
  });

  const request = async (action: string, id: string): Promise<Record<string, unknown>> => {
    const result = watch.next('blackstart/host/db/result', (m) => m.json().id === id, `result ${id}`);
    await watch.publish('blackstart/host/db/set', JSON.stringify({ action, id }));
    return (await result).json();
  };

  it('publishes chassis power and sensors read from the BMC', async () => {
    const state = await watch.waitForTopic('blackstart/host/db', (m) => m.json().power === 'on', 10_000);
    expect(state.json()).toMatchObject({ power: 'on', phase: 'running', last_error: null });
    const sensors = await watch.waitForTopic('blackstart/host/db/sensors', () => true, 10_000);
    expect(sensors.json()).toEqual({ 'CPU Temp': { value: 45, unit: 'degrees C', status: 'ok' }, 'Fan 1': { value: 3000, unit: 'RPM', status: 'ok' } });
  });

  it('obeys power_off and power_on from /set, and MQTT follows the BMC', async () => {
    const down = watch.next('blackstart/host/db', (m) => m.json().power === 'off', 'power off on MQTT');
    expect(await request('power_off', 'off-1')).toMatchObject({ ok: true, action: 'power_off' });
    expect(sim.powerState()).toBe('0');
    expect((await down).json()).toMatchObject({ phase: 'down' });

    const up = watch.next('blackstart/host/db', (m) => m.json().power === 'on', 'power on on MQTT');
    expect(await request('power_on', 'on-1')).toMatchObject({ ok: true });
    expect(sim.powerState()).toBe('1');
    expect((await up).json()).toMatchObject({ phase: 'running' });
  });

  it('soft_off asks the OS to shut down (ACPI) and shows shutting_down', async () => {
    const shutting = watch.next('blackstart/host/db', (m) => m.json().phase === 'shutting_down', 'shutting_down');
    expect(await request('soft_off', 'soft-1')).toMatchObject({ ok: true });
    await shutting;
    expect(sim.chassisLog()).toContain('set shutdown 1');
    // The simulated OS "finishes" its shutdown: the BMC reads power off.
    const down = watch.next('blackstart/host/db', (m) => m.json().phase === 'down', 'down after soft-off');
    sim.setPowerState(false);
    await down;
    expect(await request('power_on', 'on-2')).toMatchObject({ ok: true });
  });

  it('refuses actions the BMC has no method for, and unknown actions, with ok:false', async () => {
    expect(await request('wake', 'wake-1')).toMatchObject({ ok: false, error: { code: 'UNSUPPORTED' } });
    expect(await request('self_destruct', 'bad-1')).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  });

  it('sensor thresholds crossed on the BMC show on MQTT', async () => {
    const hot = watch.next('blackstart/host/db/sensors', (m) => (m.json()['CPU Temp'] as { status: string }).status === 'cr', 'CPU Temp cr', 10_000);
    sim.setTemp(85);
    try {
      expect((await hot).json()['CPU Temp']).toEqual({ value: 85, unit: 'degrees C', status: 'cr' });
    } finally {
      sim.setTemp(45);
    }
  });

  it('a dead BMC gives power unknown with the reason; a restarted one is read again', async () => {
    const lost = watch.next('blackstart/host/db', (m) => m.json().power === 'unknown', 'power unknown', 10_000);
    await sim.kill();
    expect(String((await lost).json().last_error)).toMatch(/^BMC: .*127\.0\.0\.1:\d+/);
    const back = watch.next('blackstart/host/db', (m) => m.json().power === 'on', 'power on again', 15_000);
    await sim.restart();
    expect((await back).json()).toMatchObject({ last_error: null });
  });

  it('never printed a password', () => {
    const all = output() + watch.messages.map((m) => m.text).join('\n');
    expect(all).not.toContain(OPER.password);
    expect(all).not.toContain(HUB.password);
  });
});
