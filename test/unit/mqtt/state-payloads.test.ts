import { hostPayload, parseHostPayload, parseResultPayload, parseSensorsPayload, parseUpsPayload, resultPayload, upsPayload, encode } from '../../../src/mqtt/payloads';
import type { HostState, UpsState } from '../../../src/core/state';

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

  it('rejects what it cannot read with PROTOCOL, naming the field', () => {
    expect(() => parseUpsPayload('nope')).toThrow(/UPS state is not valid JSON/);
    expect(() => parseUpsPayload('{"status":"fine"}')).toThrow(expect.objectContaining({ code: 'PROTOCOL', message: expect.stringMatching(/status/) }));
    expect(() => parseHostPayload('{"reachable":true,"latency_ms":1,"power":"on","phase":"running","since":"yesterday","last_error":null}')).toThrow(/since.*not an ISO time/);
    expect(parseResultPayload('{"id":"x","action":"wake","ok":false,"error":{"code":"WEIRD","message":"m"},"took_ms":1}').error?.code).toBe('PROTOCOL');
  });
});
