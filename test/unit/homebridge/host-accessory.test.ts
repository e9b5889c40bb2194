import type { CommandResult } from '../../../src/index';
import { HostAccessory, hostIsOn } from '../../../homebridge/src/host-accessory';
import { TargetHold } from '../../../homebridge/src/hold';
import { FakeSource, fakeLog, hap, newAccessory } from '../../helpers/homebridge-fakes';

const { Characteristic, Service, HAPStatus } = hap;
const flush = () => new Promise((r) => setImmediate(r));
const made: HostAccessory[] = [];
afterEach(() => made.splice(0).forEach((h) => h.dispose()));

function setup(opts: { allowShutdown?: boolean; temperatures?: boolean; holdMs?: number; answerWithinMs?: number } = {}) {
  const source = new FakeSource();
  source.setHost('nas', { phase: 'down', reachable: false });
  const log = fakeLog();
  const acc = newAccessory('NAS', 'blackstart:host:nas');
  const host = new HostAccessory(hap, acc, 'nas', source, { allowShutdown: opts.allowShutdown ?? false, temperatures: opts.temperatures ?? false, holdMs: opts.holdMs ?? 60_000, revertMs: 20, answerWithinMs: opts.answerWithinMs ?? 2000 }, log);
  made.push(host);
  source.on('host', () => host.refresh());
  source.on('sensors', () => host.refreshTemperatures());
  const on = host.switch.getCharacteristic(Characteristic.On);
  return { source, log, acc, host, on };
}

describe('host switch', () => {
  it('is on while the host runs or wakes, off otherwise', () => {
    const base = { reachable: null, latencyMs: null, power: 'unknown' as const, since: 0, lastError: null };
    expect(['running', 'waking', 'shutting_down', 'down', 'unreachable'].map((phase) => hostIsOn({ ...base, phase: phase as never }))).toEqual([true, true, false, false, false]);
  });

  it('answers onGet from the cached state and pushes changes', async () => {
    const { source, on } = setup();
    expect(await on.handleGetRequest()).toBe(false);
    source.setHost('nas', { phase: 'running', reachable: true });
    expect(on.value).toBe(true);
    expect(await on.handleGetRequest()).toBe(true);
  });

  it('turning on sends wake and holds "on" while the host wakes, then follows the host', async () => {
    const { source, on } = setup();
    await on.handleSetRequest(true);
    await flush();
    expect(source.calls).toEqual([{ host: 'nas', action: 'wake' }]);
    source.setHost('nas', { phase: 'unreachable' }); // still booting: no flapping
    expect(await on.handleGetRequest()).toBe(true);
    expect(on.value).toBe(true);
    source.setHost('nas', { phase: 'running', reachable: true });
    source.setHost('nas', { phase: 'down', reachable: false }); // reached: the hold is over
    expect(await on.handleGetRequest()).toBe(false);
  });

  it('falls back to power_on when the host has no wake method', async () => {
    const { source, on } = setup();
    source.answer = (_h, action) => (action === 'wake' ? { id: 'x', action, ok: false, error: { code: 'UNSUPPORTED', message: 'no wake' }, tookMs: 0 } : { id: 'y', action, ok: true, tookMs: 3 });
    await on.handleSetRequest(true);
    await flush();
    expect(source.calls.map((c) => c.action)).toEqual(['wake', 'power_on']);
  });

  it('a wake that fails at once is a HAP error, releases the hold and shows the truth again', async () => {
    const { source, on, log } = setup();
    source.answer = (_h, action) => ({ id: 'x', action, ok: false, error: { code: 'UNREACHABLE', message: 'no route' }, tookMs: 0 });
    await expect(on.handleSetRequest(true)).rejects.toBe(HAPStatus.SERVICE_COMMUNICATION_FAILURE);
    await flush();
    expect(on.value).toBe(false);
    expect(log.lines.some((l) => l.startsWith('error') && l.includes('UNREACHABLE'))).toBe(true);
  });

  it('a wake still running when HomeKit wants its answer is accepted; its later failure puts the real state back', async () => {
    const { source, on, log } = setup({ answerWithinMs: 0 });
    let answer: (r: CommandResult) => void = () => undefined;
    source.execute = (host, action) => {
      source.calls.push({ host, action });
      return new Promise((resolve) => (answer = resolve));
    };
    await on.handleSetRequest(true);
    expect(on.value).toBe(true);
    answer({ id: 'x', action: 'wake', ok: false, error: { code: 'TIMEOUT', message: 'nas did not answer within 5m' }, tookMs: 0 });
    await flush();
    await flush();
    expect(on.value).toBe(false);
    expect(log.lines).toContain('error NAS: wake on "nas" failed: TIMEOUT nas did not answer within 5m');
  });

  it('without allow_shutdown, off sends nothing and the switch flips back on', async () => {
    const { source, on, log } = setup();
    source.setHost('nas', { phase: 'running', reachable: true });
    await on.handleSetRequest(false);
    on.value = false; // what HomeKit's write leaves in the characteristic
    await new Promise((r) => setTimeout(r, 60));
    expect(source.calls).toEqual([]);
    expect(on.value).toBe(true);
    expect(log.lines.some((l) => l.startsWith('warn') && l.includes('allow_shutdown'))).toBe(true);
  });

  it('with allow_shutdown, off sends shutdown and holds "off" while the host shuts down', async () => {
    const { source, on } = setup({ allowShutdown: true });
    source.setHost('nas', { phase: 'running', reachable: true });
    await on.handleSetRequest(false);
    await flush();
    expect(source.calls).toEqual([{ host: 'nas', action: 'shutdown' }]);
    source.setHost('nas', { phase: 'running', reachable: true });
    expect(on.value).toBe(false);
    source.setHost('nas', { phase: 'shutting_down' });
    expect(await on.handleGetRequest()).toBe(false);
  });

  it('reports "not responding" while the source is lost, and refuses writes', async () => {
    const { source, on, host } = setup();
    source.online = false;
    host.refresh();
    await expect(on.handleGetRequest()).rejects.toBe(HAPStatus.SERVICE_COMMUNICATION_FAILURE);
    await expect(on.handleSetRequest(true)).rejects.toBe(HAPStatus.SERVICE_COMMUNICATION_FAILURE);
    expect(on.statusCode).toBe(HAPStatus.SERVICE_COMMUNICATION_FAILURE);
    expect(source.calls).toEqual([]);
  });

  it('shows IPMI temperatures when asked to, and only degrees C', async () => {
    const { source, acc } = setup({ temperatures: true });
    source.setSensors('nas', { 'CPU Temp': { value: 41, unit: 'degrees C', status: 'ok' }, 'Fan 1': { value: 3000, unit: 'RPM', status: 'ok' } });
    const temps = acc.services.filter((s) => s.UUID === Service.TemperatureSensor.UUID);
    expect(temps.map((s) => s.subtype)).toEqual(['temp:CPU Temp']);
    expect(await temps[0]!.getCharacteristic(Characteristic.CurrentTemperature).handleGetRequest()).toBe(41);
  });
});

describe('TargetHold', () => {
  it('holds the target until reached or timed out', () => {
    let now = 0;
    const h = new TargetHold(() => now);
    expect(h.shown(false)).toBe(false);
    h.hold(true, 100);
    expect(h.shown(false)).toBe(true);
    now = 100;
    expect(h.shown(false)).toBe(false);
    h.hold(true, 100);
    expect(h.shown(true)).toBe(true);
    // Reaching the target ended the hold: the actual state shows again though the time is not up.
    expect(h.shown(false)).toBe(false);
  });
});
