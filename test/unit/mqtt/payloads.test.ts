import { CommandParseError, eventPayload, hostPayload, MAX_COMMAND_BYTES, outagePayload, parseCommand, resultPayload, upsPayload } from '../../../src/mqtt/payloads';
import { initialHostState, initialOutageState, initialUpsState } from '../../../src/core/state';

const T = Date.UTC(2026, 10, 23, 9, 0, 0);

describe('state payloads follow the MQTT contract', () => {
  it('ups', () => {
    const p = upsPayload({ ...initialUpsState(T), status: 'on_battery', flags: ['OB'], chargePct: 80, runtimeS: 600, onBatteryS: 12, source: 'simulated' });
    expect(Object.keys(p)).toEqual(['status', 'flags', 'charge_pct', 'runtime_s', 'load_pct', 'input_v', 'battery_v', 'on_battery_s', 'source', 'updated']);
    expect(p).toMatchObject({ status: 'on_battery', charge_pct: 80, runtime_s: 600, load_pct: null, on_battery_s: 12, updated: '2026-11-23T09:00:00.000Z' });
  });

  it('host', () => {
    const p = hostPayload({ ...initialHostState(T), reachable: true, latencyMs: 1.2, power: 'on', phase: 'running' });
    expect(p).toEqual({ reachable: true, latency_ms: 1.2, power: 'on', phase: 'running', since: '2026-11-23T09:00:00.000Z', last_error: null });
  });

  it('outage, event and result', () => {
    expect(outagePayload(initialOutageState())).toEqual({ phase: 'normal', ups: null, plan: [], started: null, deadline: null, id: null, reason: null, budget: null, planned: null });
    expect(eventPayload({ type: 'power_lost', at: T, ups: 'main', detail: { charge_pct: 90 } })).toEqual({
      type: 'power_lost',
      at: '2026-11-23T09:00:00.000Z',
      ups: 'main',
      detail: { charge_pct: 90 },
    });
    expect(resultPayload({ id: 'a', action: 'wake', ok: false, error: { code: 'NOT_FOUND', message: 'x' }, tookMs: 3 })).toEqual({
      id: 'a',
      action: 'wake',
      ok: false,
      error: { code: 'NOT_FOUND', message: 'x' },
      took_ms: 3,
    });
  });
});

describe('parseCommand', () => {
  it.each([
    ['{"action":"wake","id":"t1"}', { action: 'wake', id: 't1' }],
    ['{"action":"shutdown"}', { action: 'shutdown', id: null }],
    ['{"action":"power_cycle","id":42}', { action: 'power_cycle', id: '42' }],
    ['ON', { action: 'wake', id: null }],
    ['off', { action: 'shutdown', id: null }],
    [' OFF\n', { action: 'shutdown', id: null }],
  ])('reads %p', (text, expected) => {
    expect(parseCommand(Buffer.from(text))).toEqual(expected);
  });

  it.each([
    ['', /empty payload/],
    ['{"action":', /not valid JSON/],
    ['"wake"', /invalid command/],
    ['[1,2]', /invalid command/],
    ['{"id":"x"}', /action/],
    ['{"action":5}', /action/],
    ['{"action":"wake","delay":5}', /unknown field "delay"/],
    ['{"action":""}', /action/],
  ])('refuses %p with BAD_REQUEST and a reason', (text, reason) => {
    let err: unknown;
    try {
      parseCommand(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CommandParseError);
    expect((err as CommandParseError).code).toBe('BAD_REQUEST');
    expect((err as CommandParseError).message).toMatch(reason);
  });

  it('keeps the id of an invalid command so the result can be correlated', () => {
    try {
      parseCommand('{"action":"wake","id":"k9","bogus":1}');
      throw new Error('not rejected');
    } catch (e) {
      expect((e as CommandParseError).partial).toEqual({ action: 'wake', id: 'k9' });
    }
  });

  it('refuses oversized payloads before parsing them', () => {
    const big = JSON.stringify({ action: 'wake', id: 'x'.repeat(MAX_COMMAND_BYTES) });
    expect(() => parseCommand(big)).toThrow(/at most 4096/);
  });

  it('never throws anything but CommandParseError on random bytes', () => {
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.from(Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256)));
      try {
        parseCommand(bytes);
      } catch (e) {
        expect(e).toBeInstanceOf(CommandParseError);
      }
    }
  });
});

describe('outage payload', () => {
  it('snake_cases the plan, the budget and the planned window, with ISO times', () => {
    const at = Date.UTC(2026, 11, 24, 8);
    const p = outagePayload({
      phase: 'shutting_down',
      ups: 'rack',
      plan: [{ host: 'nas', action: 'shutdown', stage: 'shutdown', wave: 0, deadline: at + 150_000, state: 'running', started: at, finished: null, error: null }],
      started: at,
      deadline: at + 150_000,
      id: 'o1',
      reason: 'on battery for 30s',
      budget: { runtimeS: 600, reserveS: 120, neededS: 60, worstCaseS: 150, slackS: 420, criticalPath: ['nas'] },
      planned: { name: 'works', shutdownAt: at - 300_000, start: at, end: at + 3_600_000 },
    });
    expect(p).toEqual({
      phase: 'shutting_down',
      ups: 'rack',
      plan: [{ host: 'nas', action: 'shutdown', stage: 'shutdown', wave: 0, deadline: '2026-12-24T08:02:30.000Z', state: 'running', started: '2026-12-24T08:00:00.000Z', finished: null, error: null }],
      started: '2026-12-24T08:00:00.000Z',
      deadline: '2026-12-24T08:02:30.000Z',
      id: 'o1',
      reason: 'on battery for 30s',
      budget: { runtime_s: 600, reserve_s: 120, needed_s: 60, worst_case_s: 150, slack_s: 420, critical_path: ['nas'] },
      planned: { name: 'works', shutdown_at: '2026-12-24T07:55:00.000Z', start: '2026-12-24T08:00:00.000Z', end: '2026-12-24T09:00:00.000Z' },
    });
  });
});
