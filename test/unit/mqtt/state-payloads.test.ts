import { eventPayload, hostPayload, outagePayload, parseEventPayload, parseHostPayload, parseOutagePayload, parseResultPayload, parseSensorsPayload, parseUpsPayload, parseVmPayload, resultPayload, upsPayload, vmPayload, encode } from '../../../src/mqtt/payloads';
import type { BlackstartEvent } from '../../../src/core/events';
import { initialOutageState, type HostState, type OutageState, type UpsState, type VmState } from '../../../src/core/state';

describe('reading retained state back (remote mode)', () => {
  it('round-trips UPS and host state, sensors and results', () => {
    const ups: UpsState = { status: 'on_battery', flags: ['OB'], chargePct: 80, runtimeS: 900, loadPct: 30, inputV: null, batteryV: 26.8, onBatteryS: 12, source: 'nut://x', updated: Date.parse('2026-01-02T03:04:05.000Z') };
    expect(parseUpsPayload(encode(upsPayload(ups)))).toEqual(ups);
    const host: HostState = { reachable: true, latencyMs: 1.5, power: 'on', phase: 'running', since: Date.parse('2026-01-02T03:04:05.000Z'), lastError: null };
    expect(parseHostPayload(encode(hostPayload(host)))).toEqual(host);
    expect(parseSensorsPayload('{"CPU Temp":{"value":41,"unit":"degrees C","status":"ok"}}')).toEqual({ 'CPU Temp': { value: 41, unit: 'degrees C', status: 'ok' } });
    const result = { id: 'a', action: 'wake', ok: false, error: { code: 'UNSUPPORTED' as const, message: 'no wake' }, tookMs: 3 };
    expect(parseResultPayload(encode(resultPayload(result)))).toEqual(result);
  });

  it("round-trips a guest's state with its hypervisor name, and refuses a state it does not know", () => {
    const vm: VmState = { state: 'saved', since: Date.parse('2026-01-02T03:04:05.000Z'), lastError: 'libvirt x: virsh exited' };
    expect(parseVmPayload(encode(vmPayload(vm, { host: 'hv1', id: 'db', name: 'Postgres 16' })))).toEqual({ ...vm, name: 'Postgres 16' });
    expect(() => parseVmPayload('{"state":"hibernating","since":"2026-01-02T03:04:05.000Z","last_error":null,"name":"x"}')).toThrow(expect.objectContaining({ code: 'PROTOCOL', message: expect.stringMatching(/guest state: state/) }));
    expect(() => parseVmPayload('{"state":"off","since":"2026-01-02T03:04:05.000Z","last_error":null}')).toThrow(/guest state: name/);
  });

  it('rejects what it cannot read with PROTOCOL, naming the field', () => {
    expect(() => parseUpsPayload('nope')).toThrow(/UPS state is not valid JSON/);
    expect(() => parseUpsPayload('{"status":"fine"}')).toThrow(expect.objectContaining({ code: 'PROTOCOL', message: expect.stringMatching(/status/) }));
    expect(() => parseHostPayload('{"reachable":true,"latency_ms":1,"power":"on","phase":"running","since":"yesterday","last_error":null}')).toThrow(/since.*not an ISO time/);
    expect(parseResultPayload('{"id":"x","action":"wake","ok":false,"error":{"code":"WEIRD","message":"m"},"took_ms":1}').error?.code).toBe('PROTOCOL');
  });

  it('reads the outage state back, plan, budget and planned window included', () => {
    const t = Date.parse('2026-12-01T10:00:00.000Z');
    const state: OutageState = {
      phase: 'shutting_down',
      ups: 'rack',
      plan: [{ host: 'nas', action: 'shutdown', stage: 'shutdown', wave: 0, deadline: t + 60_000, state: 'running', started: t, finished: null, error: null }],
      started: t,
      deadline: t + 60_000,
      id: 'o-1',
      reason: 'on_battery_after',
      budget: { runtimeS: 600, reserveS: 120, neededS: 42, worstCaseS: 90, slackS: 438, criticalPath: ['nas'] },
      planned: { name: 'electrician', shutdownAt: t + 1000, start: t + 2000, end: t + 3000 },
    };
    expect(parseOutagePayload(encode(outagePayload(state)))).toEqual(state);
    expect(parseOutagePayload(encode(outagePayload(initialOutageState())))).toEqual(initialOutageState());
    // An older daemon's payload without id/reason/budget/planned still reads.
    expect(parseOutagePayload('{"phase":"normal","ups":null,"plan":[],"started":null,"deadline":null}')).toEqual(initialOutageState());
    expect(() => parseOutagePayload('{"phase":"panic","ups":null,"plan":[],"started":null,"deadline":null}')).toThrow(/outage state: phase/);
  });

  it('reads events back and refuses unknown types', () => {
    const e: BlackstartEvent = { type: 'power_lost', at: Date.parse('2026-12-01T10:00:00.000Z'), ups: 'rack', message: 'UPS rack is on battery', detail: { charge_pct: 97 } };
    expect(parseEventPayload(encode(eventPayload(e)))).toEqual(e);
    expect(() => parseEventPayload('{"type":"alien_landing","at":"2026-12-01T10:00:00.000Z"}')).toThrow(/event: type/);
    expect(() => parseEventPayload('nope')).toThrow(/event is not valid JSON/);
  });
});
