/**
 * Home Assistant MQTT discovery end to end through a real Mosquitto (with auth and an ACL): a
 * running Blackstart with a simulated UPS, a simulated server (every action, as with a BMC) and a
 * probe-only host; the test client plays Home Assistant: reads the configs, sends its birth
 * message, and presses what the configs offer.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { startBlackstart, type Blackstart } from '../../src/app';
import { parseConfig } from '../../src/config/loader';
import { silentLogger } from '../../src/core/logger';
import { renderTemplate } from '../helpers/jinja-lite';
import { mqttYaml, startMosquitto, type Mosquitto } from '../helpers/mosquitto';
import { Watcher, type Received } from '../helpers/mqtt-watch';

const HUB = { username: 'hub', password: 'hub-pw-93c1', acl: ['topic readwrite blackstart/#', 'topic readwrite homeassistant/#'] };
/** What Home Assistant's own broker account needs: discovery and birth, state, and commands. */
const HA = {
  username: 'homeassistant',
  password: 'ha-pw-51d2',
  acl: ['topic readwrite homeassistant/#', 'topic read blackstart/#', 'topic write blackstart/host/+/set'],
};

const EXPECTED = [
  'homeassistant/sensor/blackstart/ups_main_charge/config',
  'homeassistant/sensor/blackstart/ups_main_runtime/config',
  'homeassistant/sensor/blackstart/ups_main_load/config',
  'homeassistant/sensor/blackstart/ups_main_input_voltage/config',
  'homeassistant/binary_sensor/blackstart/ups_main_on_battery/config',
  'homeassistant/binary_sensor/blackstart/ups_main_low_battery/config',
  'homeassistant/binary_sensor/blackstart/host_web_reachable/config',
  'homeassistant/switch/blackstart/host_web_power/config',
  'homeassistant/button/blackstart/host_web_power_cycle/config',
  'homeassistant/button/blackstart/host_web_reset/config',
  'homeassistant/binary_sensor/blackstart/host_lamp_reachable/config',
].sort();
/** Left on the broker by an earlier run that had a UPS this one does not. */
const STALE = 'homeassistant/sensor/blackstart/ups_gone_charge/config';
/** Another publisher's config under the same prefix: not ours to touch. */
const FOREIGN = 'homeassistant/sensor/other-node/thermo_temp/config';

const yaml = (url: string, lampPort: number, discovery = true): string =>
  `${mqttYaml(url, HUB.username)}  reconnect_min: 200ms
  reconnect_max: 1s
homeassistant:
  discovery: ${discovery}
ups:
  main:
    name: Rack UPS
    simulated:
      interval: 200ms
hosts:
  web:
    name: Web server
    simulated:
      shutdown_takes: 300ms
      wake_takes: 300ms
  lamp:
    address: 127.0.0.1
    probe:
      tcp: [${lampPort}]
      interval: 300ms
      timeout: 200ms
`;

describe('Home Assistant discovery through a real Mosquitto', () => {
  let mosq: Mosquitto;
  let lamp: Server;
  let lampPort: number;
  let app: Blackstart | undefined;
  const watchers: Watcher[] = [];

  const ha = async (): Promise<Watcher> => {
    const w = await Watcher.connect(mosq.url, { username: HA.username, password: HA.password }, ['homeassistant/#', 'blackstart/#']);
    watchers.push(w);
    return w;
  };
  const start = async (discovery = true): Promise<Blackstart> => {
    const { config } = parseConfig(yaml(mosq.url, lampPort, discovery), { env: { BS_MQTT_PW: HUB.password } });
    app = await startBlackstart(config, { log: silentLogger() });
    await app.bridge.ready();
    return app;
  };
  /** The retained configs of our node a new subscriber gets (the marker shows the replay is over). */
  const retainedConfigs = async (): Promise<Map<string, Received>> => {
    const w = await ha();
    const marker = `homeassistant/test-marker/${Math.random().toString(16).slice(2)}`;
    await w.publish(marker, 'end');
    await w.waitForTopic(marker);
    const out = new Map<string, Received>();
    for (const m of w.messages) if (m.retain && m.topic.startsWith('homeassistant/') && m.text !== '') out.set(m.topic, m);
    await w.close();
    return out;
  };
  const allArrived = (w: Watcher, from: number, what: string): Promise<void> =>
    Promise.all(EXPECTED.map((t) => w.waitFor((m) => w.messages.indexOf(m) >= from && m.topic === t && m.text !== '', 8000, `${what}: ${t}`))).then(() => undefined);

  beforeAll(async () => {
    mosq = await startMosquitto([HUB, HA]);
    lamp = createServer((s) => s.destroy());
    await new Promise<void>((r) => lamp.listen(0, '127.0.0.1', r));
    lampPort = (lamp.address() as AddressInfo).port;
  });
  afterEach(async () => {
    for (const w of watchers.splice(0)) await w.close().catch(() => undefined);
  });
  afterAll(async () => {
    await app?.stop();
    await new Promise<void>((r) => lamp.close(() => r()));
    await mosq.close();
  });

  it('publishes every config retained, clears a stale one of its own node, leaves others alone', async () => {
    const seed = await ha();
    await seed.publish(STALE, '{"name":"Battery charge"}', { qos: 1, retain: true });
    await seed.publish(FOREIGN, '{"name":"Temperature"}', { qos: 1, retain: true });
    await start();
    await allArrived(seed, 0, 'config');
    await seed.waitFor((m) => m.topic === STALE && m.text === '', 8000, 'the stale config cleared');

    const retained = await retainedConfigs();
    expect([...retained.keys()].filter((t) => t.includes('/blackstart/')).sort()).toEqual(EXPECTED);
    expect(retained.has(FOREIGN)).toBe(true);
    for (const t of EXPECTED) {
      const payload = (retained.get(t) as Received).json();
      expect(payload).toMatchObject({ qos: 1, device: { manufacturer: 'Blackstart' } });
      expect((payload.availability as Record<string, unknown>[])[0]).toMatchObject({ topic: 'blackstart/bridge/state' });
      if (t.includes('/switch/') || t.includes('/button/')) expect(typeof payload.command_topic).toBe('string');
      else expect(typeof payload.state_topic).toBe('string');
    }
    // The probe-only host can do nothing: it gets its reachable sensor and no switch or buttons.
    const lampState = await seed.waitForTopic('blackstart/host/lamp', (m) => m.json().reachable === true, 8000);
    const lampSensor = (retained.get('homeassistant/binary_sensor/blackstart/host_lamp_reachable/config') as Received).json();
    expect(renderTemplate(lampSensor.value_template as string, lampState.text)).toBe(lampSensor.payload_on);
    const charge = (retained.get('homeassistant/sensor/blackstart/ups_main_charge/config') as Received).json();
    const upsState = await seed.waitForTopic('blackstart/ups/main', (m) => m.json().status === 'online');
    expect(renderTemplate(charge.value_template as string, upsState.text)).toBe('100');
  });

  it("comes back after the configs are deleted, when Home Assistant's birth says online", async () => {
    const w = await ha();
    for (const t of EXPECTED) await w.publish(t, '', { qos: 1, retain: true });
    expect([...(await retainedConfigs()).keys()].filter((t) => t.includes('/blackstart/'))).toEqual([]);

    const from = w.messages.length;
    await w.publish('homeassistant/status', 'online', { qos: 1 });
    await allArrived(w, from, 'config after the birth');
    expect([...(await retainedConfigs()).keys()].filter((t) => t.includes('/blackstart/')).sort()).toEqual(EXPECTED);
  });

  it('the switch shuts the simulated host down and wakes it; the button power-cycles it', async () => {
    const w = await ha();
    const sw = (await w.waitForTopic('homeassistant/switch/blackstart/host_web_power/config', (m) => m.text !== '')).json();
    const state = (): Promise<Received> => w.waitForTopic('blackstart/host/web', (m) => m.retain);
    expect(renderTemplate(sw.value_template as string, (await state()).text)).toBe(sw.state_on);

    // Each wait starts before its command goes out, so no state change can slip past it.
    const down = w.next('blackstart/host/web', (m) => m.json().phase === 'down', 'web down');
    await w.publish(sw.command_topic as string, sw.payload_off as string);
    const off = await down;
    expect(renderTemplate(sw.value_template as string, off.text)).toBe(sw.state_off);
    const result = await w.waitForTopic('blackstart/host/web/result', (m) => m.json().action === 'shutdown', 8000);
    expect(result.json()).toMatchObject({ ok: true });

    const running = w.next('blackstart/host/web', (m) => m.json().phase === 'running', 'web running');
    await w.publish(sw.command_topic as string, sw.payload_on as string);
    const on = await running;
    expect(renderTemplate(sw.value_template as string, on.text)).toBe(sw.state_on);

    const cycle = (await w.waitForTopic('homeassistant/button/blackstart/host_web_power_cycle/config', (m) => m.text !== '')).json();
    const booting = w.next('blackstart/host/web', (m) => m.json().phase === 'waking', 'web booting after the power cycle');
    await w.publish(cycle.command_topic as string, cycle.payload_press as string);
    await booting;
    const cycled = await w.waitForTopic('blackstart/host/web/result', (m) => m.json().action === 'power_cycle', 8000);
    expect(cycled.json()).toMatchObject({ ok: true });
  });

  it('every entity turns unavailable when Blackstart stops, and discovery: false removes the configs', async () => {
    const w = await ha();
    const cfg = (await w.waitForTopic('homeassistant/sensor/blackstart/ups_main_charge/config', (m) => m.text !== '')).json();
    const availability = (cfg.availability as Record<string, string>[])[0] as Record<string, string>;
    const offline = w.next(availability.topic as string, (m) => m.text === availability.payload_not_available, 'bridge offline');
    await app?.stop();
    app = undefined;
    await offline;
    // Stopping is not removing: Home Assistant keeps the entities, unavailable.
    expect([...(await retainedConfigs()).keys()].filter((t) => t.includes('/blackstart/')).sort()).toEqual(EXPECTED);

    await start(false);
    await Promise.all(EXPECTED.map((t) => w.waitFor((m) => m.topic === t && m.text === '', 8000, `${t} removed`)));
    const left = await retainedConfigs();
    expect([...left.keys()].filter((t) => t.includes('/blackstart/'))).toEqual([]);
    expect(left.has(FOREIGN)).toBe(true);
  });
});
