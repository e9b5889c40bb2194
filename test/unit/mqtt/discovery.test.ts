/**
 * Home Assistant discovery configs, checked against the keys Home Assistant documents for each
 * component (home-assistant.io source/_integrations/{sensor,binary_sensor,switch,button}.mqtt.markdown
 * and mqtt.markdown; `default_entity_id` replaced `object_id` in Home Assistant 2025.10), and their
 * templates rendered against the state payloads the bridge really publishes.
 */
import { buildHub } from '../../../src/adapters/registry';
import { parseConfig } from '../../../src/config/loader';
import { BlackstartError } from '../../../src/core/errors';
import { initialHostState, initialUpsState, initialVmState, type HostState, type UpsState, type VmPower } from '../../../src/core/state';
import { discoveryMessages, hostMessages, type DiscoveryContext, type DiscoveryHost, type DiscoveryMessage, type DiscoveryUps } from '../../../src/mqtt/discovery';
import { DiscoveryPublisher } from '../../../src/mqtt/discovery-publisher';
import { createDiscovery, discoveryDevices } from '../../../src/mqtt/discovery-setup';
import type { IncomingMessage, MqttConnection, PublishOptions } from '../../../src/mqtt/connection';
import { hostPayload, parseCommand, upsPayload, vmPayload } from '../../../src/mqtt/payloads';
import { createDiscoveryTopics, createTopics } from '../../../src/mqtt/topics';
import { silentLogger } from '../../../src/core/logger';
import type { MqttBridge } from '../../../src/mqtt/bridge';
import { renderTemplate } from '../../helpers/jinja-lite';

const COMMON = [
  'availability', 'availability_mode', 'availability_template', 'availability_topic', 'default_entity_id', 'device', 'enabled_by_default',
  'encoding', 'entity_category', 'entity_picture', 'icon', 'json_attributes_template', 'json_attributes_topic', 'name', 'object_id',
  'origin', 'payload_available', 'payload_not_available', 'qos', 'unique_id',
];
const DOCUMENTED: Record<string, { required: string[]; keys: string[]; deviceClasses: string[] }> = {
  sensor: {
    required: ['state_topic'],
    keys: ['device_class', 'expire_after', 'force_update', 'last_reset_value_template', 'options', 'suggested_display_precision', 'state_class', 'state_topic', 'unit_of_measurement', 'value_template'],
    deviceClasses: ['battery', 'duration', 'voltage', 'power_factor'],
  },
  binary_sensor: {
    required: ['state_topic'],
    keys: ['device_class', 'expire_after', 'force_update', 'off_delay', 'payload_off', 'payload_on', 'state_topic', 'value_template'],
    deviceClasses: ['battery', 'connectivity', 'power', 'problem', 'plug', 'running'],
  },
  switch: {
    required: ['command_topic'],
    keys: ['command_template', 'command_topic', 'device_class', 'optimistic', 'payload_off', 'payload_on', 'retain', 'state_off', 'state_on', 'state_topic', 'value_template'],
    deviceClasses: ['outlet', 'switch'],
  },
  button: {
    required: ['command_topic'],
    keys: ['command_template', 'command_topic', 'device_class', 'payload_press', 'retain'],
    deviceClasses: ['identify', 'restart', 'update'],
  },
};
const DEVICE_KEYS = ['configuration_url', 'connections', 'hw_version', 'identifiers', 'manufacturer', 'model', 'model_id', 'name', 'serial_number', 'suggested_area', 'sw_version', 'via_device'];
const AVAILABILITY_KEYS = ['topic', 'payload_available', 'payload_not_available', 'value_template'];
/** Units Home Assistant accepts for each sensor device class we use. */
const UNITS: Record<string, string[]> = { battery: ['%'], duration: ['s', 'min', 'h', 'd', 'ms'], voltage: ['V', 'mV', 'kV'] };

const topics = createTopics('blackstart');
const ctx: DiscoveryContext = { topics, discovery: createDiscoveryTopics('homeassistant', 'blackstart'), swVersion: '1.2.3' };
const UPS: DiscoveryUps = { id: 'main', name: 'Rack UPS', model: 'UPS via NUT' };
const ALL = ['wake', 'shutdown', 'power_on', 'power_off', 'power_cycle', 'reset', 'soft_off'];
const host = (id: string, capabilities: string[], probed = true): DiscoveryHost => ({ id, name: id.toUpperCase(), model: 'Server', capabilities, probed });
const sample = (): DiscoveryMessage[] =>
  discoveryMessages(ctx, { ups: [UPS], hosts: [host('nas', ALL), { ...host('web-1', ['wake', 'shutdown']), guests: GUESTS }, host('probe-only', [])] });
const GUESTS = [
  { id: 'db', name: 'PostgreSQL 16', stop: 'save' },
  { id: 'web', name: 'web', stop: 'shutdown' },
];

const find = (msgs: DiscoveryMessage[], suffix: string): DiscoveryMessage => {
  const m = msgs.find((x) => x.topic.endsWith(`/${suffix}/config`));
  if (!m) throw new Error(`no config ${suffix} in ${msgs.map((x) => x.topic).join(', ')}`);
  return m;
};
const str = (v: unknown): string => {
  if (typeof v !== 'string') throw new Error(`expected a string, got ${JSON.stringify(v)}`);
  return v;
};
const ups = (patch: Partial<UpsState>): string => JSON.stringify(upsPayload({ ...initialUpsState(0), ...patch }));
const hostState = (patch: Partial<HostState>): string => JSON.stringify(hostPayload({ ...initialHostState(0), ...patch }));

describe('Home Assistant discovery configs', () => {
  it('has the keys Home Assistant requires for each component, and only keys it documents', () => {
    const msgs = sample();
    expect(new Set(msgs.map((m) => m.component))).toEqual(new Set(['sensor', 'binary_sensor', 'switch', 'button']));
    for (const { component, topic, payload } of msgs) {
      const doc = DOCUMENTED[component];
      if (!doc) throw new Error(component);
      for (const key of doc.required) expect({ topic, [key]: typeof payload[key] }).toEqual({ topic, [key]: 'string' });
      const unknown = Object.keys(payload).filter((k) => !COMMON.includes(k) && !doc.keys.includes(k));
      expect({ topic, unknown }).toEqual({ topic, unknown: [] });
      if (payload.device_class !== undefined) expect(doc.deviceClasses).toContain(payload.device_class);

      // The device block needs unique_id on the entity and identifiers (or connections).
      expect(typeof payload.unique_id).toBe('string');
      const device = payload.device as Record<string, unknown>;
      expect(Object.keys(device).filter((k) => !DEVICE_KEYS.includes(k))).toEqual([]);
      expect(device).toMatchObject({ manufacturer: 'Blackstart', sw_version: '1.2.3' });
      expect((device.identifiers as string[]).length).toBeGreaterThan(0);
      expect(payload.origin).toEqual({ name: 'Blackstart', sw_version: '1.2.3' });

      const availability = payload.availability as Record<string, unknown>[];
      expect(availability[0]).toEqual({ topic: 'blackstart/bridge/state', payload_available: 'online', payload_not_available: 'offline' });
      for (const a of availability) {
        expect(typeof a.topic).toBe('string');
        expect(Object.keys(a).filter((k) => !AVAILABILITY_KEYS.includes(k))).toEqual([]);
      }
      if (payload.availability_mode !== undefined) expect(['all', 'any', 'latest']).toContain(payload.availability_mode);
      expect(payload.qos).toBe(1);
    }
  });

  it('puts each config on <prefix>/<component>/<node_id>/<object_id>/config', () => {
    for (const m of sample()) {
      expect(m.topic).toMatch(/^homeassistant\/(sensor|binary_sensor|switch|button)\/blackstart\/[A-Za-z0-9_-]+\/config$/);
      expect(m.topic.split('/')[1]).toBe(m.component);
      expect(ctx.discovery.isConfig(m.topic)).toBe(true);
    }
    expect(find(sample(), 'ups_main_charge').topic).toBe('homeassistant/sensor/blackstart/ups_main_charge/config');
  });

  it('gives unique, stable ids and entity ids Home Assistant accepts', () => {
    const msgs = sample();
    const ids = msgs.map((m) => m.payload.unique_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(msgs.map((m) => m.topic)).size).toBe(msgs.length);
    for (const m of msgs) expect(str(m.payload.default_entity_id)).toMatch(new RegExp(`^${m.component}\\.[a-z0-9_]+$`));
    expect(find(msgs, 'host_web-1_power').payload.default_entity_id).toBe('switch.blackstart_host_web_1_power');

    // Ids come from base topic, device and entity only: another device or another order changes none.
    const alone = hostMessages(ctx, host('nas', ALL));
    for (const m of alone) expect(msgs.find((x) => x.topic === m.topic)?.payload.unique_id).toBe(m.payload.unique_id);
    const other = discoveryMessages({ ...ctx, topics: createTopics('lab/ups'), discovery: createDiscoveryTopics('homeassistant', 'lab/ups') }, { ups: [UPS], hosts: [] });
    expect(find(other, 'ups_main_charge').topic).toBe('homeassistant/sensor/lab_ups/ups_main_charge/config');
    expect(find(other, 'ups_main_charge').payload.unique_id).toBe('lab_ups_ups_main_charge');
    expect(find(msgs, 'ups_main_charge').payload.unique_id).toBe('blackstart_ups_main_charge');
  });

  it('UPS sensors read keys the UPS state payload has, with units Home Assistant accepts', () => {
    const msgs = sample();
    const state = ups({ status: 'on_battery', chargePct: 87, runtimeS: 1260, loadPct: 38, inputV: 0 });
    const expected: Record<string, [string, string, string | undefined]> = {
      ups_main_charge: ['87', '%', 'battery'],
      ups_main_runtime: ['1260', 's', 'duration'],
      ups_main_load: ['38', '%', undefined],
      ups_main_input_voltage: ['0', 'V', 'voltage'],
    };
    for (const [suffix, [value, unit, deviceClass]] of Object.entries(expected)) {
      const p = find(msgs, suffix).payload;
      expect(p).toMatchObject({ state_topic: 'blackstart/ups/main', unit_of_measurement: unit, state_class: 'measurement' });
      expect(p.device_class).toBe(deviceClass);
      if (deviceClass) expect(UNITS[deviceClass]).toContain(unit);
      expect(renderTemplate(str(p.value_template), state)).toBe(value);
      // A value the source does not give is null: Home Assistant reads the rendered None as unknown.
      expect(renderTemplate(str(p.value_template), ups({ status: 'online' }))).toBe('None');
    }
    expect(find(msgs, 'ups_main_charge').payload.device).toEqual({ identifiers: ['blackstart_ups_main'], name: 'Rack UPS', manufacturer: 'Blackstart', model: 'UPS via NUT', sw_version: '1.2.3' });
  });

  it('UPS binary sensors and availability follow the status', () => {
    const msgs = sample();
    const onBattery = find(msgs, 'ups_main_on_battery').payload;
    const low = find(msgs, 'ups_main_low_battery').payload;
    expect(low.device_class).toBe('battery');
    const cases: [UpsState['status'], string, string, string][] = [
      ['online', 'OFF', 'OFF', 'online'],
      ['on_battery', 'ON', 'OFF', 'online'],
      ['low_battery', 'ON', 'ON', 'online'],
      ['shutting_down', 'OFF', 'OFF', 'online'],
      ['off', 'OFF', 'OFF', 'online'],
      ['comm_lost', 'OFF', 'OFF', 'offline'],
    ];
    const upsAvailability = (onBattery.availability as Record<string, string>[])[1] as Record<string, string>;
    expect(onBattery.availability_mode).toBe('all');
    expect(upsAvailability.topic).toBe('blackstart/ups/main');
    for (const [status, on, isLow, available] of cases) {
      const state = ups({ status });
      expect([status, renderTemplate(str(onBattery.value_template), state)]).toEqual([status, on]);
      expect([status, renderTemplate(str(low.value_template), state)]).toEqual([status, isLow]);
      expect([status, renderTemplate(str(upsAvailability.value_template), state)]).toEqual([status, available]);
      expect([onBattery.payload_on, onBattery.payload_off]).toContain(on);
    }
    // Every UPS entity shares that availability.
    for (const m of msgs.filter((x) => x.topic.includes('/ups_main_'))) expect(m.payload.availability).toEqual(onBattery.availability);
  });

  it('host reachable renders True / False / None against the host payload', () => {
    const p = find(sample(), 'host_nas_reachable').payload;
    expect(p).toMatchObject({ state_topic: 'blackstart/host/nas', device_class: 'connectivity', payload_on: 'True', payload_off: 'False' });
    expect(renderTemplate(str(p.value_template), hostState({ reachable: true }))).toBe(p.payload_on);
    expect(renderTemplate(str(p.value_template), hostState({ reachable: false }))).toBe(p.payload_off);
    expect(renderTemplate(str(p.value_template), hostState({ reachable: null }))).toBe('None');
    // Nothing tells whether an unprobed host answers: no entity that could only ever be unknown.
    expect(hostMessages(ctx, host('bmc-only', ['power_on'], false)).map((m) => m.topic)).toEqual(['homeassistant/switch/blackstart/host_bmc-only_power/config']);
  });

  it('the host switch sends ON / OFF to the command topic and follows the phase', () => {
    const p = find(sample(), 'host_nas_power').payload;
    expect(p).toMatchObject({ command_topic: 'blackstart/host/nas/set', state_topic: 'blackstart/host/nas', payload_on: 'ON', payload_off: 'OFF', state_on: 'ON', state_off: 'OFF', optimistic: false, retain: false });
    expect(parseCommand(str(p.payload_on)).action).toBe('wake');
    expect(parseCommand(str(p.payload_off)).action).toBe('shutdown');
    const phases: [HostState['phase'], string][] = [['running', 'ON'], ['waking', 'ON'], ['shutting_down', 'OFF'], ['down', 'OFF'], ['unreachable', 'OFF']];
    for (const [phase, expected] of phases) expect([phase, renderTemplate(str(p.value_template), hostState({ phase }))]).toEqual([phase, expected]);
  });

  it("a guest's switch starts it and stops it the outage's way, on its host's device, following the hypervisor's state", () => {
    const msgs = sample();
    const p = find(msgs, 'host_web-1_vm_db').payload;
    expect(p).toMatchObject({ name: 'VM PostgreSQL 16', command_topic: 'blackstart/host/web-1/vm/db/set', state_topic: 'blackstart/host/web-1/vm/db', state_on: 'ON', state_off: 'OFF', retain: false });
    expect(parseCommand(str(p.payload_on)).action).toBe('start');
    expect(parseCommand(str(p.payload_off)).action).toBe('save');
    expect(parseCommand(str(find(msgs, 'host_web-1_vm_web').payload.payload_off)).action).toBe('shutdown');
    expect(p.device).toEqual(find(msgs, 'host_web-1_power').payload.device);
    const info = { host: 'web-1', id: 'db', name: 'PostgreSQL 16' };
    const states: [VmPower, string][] = [['running', 'ON'], ['paused', 'ON'], ['stopping', 'OFF'], ['off', 'OFF'], ['saved', 'OFF'], ['unknown', 'None']];
    for (const [state, expected] of states) {
      const payload = JSON.stringify(vmPayload({ ...initialVmState(0), state }, info));
      expect([state, renderTemplate(str(p.value_template), payload)]).toEqual([state, expected]);
    }
  });

  it('a host without WOL or a shutdown method is switched through its BMC, never by a hard power-off', () => {
    const bmc = hostMessages(ctx, host('bmc', ['power_on', 'power_off', 'power_cycle', 'reset', 'soft_off']));
    const p = find(bmc, 'host_bmc_power').payload;
    expect(parseCommand(str(p.payload_on)).action).toBe('power_on');
    expect(parseCommand(str(p.payload_off)).action).toBe('soft_off');
    expect([p.state_on, p.state_off]).toEqual(['ON', 'OFF']);
    const hardOnly = hostMessages(ctx, host('hard', ['power_off']));
    expect(hardOnly.some((m) => m.component === 'switch')).toBe(false);
  });

  it('publishes power cycle and reset buttons only where an adapter can carry them out', () => {
    const msgs = sample();
    const buttons = msgs.filter((m) => m.component === 'button');
    expect(buttons.map((m) => m.topic).sort()).toEqual(['homeassistant/button/blackstart/host_nas_power_cycle/config', 'homeassistant/button/blackstart/host_nas_reset/config']);
    for (const b of buttons) {
      expect(b.payload).toMatchObject({ command_topic: 'blackstart/host/nas/set', device_class: 'restart', retain: false });
      expect(parseCommand(str(b.payload.payload_press))).toEqual({ action: b.topic.includes('power_cycle') ? 'power_cycle' : 'reset', id: null });
    }
    expect(hostMessages(ctx, host('cycle-only', ['power_cycle'])).filter((m) => m.component === 'button')).toHaveLength(1);
    const probeOnly = msgs.filter((m) => m.topic.includes('/host_probe-only_'));
    expect(probeOnly.map((m) => m.component)).toEqual(['binary_sensor']);
  });
});

describe('discovery from a config', () => {
  const YAML = `
homeassistant:
  exclude: [spare]
ups:
  main:
    name: Rack UPS
    nut:
      host: 127.0.0.1
      ups: rack
      username: monuser
      password: nut-secret-4711
hosts:
  db:
    name: Database
    address: 127.0.0.1
    ipmi:
      host: 127.0.0.1
      username: admin
      password: ipmi-secret-0815
    shutdown:
      ssh:
        host: 127.0.0.1
        username: root
        password: ssh-secret-2342
        host_key: SHA256:${'A'.repeat(43)}
  lamp:
    address: 127.0.0.1
    probe:
      tcp: [9]
  spare:
    simulated: {}
`;

  it('knows each host by its adapters, leaves excluded devices out, and carries no secret', () => {
    const { config } = parseConfig(YAML);
    const hub = buildHub(config);
    const devices = discoveryDevices(config, hub);
    expect(devices.ups).toEqual([{ id: 'main', name: 'Rack UPS', model: 'UPS via NUT' }]);
    expect(devices.hosts.map((h) => [h.id, h.model, h.probed])).toEqual([
      ['db', 'Server (IPMI, shutdown)', false],
      ['lamp', 'Server (probe)', true],
    ]);
    const msgs = discoveryMessages(ctx, devices);
    const names = msgs.map((m) => m.topic.split('/')[3]);
    expect(names.filter((n) => n?.startsWith('host_db_')).sort()).toEqual(['host_db_power', 'host_db_power_cycle', 'host_db_reset']);
    expect(names.filter((n) => n?.startsWith('host_lamp_'))).toEqual(['host_lamp_reachable']);
    expect(names.some((n) => n?.includes('spare'))).toBe(false);
    // Wake comes from WOL, which db lacks: its switch powers on through the BMC.
    expect(parseCommand(str(find(msgs, 'host_db_power').payload.payload_on)).action).toBe('power_on');
    const wire = JSON.stringify(msgs);
    for (const secret of ['nut-secret-4711', 'ipmi-secret-0815', 'ssh-secret-2342', 'monuser', 'admin', 'root']) expect(wire).not.toContain(secret);
  });

  it('rejects an exclude that names no device, with its path', () => {
    const err = (() => {
      try {
        parseConfig('homeassistant:\n  exclude: [ghost]\nhosts:\n  a:\n    simulated: {}\n');
      } catch (e) {
        return e as BlackstartError;
      }
      throw new Error('accepted');
    })();
    expect(err.code).toBe('CONFIG');
    expect(err.message).toContain('homeassistant.exclude[0] (line 2)');
    expect(err.message).toContain('"ghost" is neither a UPS nor a host');
  });

  it('defaults: prefix homeassistant, discovery on; no section, no discovery', () => {
    expect(parseConfig('homeassistant: {}\n').config.homeassistant).toEqual({ discovery: true, prefix: 'homeassistant', exclude: [] });
    const { config } = parseConfig('hosts:\n  a:\n    simulated: {}\n');
    expect(createDiscovery(config, buildHub(config), {} as MqttBridge, { log: silentLogger(), swVersion: '0' })).toBeUndefined();
  });
});

describe('discovery topics', () => {
  it('builds and recognises the node-scoped config topics and the status topic', () => {
    const t = createDiscoveryTopics('ha/disc', 'lab/blackstart');
    expect(t.status).toBe('ha/disc/status');
    expect(t.nodeId).toBe('lab_blackstart');
    expect(t.config('switch', 'host_nas_power')).toBe('ha/disc/switch/lab_blackstart/host_nas_power/config');
    expect(t.configFilter).toBe('ha/disc/+/lab_blackstart/+/config');
    expect(t.isConfig('ha/disc/switch/lab_blackstart/host_nas_power/config')).toBe(true);
    for (const other of ['ha/disc/switch/other/x/config', 'ha/disc/switch/lab_blackstart/x/y/config', 'ha/disc/status', 'homeassistant/switch/lab_blackstart/x/config', 'ha/disc/switch/lab_blackstart/x/state']) {
      expect([other, t.isConfig(other)]).toEqual([other, false]);
    }
    expect(() => t.config('switch', 'a/b')).toThrow(/segment/);
    expect(() => createDiscoveryTopics('home/#', 'blackstart')).toThrow(/prefix/);
  });
});

/** Just enough of MqttConnection for the publisher: records publishes, replays messages. */
class FakeConnection {
  connected = true;
  readonly published: { topic: string; payload: string; options: PublishOptions }[] = [];
  readonly filters: string[] = [];
  private readonly connectFns: (() => void)[] = [];
  private readonly messageFns: ((m: IncomingMessage) => void)[] = [];
  subscribe(f: readonly string[]): void {
    this.filters.push(...f);
  }
  onConnect(fn: () => void): void {
    this.connectFns.push(fn);
  }
  onMessage(fn: (m: IncomingMessage) => void): void {
    this.messageFns.push(fn);
  }
  publish(topic: string, payload: string, options: PublishOptions = {}): Promise<void> {
    this.published.push({ topic, payload, options });
    return Promise.resolve();
  }
  connect(): void {
    this.connectFns.forEach((f) => f());
  }
  deliver(topic: string, payload: string, retain = false): void {
    this.messageFns.forEach((f) => f({ topic, payload: Buffer.from(payload), retain }));
  }
}

describe('DiscoveryPublisher', () => {
  const setup = (messages = sample()) => {
    const conn = new FakeConnection();
    const pub = new DiscoveryPublisher({ connection: conn as unknown as MqttConnection, topics: ctx.discovery, messages, log: silentLogger(), birthJitterMs: 0 });
    return { conn, pub, messages };
  };

  it('publishes every config retained at QoS 1 on start and on each connect', () => {
    const { conn, pub, messages } = setup();
    pub.start();
    expect(conn.filters).toEqual(['homeassistant/status', 'homeassistant/+/blackstart/+/config']);
    expect(conn.published.map((p) => p.topic)).toEqual(messages.map((m) => m.topic));
    expect(conn.published.every((p) => p.options.retain === true && p.options.qos === 1)).toBe(true);
    expect(JSON.parse(conn.published[0]?.payload ?? '')).toEqual(messages[0]?.payload);
    conn.connect();
    expect(conn.published).toHaveLength(2 * messages.length);
  });

  it("republishes on Home Assistant's birth, but not for a retained one or for offline", async () => {
    const { conn, pub, messages } = setup();
    pub.start();
    conn.published.length = 0;
    conn.deliver('homeassistant/status', 'online', true);
    conn.deliver('homeassistant/status', 'offline');
    await new Promise((r) => setTimeout(r, 20));
    expect(conn.published).toHaveLength(0);
    conn.deliver('homeassistant/status', 'online');
    conn.deliver('homeassistant/status', 'online');
    await new Promise((r) => setTimeout(r, 20));
    // Two births close together are answered once.
    expect(conn.published).toHaveLength(messages.length);
  });

  it("clears this node's configs that this run does not have, and nothing else", () => {
    const { conn, pub } = setup();
    pub.start();
    conn.published.length = 0;
    conn.deliver('homeassistant/button/blackstart/host_gone_reset/config', '{"name":"Reset"}', true);
    conn.deliver('homeassistant/sensor/blackstart/ups_main_charge/config', '{"name":"old"}', true);
    conn.deliver('homeassistant/sensor/blackstart/ups_old_charge/config', '', true);
    conn.deliver('homeassistant/sensor/other-node/ups_old_charge/config', '{"name":"theirs"}', true);
    expect(conn.published).toEqual([{ topic: 'homeassistant/button/blackstart/host_gone_reset/config', payload: '', options: { retain: true, qos: 1 } }]);
  });

  it('with discovery off publishes nothing and clears what an earlier run left', () => {
    const { conn, pub } = setup([]);
    pub.start();
    conn.deliver('homeassistant/status', 'online');
    conn.deliver('homeassistant/sensor/blackstart/ups_main_charge/config', '{"name":"Battery charge"}', true);
    expect(conn.published).toEqual([{ topic: 'homeassistant/sensor/blackstart/ups_main_charge/config', payload: '', options: { retain: true, qos: 1 } }]);
  });

  it('does nothing once stopped', async () => {
    const { conn, pub } = setup();
    pub.start();
    pub.stop();
    conn.published.length = 0;
    conn.connect();
    conn.deliver('homeassistant/status', 'online');
    conn.deliver('homeassistant/button/blackstart/host_gone_reset/config', '{}', true);
    await new Promise((r) => setTimeout(r, 20));
    expect(conn.published).toHaveLength(0);
  });
});
