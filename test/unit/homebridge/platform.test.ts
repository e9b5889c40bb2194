import { BlackstartPlatform } from '../../../homebridge/src/platform';
import { PLATFORM_NAME } from '../../../homebridge/src/settings';
import { FakeSource, fakeApi, fakeLog, hap, newAccessory } from '../../helpers/homebridge-fakes';

const { Service, Characteristic } = hap;

function labSource(): FakeSource {
  const source = new FakeSource();
  source.setUps('main', {});
  source.setHost('nas', { phase: 'running', reachable: true });
  source.setHost('web', { phase: 'down' });
  return source;
}

async function launch(raw: Record<string, unknown>, source: FakeSource, cached: ReturnType<typeof newAccessory>[] = []) {
  const f = fakeApi();
  const log = fakeLog();
  const platform = new BlackstartPlatform(log, { platform: PLATFORM_NAME, ...raw }, f.api, () => Promise.resolve(source));
  for (const a of cached) platform.configureAccessory(a);
  f.events.emit('didFinishLaunching');
  await platform.ready;
  return { ...f, log, platform };
}

describe('Blackstart platform', () => {
  it('registers one accessory per UPS and host with stable UUIDs', async () => {
    const { registered, unregistered } = await launch({ config_file: 'lab.yaml' }, labSource());
    expect(registered.map((a) => a.UUID).sort()).toEqual(['blackstart:host:nas', 'blackstart:host:web', 'blackstart:ups:main'].map((k) => hap.uuid.generate(k)).sort());
    expect(unregistered).toEqual([]);
    const nas = registered.find((a) => a.displayName === 'nas');
    expect(nas?.getService(Service.Switch)?.getCharacteristic(Characteristic.On).value).toBe(true);
  });

  it('restores cached accessories by UUID and removes the stale ones', async () => {
    const cachedNas = newAccessory('My NAS', 'blackstart:host:nas');
    cachedNas.addService(Service.Switch, 'My NAS');
    const gone = newAccessory('Old box', 'blackstart:host:old');
    const { registered, unregistered } = await launch({ config_file: 'lab.yaml' }, labSource(), [cachedNas, gone]);
    expect(registered.map((a) => a.displayName).sort()).toEqual(['main', 'web']);
    expect(unregistered).toEqual([gone]);
    // The restored accessory is the same object, its Switch reused (not doubled) and bound to the host.
    expect(cachedNas.services.filter((s) => s.UUID === Service.Switch.UUID)).toHaveLength(1);
    expect(await cachedNas.getService(Service.Switch)!.getCharacteristic(Characteristic.On).handleGetRequest()).toBe(true);
  });

  it('in remote mode keeps unseen cached accessories until stale_after_s has passed', async () => {
    const source = new FakeSource();
    const cached = newAccessory('nas', 'blackstart:host:nas');
    const gone = newAccessory('old', 'blackstart:host:old');
    const { unregistered, registered, platform } = await launch({ mode: 'remote', mqtt: { url: 'mqtt://127.0.0.1:1' }, stale_after_s: 0.05 }, source, [cached, gone]);
    source.setHost('nas', { phase: 'running' });
    source.emit('devices');
    expect(unregistered).toEqual([]);
    await new Promise((r) => setTimeout(r, 100));
    expect(unregistered).toEqual([gone]);
    expect(registered).toEqual([]);
    await platform.stop();
  });

  it('names in the plugin config and hosts listed before they are seen', async () => {
    const source = new FakeSource();
    const { registered, platform } = await launch({ mode: 'remote', mqtt: { url: 'mqtt://127.0.0.1:1' }, hosts: [{ id: 'nas', name: 'Storage' }] }, source);
    expect(registered.map((a) => a.displayName)).toEqual(['Storage']);
    // Unknown state: not responding rather than a guess.
    await expect(registered[0]!.getService(Service.Switch)!.getCharacteristic(Characteristic.On).handleGetRequest()).rejects.toBeDefined();
    await platform.stop();
  });

  it('a bad plugin config is logged and starts nothing', async () => {
    const { registered, log } = await launch({ mode: 'remote', mqtt: { url: 'http://x' } }, labSource());
    expect(registered).toEqual([]);
    expect(log.lines.join('\n')).toMatch(/error Blackstart is not started: remote mode needs mqtt.url/);
  });
});
