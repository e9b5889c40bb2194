/**
 * The plugin in a real Homebridge 2 (Node 22) inside a network namespace that has only `lo`.
 * Blackstart runs in-process from a lab YAML: two simulated UPS (one loses mains), a simulated server with a simulated
 * hypervisor and one guest, and a host with only Wake-on-LAN aimed at a UDP listener on the namespace's own 127.0.0.1.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessoryName, charId, HAP_TYPES } from '../helpers/hap-http';
import { HomebridgeInNamespace, until } from '../helpers/homebridge-ns';
import { createLoopbackNamespace, deleteNamespace, listNamespaces, netnsUnavailable, spawnNodeIn } from '../helpers/netns';
import { killNow } from '../helpers/process';

const WOL_PORT = 40009;
const MAC = '02:00:00:00:00:02';

const missing = netnsUnavailable('hb');
if (missing) console.warn(`SKIPPED Homebridge integration test: network namespaces are not available (${missing}); Homebridge is never run in the host namespace`);
const suite = missing ? describe.skip : describe;

const LISTENER = `
const d = require('dgram').createSocket('udp4');
d.on('message', (m) => console.log(m.toString('hex')));
d.bind(${WOL_PORT}, '127.0.0.1', () => console.log('ready'));
`;

function labYaml(dir: string, withSleeper: boolean): string {
  return `
mqtt: { embedded: { host: 127.0.0.1, port: 1883 } }
outage: { ups: rack, journal: ${join(dir, 'journal.jsonl')} }
ups:
  rack: { name: Rack UPS, simulated: { interval: 200ms } }
  # Feeds nothing the orchestrator watches: its cut only shows in Apple Home.
  garage: { name: Garage UPS, simulated: { interval: 200ms, timeline: [{ at: 1s, mains: "off" }] } }
hosts:
  nas:
    name: Storage
    simulated: { shutdown_takes: 300ms, wake_takes: 300ms }
    vms: { simulated: {}, poll_every: 500ms, guests: { db: { stop: save, simulated: { stop_takes: 300ms, start_takes: 300ms } } } }
${withSleeper ? `  sleeper: { name: Sleeper, wol: { mac: "${MAC}", address: 127.0.0.1, port: ${WOL_PORT}, repeat: 1 } }` : ''}
`;
}

suite('homebridge-blackstart in a real Homebridge 2, Blackstart in-process (namespace with only lo)', () => {
  const ns = `bs-hb-${process.pid % 100000}${Math.floor(Math.random() * 1000)}`;
  const dir = mkdtempSync(join(tmpdir(), 'bs-hb-'));
  const datagrams: string[] = [];
  let hb: HomebridgeInNamespace;
  let listener: ChildProcess | undefined;

  beforeAll(async () => {
    createLoopbackNamespace(ns);
    writeFileSync(join(dir, 'lab.yaml'), labYaml(dir, true));
    hb = new HomebridgeInNamespace(ns, dir, { mode: 'in_process', config_file: join(dir, 'lab.yaml'), revert_ms: 300, hosts: [{ id: 'nas' }], guests: [{ id: 'nas/db', allow_shutdown: true, stop: 'save' }] });
    listener = spawnNodeIn(ns, ['-e', LISTENER]);
    listener.stdout?.on('data', (d: Buffer) => datagrams.push(...d.toString().split('\n').filter(Boolean)));
    await until('the WOL listener', () => (datagrams.includes('ready') ? true : undefined), 5000);
    await hb.start(6);
  }, 40_000);

  afterAll(async () => {
    await hb?.stop();
    await killNow(listener);
    deleteNamespace(ns);
    if (process.env.BLACKSTART_HB_LOG) writeFileSync(process.env.BLACKSTART_HB_LOG, hb?.log() ?? '');
    rmSync(dir, { recursive: true, force: true });
    expect(listNamespaces()).not.toContain(ns);
  }, 15_000);

  it('publishes the bridge, two host switches, a guest switch and the UPS battery with its on-battery sensor', async () => {
    // Homebridge appends part of the bridge's id to its name.
    expect(hb.accessories.map(accessoryName).sort()).toEqual([expect.stringMatching(/^BlackstartTest/), 'Garage UPS', 'Rack UPS', 'Sleeper', 'Storage', 'nas db']);
    const ups = hb.byName('Rack UPS');
    await until('a first UPS reading', async () => ((await hb.get(charId(ups, HAP_TYPES.battery, HAP_TYPES.batteryLevel))) === 100 ? true : undefined), 5000, () => hb.log());
    expect(await hb.get(charId(ups, HAP_TYPES.contactSensor, HAP_TYPES.contactSensorState))).toBe(0);
    expect(await hb.get(charId(ups, HAP_TYPES.battery, HAP_TYPES.statusLowBattery))).toBe(0);
    expect(await hb.get(charId(hb.byName('Storage'), HAP_TYPES.switch, HAP_TYPES.on))).toBe(1);
    expect(await hb.get(charId(hb.byName('Sleeper'), HAP_TYPES.switch, HAP_TYPES.on))).toBe(0);
    const cache = readFileSync(join(hb.userdir, 'accessories', 'cachedAccessories'), 'utf8');
    expect(cache).toContain('"plugin":"homebridge-blackstart"');
  });

  it('the on-battery contact sensor opens when a UPS loses mains, and the battery stops charging', async () => {
    const garage = hb.byName('Garage UPS');
    const contact = charId(garage, HAP_TYPES.contactSensor, HAP_TYPES.contactSensorState);
    await until('the garage UPS on battery', async () => ((await hb.get(contact)) === 1 ? true : undefined), 10_000, () => hb.log());
    expect(await hb.get(charId(garage, HAP_TYPES.battery, HAP_TYPES.chargingState))).toBe(0);
    expect(await hb.get(charId(hb.byName('Rack UPS'), HAP_TYPES.contactSensor, HAP_TYPES.contactSensorState))).toBe(0);
  });

  it('switching a Wake-on-LAN host on sends the magic packet and the switch holds "on"', async () => {
    const on = charId(hb.byName('Sleeper'), HAP_TYPES.switch, HAP_TYPES.on);
    const before = datagrams.length;
    expect(await hb.put(on, true)).toBe(204);
    const packet = await until('a WOL datagram', () => datagrams.slice(before)[0], 5000, () => hb.log());
    expect(packet).toBe('ff'.repeat(6) + MAC.replaceAll(':', '').repeat(16));
    // Nothing answers for this host, so only the hold (and its waking phase) keeps the switch on.
    expect(await hb.get(on)).toBe(1);
    expect(hb.log()).toMatch(/Sleeper: wake sent to "sleeper"/);
  });

  it('switching off a host without allow_shutdown does nothing and the switch reads on again', async () => {
    const on = charId(hb.byName('Storage'), HAP_TYPES.switch, HAP_TYPES.on);
    expect(await hb.put(on, false)).toBe(204);
    // Longer than the simulated shutdown would take, and than revert_ms.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await hb.get(on)).toBe(1);
    expect(hb.log()).toMatch(/does not shut "nas" down: set allow_shutdown/);
    expect(hb.log()).not.toMatch(/shutdown sent to "nas"/);
  });

  it("switching a guest off saves it (the plugin config's stop) and switching it on starts it again", async () => {
    const on = charId(hb.byName('nas db'), HAP_TYPES.switch, HAP_TYPES.on);
    await until('the guest running', async () => ((await hb.get(on)) === 1 ? true : undefined), 5000, () => hb.log());
    expect(await hb.put(on, false)).toBe(204);
    // "done" is logged only once the hypervisor reports the guest saved.
    await until('the guest saved', () => (/nas db: save of guest "db" on "nas" done/.test(hb.log()) ? true : undefined), 5000, () => hb.log());
    expect(await hb.get(on)).toBe(0);
    expect(await hb.put(on, true)).toBe(204);
    await until('the guest running again', () => (/nas db: start of guest "db" on "nas" done/.test(hb.log()) ? true : undefined), 5000, () => hb.log());
    expect(await hb.get(on)).toBe(1);
    expect(hb.log()).not.toMatch(/of guest "db" on "nas" failed/);
  });

  it('after a restart restores the accessories from the cache (same ids) and drops a host no longer in the YAML', async () => {
    const aidOf = (name: string): number => hb.byName(name).aid;
    const before = { ups: aidOf('Rack UPS'), nas: aidOf('Storage'), db: aidOf('nas db') };
    await hb.stop();
    writeFileSync(join(dir, 'lab.yaml'), labYaml(dir, false));
    await hb.start(5);
    expect(hb.accessories.map(accessoryName).sort()).toEqual([expect.stringMatching(/^BlackstartTest/), 'Garage UPS', 'Rack UPS', 'Storage', 'nas db']);
    expect({ ups: aidOf('Rack UPS'), nas: aidOf('Storage'), db: aidOf('nas db') }).toEqual(before);
    expect(hb.log()).toMatch(/removed Sleeper \(no longer in Blackstart\)/);
    expect(readFileSync(join(hb.userdir, 'accessories', 'cachedAccessories'), 'utf8')).not.toContain('Sleeper');
    expect(await hb.get(charId(hb.byName('Storage'), HAP_TYPES.switch, HAP_TYPES.on))).toBe(1);
  }, 30_000);
});
