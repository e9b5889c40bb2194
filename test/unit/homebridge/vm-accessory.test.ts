import type { CommandResult, VmAction, VmPower } from '../../../src/index';
import type { GuestStop } from '../../../homebridge/src/config';
import { VmAccessory, vmIsOn } from '../../../homebridge/src/vm-accessory';
import { FakeSource, fakeLog, hap, newAccessory } from '../../helpers/homebridge-fakes';

const { Characteristic, HAPStatus } = hap;
const flush = () => new Promise((r) => setImmediate(r));
const made: VmAccessory[] = [];
afterEach(() => made.splice(0).forEach((g) => g.dispose()));

const failed = (action: VmAction, code = 'UNREACHABLE', message = 'simulated hypervisor on hv1: not answering'): CommandResult => ({ id: 'x', action, ok: false, error: { code: code as never, message }, tookMs: 0 });

function setup(opts: { allowShutdown?: boolean; stop?: GuestStop; state?: VmPower; answerWithinMs?: number } = {}) {
  const source = new FakeSource();
  source.setVm('hv1', 'db', { state: opts.state ?? 'off' }, 'db');
  const log = fakeLog();
  const acc = newAccessory('hv1 db', 'blackstart:vm:hv1/db');
  const guest = new VmAccessory(
    hap,
    acc,
    'hv1',
    'db',
    source,
    { allowShutdown: opts.allowShutdown ?? true, stop: opts.stop ?? 'shutdown', holdMs: 60_000, revertMs: 20, answerWithinMs: opts.answerWithinMs ?? 2000 },
    log,
  );
  made.push(guest);
  source.on('vm', () => guest.refresh());
  const on = guest.switch.getCharacteristic(Characteristic.On);
  return { source, log, acc, guest, on };
}

describe('guest switch', () => {
  it('is on while the guest runs or is paused; off when off, saved or stopping', () => {
    const states: VmPower[] = ['running', 'paused', 'stopping', 'off', 'saved'];
    expect(states.map((state) => vmIsOn({ state, since: 0, lastError: null }))).toEqual([true, true, false, false, false]);
  });

  it.each([
    ['running', true],
    ['paused', true],
    ['stopping', false],
    ['off', false],
    ['saved', false],
  ] as const)('answers onGet from the cached state: %s reads %s', async (state, shown) => {
    const { source, on } = setup({ state: state === 'off' ? 'running' : 'off' });
    source.setVm('hv1', 'db', { state });
    expect(on.value).toBe(shown);
    expect(await on.handleGetRequest()).toBe(shown);
  });

  it('is "not responding" while the guest is unknown, and refuses writes', async () => {
    const { source, on } = setup({ state: 'running' });
    source.setVm('hv1', 'db', { state: 'unknown' });
    expect(on.statusCode).toBe(HAPStatus.SERVICE_COMMUNICATION_FAILURE);
    await expect(on.handleGetRequest()).rejects.toBe(HAPStatus.SERVICE_COMMUNICATION_FAILURE);
    await expect(on.handleSetRequest(true)).rejects.toBe(HAPStatus.SERVICE_COMMUNICATION_FAILURE);
    expect(source.vmCalls).toEqual([]);
  });

  it('is "not responding" while the source is offline, and refuses writes', async () => {
    const { source, on, guest } = setup({ state: 'running' });
    source.online = false;
    guest.refresh();
    expect(on.statusCode).toBe(HAPStatus.SERVICE_COMMUNICATION_FAILURE);
    await expect(on.handleGetRequest()).rejects.toBe(HAPStatus.SERVICE_COMMUNICATION_FAILURE);
    await expect(on.handleSetRequest(false)).rejects.toBe(HAPStatus.SERVICE_COMMUNICATION_FAILURE);
    expect(source.vmCalls).toEqual([]);
  });

  it('is "not responding" for a guest the source has not heard of', async () => {
    const source = new FakeSource();
    const g = new VmAccessory(hap, newAccessory('hv1 web', 'blackstart:vm:hv1/web'), 'hv1', 'web', source, { allowShutdown: true, stop: 'shutdown', holdMs: 1000, revertMs: 20 }, fakeLog());
    made.push(g);
    await expect(g.switch.getCharacteristic(Characteristic.On).handleGetRequest()).rejects.toBe(HAPStatus.SERVICE_COMMUNICATION_FAILURE);
  });

  it('turning on sends start and holds "on" while the guest boots, then follows it', async () => {
    const { source, on, log } = setup();
    await on.handleSetRequest(true);
    expect(source.vmCalls).toEqual([{ host: 'hv1', guest: 'db', action: 'start' }]);
    source.setVm('hv1', 'db', { lastError: null, since: 1 }); // still off while it boots: no flapping
    expect(on.value).toBe(true);
    expect(await on.handleGetRequest()).toBe(true);
    source.setVm('hv1', 'db', { state: 'running' });
    source.setVm('hv1', 'db', { state: 'off' }); // reached: the hold is over
    expect(await on.handleGetRequest()).toBe(false);
    expect(log.lines).toContain('info hv1 db: start of guest "db" on "hv1" done (1 ms)');
  });

  it.each(['shutdown', 'save', 'off'] as const)('turning off sends the configured stop (%s) and shows "off" while it stops', async (stop) => {
    const { source, on } = setup({ state: 'running', stop });
    await on.handleSetRequest(false);
    expect(source.vmCalls).toEqual([{ host: 'hv1', guest: 'db', action: stop }]);
    source.setVm('hv1', 'db', { state: 'running' }); // not yet stopping: the hold keeps it off
    expect(on.value).toBe(false);
    source.setVm('hv1', 'db', { state: 'stopping' });
    expect(await on.handleGetRequest()).toBe(false);
  });

  it('a paused guest is on, and turning it off stops it', async () => {
    const { source, on } = setup({ state: 'paused', stop: 'save' });
    expect(await on.handleGetRequest()).toBe(true);
    await on.handleSetRequest(false);
    expect(source.vmCalls.map((c) => c.action)).toEqual(['save']);
  });

  it('asking for the state it already shows sends nothing', async () => {
    const { source, on } = setup({ state: 'saved' });
    await on.handleSetRequest(false);
    expect(source.vmCalls).toEqual([]);
  });

  it('without allow_shutdown, off sends nothing and the switch flips back on', async () => {
    const { source, on, log } = setup({ state: 'running', allowShutdown: false });
    await on.handleSetRequest(false);
    on.value = false; // what HomeKit's write leaves in the characteristic
    await new Promise((r) => setTimeout(r, 60));
    expect(source.vmCalls).toEqual([]);
    expect(on.value).toBe(true);
    expect(log.lines.some((l) => l.startsWith('warn') && l.includes('allow_shutdown for "hv1/db"'))).toBe(true);
  });

  it('a start that fails at once is a HAP error, is logged, and the switch shows the real state', async () => {
    const { source, on, log } = setup();
    source.answerVm = (_h, _g, action) => failed(action);
    await expect(on.handleSetRequest(true)).rejects.toBe(HAPStatus.SERVICE_COMMUNICATION_FAILURE);
    await flush();
    expect(on.value).toBe(false);
    expect(on.statusCode).toBe(HAPStatus.SUCCESS);
    expect(await on.handleGetRequest()).toBe(false);
    expect(log.lines).toContain('error hv1 db: start of guest "db" on "hv1" failed: UNREACHABLE simulated hypervisor on hv1: not answering');
  });

  it('a stop that fails at once is a HAP error and the switch reads on again', async () => {
    const { source, on } = setup({ state: 'running', stop: 'save' });
    source.answerVm = (_h, _g, action) => failed(action, 'REFUSED', 'hv1/db is paused');
    await expect(on.handleSetRequest(false)).rejects.toBe(HAPStatus.SERVICE_COMMUNICATION_FAILURE);
    await flush();
    expect(on.value).toBe(true);
    expect(await on.handleGetRequest()).toBe(true);
  });

  it('a command still running when HomeKit wants its answer is accepted; its later failure puts the real state back', async () => {
    const { source, on, log } = setup({ answerWithinMs: 0 });
    let answer: (r: CommandResult) => void = () => undefined;
    source.executeVm = (host, guest, action) => {
      source.vmCalls.push({ host, guest, action });
      return new Promise((resolve) => (answer = resolve));
    };
    await on.handleSetRequest(true);
    expect(on.value).toBe(true);
    answer(failed('start', 'TIMEOUT', 'hv1/db did not reach running within 2m'));
    await flush();
    await flush();
    expect(on.value).toBe(false);
    expect(log.lines.some((l) => l.startsWith('error') && l.includes('TIMEOUT hv1/db did not reach running'))).toBe(true);
  });
});
