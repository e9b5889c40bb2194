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

  it('registers a switch per guest, named by the hypervisor or as "<host> <guest>", and follows its state', async () => {
    const source = labSource();
    source.setVm('nas', 'db', { state: 'running' });
    source.setVm('nas', 'web', { state: 'saved' }, 'Web Server');
    const { registered, platform } = await launch({ config_file: 'lab.yaml', guests: [{ id: 'nas/db', allow_shutdown: true, stop: 'save' }] }, source);
    const db = registered.find((a) => a.UUID === hap.uuid.generate('blackstart:vm:nas/db'));
    const web = registered.find((a) => a.UUID === hap.uuid.generate('blackstart:vm:nas/web'));
    expect([db?.displayName, web?.displayName]).toEqual(['nas db', 'Web Server']);
    expect(db?.context).toEqual({ kind: 'vm', host: 'nas', id: 'db' });
    const on = db!.getService(Service.Switch)!.getCharacteristic(Characteristic.On);
    expect(on.value).toBe(true);
    source.setVm('nas', 'db', { state: 'stopping' });
    expect(on.value).toBe(false);
    await on.handleSetRequest(true);
    expect(source.vmCalls).toEqual([{ host: 'nas', guest: 'db', action: 'start' }]);
    // Its options went to the accessory: off sends the configured save.
    source.setVm('nas', 'db', { state: 'running' });
    await on.handleSetRequest(false);
    expect(source.vmCalls.at(-1)).toEqual({ host: 'nas', guest: 'db', action: 'save' });
    await platform.stop();
  });

  it('restores a cached guest by UUID and removes the guest that is gone', async () => {
    const source = labSource();
    source.setVm('nas', 'db', { state: 'off' });
    const cachedDb = newAccessory('Database', 'blackstart:vm:nas/db');
    cachedDb.addService(Service.Switch, 'Database');
    const gone = newAccessory('nas old', 'blackstart:vm:nas/old');
    const { registered, unregistered } = await launch({ config_file: 'lab.yaml' }, source, [cachedDb, gone]);
    expect(registered.map((a) => a.displayName).sort()).toEqual(['main', 'nas', 'web']);
    expect(unregistered).toEqual([gone]);
    expect(cachedDb.services.filter((s) => s.UUID === Service.Switch.UUID)).toHaveLength(1);
    expect(await cachedDb.getService(Service.Switch)!.getCharacteristic(Characteristic.On).handleGetRequest()).toBe(false);
  });

  it('in remote mode adds a guest when it appears, and lists configured guests before they are seen', async () => {
    const source = new FakeSource();
    const { registered, platform } = await launch({ mode: 'remote', mqtt: { url: 'mqtt://127.0.0.1:1' }, guests: [{ id: 'hv1/db', name: 'Database' }] }, source);
    expect(registered.map((a) => a.displayName)).toEqual(['Database']);
    const db = registered[0]!.getService(Service.Switch)!.getCharacteristic(Characteristic.On);
    await expect(db.handleGetRequest()).rejects.toBe(hap.HAPStatus.SERVICE_COMMUNICATION_FAILURE);
    source.setVm('hv1', 'db', { state: 'running' });
    expect(await db.handleGetRequest()).toBe(true);
    source.setVm('hv1', 'web', { state: 'paused' }); // first heard of: the source emits devices
    expect(registered.map((a) => a.displayName)).toEqual(['Database', 'hv1 web']);
    expect(await registered[1]!.getService(Service.Switch)!.getCharacteristic(Characteristic.On).handleGetRequest()).toBe(true);
    await platform.stop();
  });

  it('a host event updates only the switch, a sensors event only the temperatures', async () => {
    const source = labSource();
    source.setSensors('nas', { 'CPU Temp': { value: 41, unit: 'degrees C', status: 'ok' } });
    const { registered, platform } = await launch({ config_file: 'lab.yaml', hosts: [{ id: 'nas', temperatures: true }] }, source);
    const nas = registered.find((a) => a.UUID === hap.uuid.generate('blackstart:host:nas'))!;
    const temp = nas.getServiceById(Service.TemperatureSensor, 'temp:CPU Temp')!.getCharacteristic(Characteristic.CurrentTemperature);
    const on = nas.getService(Service.Switch)!.getCharacteristic(Characteristic.On);
    expect(temp.value).toBe(41);
    const tempUpdates = jest.spyOn(temp, 'updateValue');
    const switchUpdates = jest.spyOn(on, 'updateValue');
    source.setHost('nas', { latencyMs: 3 }); // a probe: same phase, new latency
    expect(tempUpdates).not.toHaveBeenCalled();
    expect(switchUpdates).toHaveBeenCalledTimes(1);
    source.setSensors('nas', { 'CPU Temp': { value: 43, unit: 'degrees C', status: 'ok' } });
    expect(tempUpdates).toHaveBeenCalledWith(43);
    expect(switchUpdates).toHaveBeenCalledTimes(1);
    expect(temp.value).toBe(43);
    await platform.stop();
  });

  it('a bad plugin config is logged and starts nothing', async () => {
    const { registered, log } = await launch({ mode: 'remote', mqtt: { url: 'http://x' } }, labSource());
    expect(registered).toEqual([]);
    expect(log.lines.join('\n')).toMatch(/error Blackstart is not started: remote mode needs mqtt.url/);
  });
});
