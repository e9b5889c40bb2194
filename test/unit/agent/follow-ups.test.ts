import { UpsFollower } from '../../../src/agent/follow-ups';
import { FakeClock } from '../../../src/core/clock';
import { silentLogger } from '../../../src/core/logger';

const state = (status: string): string => JSON.stringify({ status, charge_pct: 80 });

describe('follow_ups', () => {
  const setup = (onLowBattery = true) => {
    const clock = new FakeClock();
    const reasons: string[] = [];
    const f = new UpsFollower({ ups: 'rack', after: 60_000, onLowBattery }, clock, silentLogger(), (r) => reasons.push(r));
    return { clock, reasons, f };
  };

  it('shuts down once the UPS has been on battery for `after`', async () => {
    const { clock, reasons, f } = setup();
    f.update(state('on_battery'));
    await clock.advance(59_999);
    expect(reasons).toEqual([]);
    f.update(state('on_battery'));
    await clock.advance(1);
    expect(reasons).toEqual([expect.stringMatching(/on battery for 60000 ms/)]);
    await clock.advance(600_000);
    f.update(state('on_battery'));
    expect(reasons).toHaveLength(1);
  });

  it('mains back before `after` cancels; a new outage counts from its start', async () => {
    const { clock, reasons, f } = setup();
    f.update(state('on_battery'));
    await clock.advance(30_000);
    f.update(state('online'));
    await clock.advance(60_000);
    expect(reasons).toEqual([]);
    f.update(state('on_battery'));
    await clock.advance(60_000);
    expect(reasons).toHaveLength(1);
  });

  it('low battery and shutting_down act at once; comm_lost keeps the countdown going', async () => {
    const low = setup();
    low.f.update(state('low_battery'));
    expect(low.reasons).toEqual([expect.stringMatching(/low battery/)]);
    const hub = setup();
    hub.f.update(state('shutting_down'));
    expect(hub.reasons).toEqual([expect.stringMatching(/shutting its loads down/)]);
    const lost = setup();
    lost.f.update(state('on_battery'));
    lost.f.update(state('comm_lost'));
    await lost.clock.advance(60_000);
    expect(lost.reasons).toHaveLength(1);
  });

  it('with on_low_battery false, low battery only counts down; garbage changes nothing', async () => {
    const { clock, reasons, f } = setup(false);
    f.update('not json');
    f.update('{"charge_pct": 3}');
    f.update(state('low_battery'));
    expect(reasons).toEqual([]);
    expect(f.counting).toBe(true);
    await clock.advance(60_000);
    expect(reasons).toHaveLength(1);
  });
});
