/**
 * The generic polling adapter with a scripted source on a fake clock: what each UPS protocol
 * gets for free (debounce, dead time, backoff, pushes, the command allow-list).
 */
import { PolledUps } from '../../../src/adapters/ups/polled';
import type { UpsReading } from '../../../src/adapters/ups/source';
import { FakeClock } from '../../../src/core/clock';
import { BlackstartError } from '../../../src/core/errors';
import type { BlackstartEvent } from '../../../src/core/events';
import { Hub } from '../../../src/core/hub';
import { LOW, ONLINE, ON_BATTERY, ScriptedSource } from '../../helpers/scripted-ups-source';

const settings = { pollInterval: 1000, timeout: 500, deadTime: 5000, onBatteryDelay: 0, reconnectMax: 8000, commands: [] as string[], impl: 'test' };

async function setup(opts: Partial<typeof settings> = {}) {
  const clock = new FakeClock();
  const hub = new Hub({ clock });
  hub.addUps('rack');
  const source = new ScriptedSource(clock);
  const adapter = new PolledUps('rack', source, { ...settings, ...opts });
  hub.attach(adapter);
  const events: BlackstartEvent[] = [];
  hub.on('event', (e) => events.push(e));
  await hub.start();
  await clock.advance(0);
  return { clock, hub, source, adapter, events, types: () => events.map((e) => e.type) };
}

describe('PolledUps', () => {
  it('publishes the first reading at start and the source label in state', async () => {
    const { hub, source } = await setup();
    expect(hub.ups('rack')).toMatchObject({ status: 'online', chargePct: 100, flags: ['OL'], source: 'test://scripted' });
    expect(source.reads).toHaveLength(1);
  });

  it('polls every poll_interval while readings succeed', async () => {
    const { clock, source } = await setup();
    const t0 = source.reads[0] as number;
    await clock.advance(3500);
    expect(source.reads.map((t) => t - t0)).toEqual([0, 1000, 2000, 3000]);
  });

  it('goes on battery and back with events, on_battery_s counted from the first battery reading', async () => {
    const { clock, hub, source, types } = await setup();
    source.answer = ON_BATTERY;
    await clock.advance(1000);
    expect(hub.ups('rack')?.status).toBe('on_battery');
    source.answer = LOW;
    await clock.advance(3000);
    expect(hub.ups('rack')).toMatchObject({ status: 'low_battery', onBatteryS: 3 });
    source.answer = ONLINE;
    await clock.advance(1000);
    expect(hub.ups('rack')).toMatchObject({ status: 'online', onBatteryS: 0 });
    expect(types()).toEqual(['power_lost', 'low_battery', 'power_restored']);
  });

  describe('on_battery_delay', () => {
    it('a blip shorter than the delay raises power_blip, keeps status online and shows the raw flags', async () => {
      const { clock, hub, source, events, types } = await setup({ onBatteryDelay: 5000 });
      source.answer = ON_BATTERY;
      await clock.advance(1000);
      expect(hub.ups('rack')).toMatchObject({ status: 'online', flags: ['OB'] });
      await clock.advance(1000);
      source.answer = ONLINE;
      await clock.advance(1000);
      expect(hub.ups('rack')).toMatchObject({ status: 'online', flags: ['OL'] });
      expect(types()).toEqual(['power_blip']);
      expect(events[0]?.detail).toEqual({ on_battery_ms: 2000, on_battery_delay_ms: 5000 });
    });

    it('an outage longer than the delay becomes on_battery exactly when the delay ends, counted from its start', async () => {
      const { clock, hub, source, events, types } = await setup({ onBatteryDelay: 2500, pollInterval: 10_000, deadTime: 30_000 });
      source.answer = ON_BATTERY;
      await clock.advance(10_000); // read at t=10 s sees the battery
      expect(hub.ups('rack')?.status).toBe('online');
      await clock.advance(2499);
      expect(hub.ups('rack')?.status).toBe('online');
      await clock.advance(1);
      expect(hub.ups('rack')).toMatchObject({ status: 'on_battery', onBatteryS: 2 });
      expect(types()).toEqual(['power_lost']);
      source.answer = ONLINE;
      await clock.advance(10_000);
      expect(types()).toEqual(['power_lost', 'power_restored']);
      expect(events[1]?.detail).toEqual({ on_battery_s: 10 });
    });

    it('low battery is never delayed', async () => {
      const { clock, hub, source, types } = await setup({ onBatteryDelay: 60_000 });
      source.answer = LOW;
      await clock.advance(1000);
      expect(hub.ups('rack')?.status).toBe('low_battery');
      expect(types()).toEqual(['power_lost', 'low_battery']);
    });

    it('a first reading already on battery is an outage at once (it began before we looked)', async () => {
      const clock = new FakeClock();
      const hub = new Hub({ clock });
      hub.addUps('rack');
      const source = new ScriptedSource(clock);
      source.answer = ON_BATTERY;
      hub.attach(new PolledUps('rack', source, { ...settings, onBatteryDelay: 10_000 }));
      await hub.start();
      await clock.advance(0);
      expect(hub.ups('rack')?.status).toBe('on_battery');
      await hub.stop();
    });

    it("uses the device's own on-battery seconds when it reports them", async () => {
      const { clock, hub, source } = await setup({ onBatteryDelay: 5000 });
      source.answer = { ...ON_BATTERY, onBatteryS: 7 };
      await clock.advance(1000);
      expect(hub.ups('rack')).toMatchObject({ status: 'on_battery', onBatteryS: 7 });
    });
  });

  describe('link loss', () => {
    it('keeps the last state through failures shorter than dead_time, then says comm_lost and withdraws readings', async () => {
      const { clock, hub, source, types } = await setup();
      source.answer = new BlackstartError('UNREACHABLE', 'connection refused');
      await clock.advance(4999);
      expect(hub.ups('rack')?.status).toBe('online');
      await clock.advance(1);
      expect(hub.ups('rack')).toMatchObject({ status: 'comm_lost', chargePct: null, runtimeS: null, flags: [] });
      expect(types()).toEqual(['ups_comm_lost']);
      expect(source.closes).toBeGreaterThan(0);
    });

    it('backs off between failed reads up to reconnect_max, and recovers on the next good read', async () => {
      const { clock, hub, source, types } = await setup({ deadTime: 3000, reconnectMax: 4000 });
      source.answer = new BlackstartError('UNREACHABLE', 'connection refused');
      const from = clock.now();
      await clock.advance(20_000);
      const gaps = source.reads.filter((t) => t > from).map((t, i, a) => t - (i === 0 ? from : (a[i - 1] as number)));
      expect(gaps.slice(0, 5)).toEqual([1000, 1000, 2000, 4000, 4000]);
      source.answer = ONLINE;
      await clock.advance(4000);
      expect(hub.ups('rack')?.status).toBe('online');
      expect(types()).toEqual(['ups_comm_lost', 'ups_comm_restored']);
      // healthy again: back to the normal interval
      const n = source.reads.length;
      await clock.advance(2000);
      expect(source.reads.length - n).toBe(2);
    });

    it('a read that never answers still ends in comm_lost at dead_time (the timer does not wait for reads)', async () => {
      const { clock, hub, source } = await setup();
      source.read = () => new Promise<UpsReading>(() => undefined);
      await clock.advance(5000);
      expect(hub.ups('rack')?.status).toBe('comm_lost');
    });
  });

  it('a push between polls reaches the hub at once and triggers a full read', async () => {
    const { clock, hub, source, types } = await setup({ pollInterval: 60_000, deadTime: 120_000 });
    const before = source.reads.length;
    source.answer = ON_BATTERY;
    source.push?.({ status: 'on_battery', flags: ['OB'] });
    expect(hub.ups('rack')).toMatchObject({ status: 'on_battery', flags: ['OB'], chargePct: 100 });
    await clock.advance(0);
    expect(source.reads.length).toBe(before + 1);
    expect(hub.ups('rack')).toMatchObject({ status: 'on_battery', chargePct: 90 });
    expect(types()).toEqual(['power_lost']);
  });

  describe('commands', () => {
    it('runs allow-listed commands and reads again at once', async () => {
      const { clock, hub, source } = await setup({ commands: ['test.battery.start'], pollInterval: 60_000, deadTime: 120_000 });
      const before = source.reads.length;
      const result = await hub.execute({ kind: 'ups', id: 'rack' }, { action: 'test.battery.start', id: 'r1' });
      expect(result).toMatchObject({ ok: true, id: 'r1', action: 'test.battery.start' });
      expect(source.ran).toEqual(['test.battery.start']);
      await clock.advance(0);
      expect(source.reads.length).toBe(before + 1);
    });

    it('refuses anything not on the allow-list with ok:false and runs nothing', async () => {
      const { hub, source } = await setup({ commands: ['test.battery.start'] });
      const result = await hub.execute({ kind: 'ups', id: 'rack' }, { action: 'load.off' });
      expect(result).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
      expect(result.error?.message).toContain('test.battery.start');
      expect(source.ran).toEqual([]);
    });

    it('passes the source failure back as the result', async () => {
      const { hub, source } = await setup({ commands: ['fsd'] });
      source.run = () => Promise.reject(new BlackstartError('AUTH', 'ERR ACCESS-DENIED on FSD'));
      const result = await hub.execute({ kind: 'ups', id: 'rack' }, { action: 'fsd' });
      expect(result).toMatchObject({ ok: false, error: { code: 'AUTH', message: 'ERR ACCESS-DENIED on FSD' } });
    });
  });

  it('stop() ends polling and closes the source', async () => {
    const { clock, hub, source } = await setup();
    await hub.stop();
    const n = source.reads.length;
    await clock.advance(10_000);
    expect(source.reads.length).toBe(n);
    expect(source.closes).toBeGreaterThan(0);
    expect(clock.pending).toBe(0);
  });
});
