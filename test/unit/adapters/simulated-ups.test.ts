import { FakeClock } from '../../../src/core/clock';
import type { BlackstartEvent } from '../../../src/core/events';
import { Hub } from '../../../src/core/hub';
import { SimulatedUps, simulatedUpsSchema } from '../../../src/adapters/ups/simulated';
import { advanceModel, initialModel, readingOf } from '../../../src/adapters/ups/simulated/model';

const cfg = (extra: Record<string, unknown> = {}) =>
  simulatedUpsSchema.parse({ runtime_at_full: '20m', discharge_per_min: 10, recharge_per_min: 5, low_battery_pct: 25, ...extra });

describe('simulated UPS model (pure)', () => {
  it('discharges on battery, raises low battery, cuts output when flat, recovers with mains', () => {
    const c = cfg({ timeline: [{ at: '1m', mains: 'off' }, { at: '20m', mains: 'on' }] });
    const at = (min: number) => readingOf(c, advanceModel(c, initialModel(c), min * 60_000));
    expect(at(0.5)).toMatchObject({ status: 'online', chargePct: 100, inputV: 230, runtimeS: 1200, flags: ['OL'] });
    expect(at(3)).toMatchObject({ status: 'on_battery', chargePct: 80, inputV: 0, runtimeS: 960, flags: ['OB', 'DISCHRG'] });
    expect(at(9)).toMatchObject({ status: 'low_battery', chargePct: 20, flags: ['OB', 'LB', 'DISCHRG'] });
    expect(at(12)).toMatchObject({ status: 'off', chargePct: 0, loadPct: 0 });
    expect(at(22)).toMatchObject({ status: 'online', chargePct: 10, flags: ['OL', 'CHRG'] });
  });

  it('integrates across timeline steps regardless of sampling', () => {
    const c = cfg({ timeline: [{ at: '10s', mains: 'off' }, { at: '70s', mains: 'on' }] });
    let stepped = initialModel(c);
    for (let t = 0; t <= 100_000; t += 7_000) stepped = advanceModel(c, stepped, t);
    stepped = advanceModel(c, stepped, 100_000);
    const direct = advanceModel(c, initialModel(c), 100_000);
    // 60 s on battery at 10 %/min, then 30 s recharge at 5 %/min.
    expect(direct.charge).toBeCloseTo(92.5, 6);
    expect(stepped.charge).toBeCloseTo(direct.charge, 6);
  });

  it('link down gives no reading; a charge step jumps the charge', () => {
    const c = cfg({ timeline: [{ at: '5s', link: 'down' }, { at: '10s', link: 'up', charge_pct: 30 }] });
    expect(readingOf(c, advanceModel(c, initialModel(c), 6000))).toBeNull();
    expect(readingOf(c, advanceModel(c, initialModel(c), 10_000))).toMatchObject({ status: 'online', chargePct: 30 });
    // then it recharges at 5 %/min: one more minute adds 5 %
    expect(readingOf(c, advanceModel(c, initialModel(c), 70_000))).toMatchObject({ chargePct: 35 });
  });
});

describe('simulated UPS adapter on a fake clock', () => {
  it('drives the hub through an outage with the right events', async () => {
    const clock = new FakeClock(0);
    const hub = new Hub({ clock });
    hub.addUps('main');
    hub.attach(
      new SimulatedUps('main', cfg({ interval: '1s', timeline: [{ at: '20s', mains: 'off' }, { at: '30s', link: 'down' }, { at: '35s', link: 'up' }, { at: '80s', mains: 'on' }] })),
    );
    const events: BlackstartEvent[] = [];
    hub.on('event', (e) => events.push(e));
    await hub.start();
    expect(hub.ups('main')?.status).toBe('online');
    await clock.advance(25_000);
    expect(hub.ups('main')).toMatchObject({ status: 'on_battery', onBatteryS: 5 });
    await clock.advance(8_000);
    expect(hub.ups('main')?.status).toBe('comm_lost');
    await clock.advance(47_000);
    expect(hub.ups('main')).toMatchObject({ status: 'online', onBatteryS: 0 });
    expect(events.map((e) => [e.type, e.at])).toEqual([
      ['power_lost', 20_000],
      ['ups_comm_lost', 30_000],
      ['ups_comm_restored', 35_000],
      ['power_restored', 80_000],
    ]);
    await hub.stop();
    expect(clock.pending).toBe(0);
  });
});
