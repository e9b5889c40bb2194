/**
 * Remote mode: a Blackstart runs in this process with its embedded broker (password login), and a
 * `blackstart-config` in remote mode reaches it over MQTT. The nodes behave as in process.
 */
import { startBlackstart, type Blackstart } from '../../../src/app';
import { parseConfig } from '../../../src/config/loader';
import { silentLogger } from '../../../src/core/logger';
import { freePort } from '../../helpers/ports';
import { Watcher } from '../../helpers/mqtt-watch';
import { ALL_NODES, collect, errors, helper, initHelper, statuses, until } from './lab';

const PASSWORD = 'nr-s3cret';

describe('blackstart nodes in remote mode', () => {
  let app: Blackstart;
  let url: string;
  beforeAll(async () => {
    initHelper();
    const port = await freePort();
    url = `mqtt://127.0.0.1:${port}`;
    process.env.NR_TEST_MQTT_PW = PASSWORD;
    const { config } = parseConfig(`
mqtt: { embedded: { host: 127.0.0.1, port: ${port}, username: lab, password_env: NR_TEST_MQTT_PW } }
ups:
  rack: { simulated: { interval: 100ms } }
hosts:
  nas: { simulated: { shutdown_takes: 200ms, wake_takes: 200ms } }
  hv:
    simulated: {}
    vms:
      simulated: {}
      poll_every: 500ms
      guests:
        db: { name: "Database VM", stop: save, simulated: { stop_takes: 300ms, start_takes: 300ms } }
`);
    app = await startBlackstart(config, { log: silentLogger() });
  });
  afterAll(() => app.stop());
  afterEach(() => helper.unload());

  function remote(password: string): [Record<string, unknown>[], Record<string, Record<string, string>>] {
    return [[{ id: 'cfg', type: 'blackstart-config', mode: 'remote', url, baseTopic: 'blackstart', username: 'lab' }], { cfg: { password } }];
  }

  it('reads UPS, host, sensors and outage state, and runs host and outage commands', async () => {
    const [cfg, creds] = remote(PASSWORD);
    await helper.load(
      ALL_NODES,
      [
        { id: 'f', type: 'tab' },
        ...cfg,
        { id: 'u', z: 'f', type: 'blackstart-ups', server: 'cfg', ups: 'rack', wires: [['ups']] },
        { id: 'h', z: 'f', type: 'blackstart-host', server: 'cfg', host: 'nas', wires: [['host']] },
        { id: 'p', z: 'f', type: 'blackstart-power', server: 'cfg', host: 'nas', action: 'shutdown', wires: [['power']] },
        { id: 's', z: 'f', type: 'blackstart-sensors', server: 'cfg', host: 'nas', wires: [['sensors']] },
        { id: 'o', z: 'f', type: 'blackstart-outage', server: 'cfg', wires: [[], [], ['result']] },
        { id: 'c', z: 'f', type: 'catch', scope: ['o', 'p'], wires: [['caught']] },
        ...['ups', 'host', 'power', 'sensors', 'result', 'caught'].map((id) => ({ id, z: 'f', type: 'helper' })),
      ],
      creds,
    );
    const out = Object.fromEntries(['ups', 'host', 'power', 'sensors', 'result', 'caught'].map((id) => [id, collect(helper.getNode(id))]));
    const upsDots = statuses(helper.getNode('u'));
    const outageDots = statuses(helper.getNode('o'));
    await until('UPS state over MQTT', () => upsDots.find((d) => d.text?.startsWith('online')));
    await until('outage state over MQTT', () => outageDots.find((d) => d.text === 'normal'));

    helper.getNode('u').receive({});
    expect(await until('ups state', () => out.ups!.find((m) => m.topic === 'state'))).toMatchObject({ topic: 'state', payload: { status: 'online' } });

    helper.getNode('p').receive({});
    expect(await until('shutdown result', () => out.power![0])).toMatchObject({ payload: { action: 'shutdown', ok: true, id: expect.stringMatching(/^remote-/) } });
    await until('nas down', () => out.host!.find((m) => m.topic === 'down'));
    helper.getNode('p').receive({ host: 'ghost', action: 'wake' });
    expect(await until('caught', () => out.caught![0])).toMatchObject({ payload: { ok: false, error: { code: 'NOT_FOUND' } } });

    // Sensors come from the retained topic, as a BMC-equipped daemon publishes them.
    const w = await Watcher.connect(url, { username: 'lab', password: PASSWORD });
    await w.publish('blackstart/host/nas/sensors', JSON.stringify({ 'CPU Temp': { value: 45, unit: 'degrees C', status: 'ok' } }), { qos: 1, retain: true });
    expect(await until('sensors', () => out.sensors![0])).toMatchObject({ topic: 'nas', payload: { 'CPU Temp': { value: 45, unit: 'degrees C', status: 'ok' } } });
    await w.publish('blackstart/host/nas/sensors', '', { qos: 1, retain: true });
    await w.close();

    helper.getNode('o').receive({ payload: 'abort' });
    expect(await until('abort refused', () => out.caught![1])).toMatchObject({ payload: { ok: false, error: { code: 'REFUSED' } } });
  });

  it('reads a guest from its retained topic and runs guest actions over MQTT', async () => {
    const [cfg, creds] = remote(PASSWORD);
    await helper.load(
      ALL_NODES,
      [
        { id: 'f', type: 'tab' },
        ...cfg,
        { id: 'v', z: 'f', type: 'blackstart-vm', server: 'cfg', host: 'hv', guest: 'db', wires: [['state']] },
        { id: 'p', z: 'f', type: 'blackstart-vm-power', server: 'cfg', host: 'hv', guest: 'db', action: 'save', wires: [['result']] },
        { id: 'c', z: 'f', type: 'catch', scope: ['p'], wires: [['caught']] },
        ...['state', 'result', 'caught'].map((id) => ({ id, z: 'f', type: 'helper' })),
      ],
      creds,
    );
    const out = Object.fromEntries(['state', 'result', 'caught'].map((id) => [id, collect(helper.getNode(id))]));
    const dots = statuses(helper.getNode('v'));
    await until('db running over MQTT', () => dots.find((d) => d.text === 'running'));

    helper.getNode('p').receive({});
    expect(await until('save result', () => out.result![0])).toMatchObject({ topic: 'hv/db', payload: { action: 'save', ok: true, id: expect.stringMatching(/^remote-/) } });
    expect(await until('saved', () => out.state!.find((m) => m.topic === 'saved'))).toMatchObject({ host: 'hv', guest: 'db', payload: { state: 'saved', name: 'Database VM' } });
    helper.getNode('p').receive({ payload: 'start' });
    await until('start result', () => out.result![1]);
    await until('running again', () => out.state!.find((m) => m.topic === 'running' && m.previous === 'saved'));
    helper.getNode('p').receive({ guest: 'ghost', payload: 'start' });
    expect(await until('caught', () => out.caught![0])).toMatchObject({ payload: { ok: false, error: { code: 'NOT_FOUND' } } });
  });

  it('keeps the password out of the flow and shows offline when the login is refused', async () => {
    const [cfg, creds] = remote('wrong');
    await helper.load(
      ALL_NODES,
      [
        { id: 'f', type: 'tab' },
        ...cfg,
        { id: 'p', z: 'f', type: 'blackstart-power', server: 'cfg', host: 'nas', action: 'wake', wires: [[]] },
      ],
      creds,
    );
    expect(JSON.stringify(cfg)).not.toContain('wrong');
    const errs = errors(helper.getNode('p'));
    const dots = statuses(helper.getNode('p'));
    helper.getNode('p').receive({});
    await until('refused', () => errs[0]);
    expect(errs[0]!.err).toMatchObject({ code: 'UNREACHABLE' });
    expect(dots.find((d) => d.text === 'Blackstart offline') ?? dots.at(-1)).toMatchObject({ fill: 'red' });
  });
});
