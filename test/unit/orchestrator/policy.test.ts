import { escalateAfterMs, learnedShutdownMs, hostOutageSchema, outagePolicySchema, shutdownTakesMs } from '../../../src/orchestrator/policy';

function issues(result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }): string[] {
  return (result.error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('host outage policy', () => {
  it('fills defaults and camelCases keys', () => {
    expect(hostOutageSchema.parse({})).toEqual({ dependsOn: [], controller: false, alwaysOn: false, leaveRunning: false });
    expect(hostOutageSchema.parse({ depends_on: ['pve', 'nas'], shutdown_takes: '90s', escalate_after: '5m', controller: true })).toEqual({
      dependsOn: ['pve', 'nas'],
      shutdownTakes: 90_000,
      escalateAfter: 300_000,
      controller: true,
      alwaysOn: false,
      leaveRunning: false,
    });
  });

  it('names bad ids, duplicates, a typo and an escalation shorter than the shutdown', () => {
    expect(issues(hostOutageSchema.safeParse({ depends_on: ['PVE'] }))).toEqual([expect.stringMatching(/^depends_on\.0: a host id/)]);
    expect(issues(hostOutageSchema.safeParse({ depends_on: ['nas', 'nas'] }))).toEqual(['depends_on.1: "nas" is listed twice']);
    expect(issues(hostOutageSchema.safeParse({ depend_on: ['nas'] }))).toEqual([': unknown key "depend_on" (did you mean "depends_on"?)']);
    expect(issues(hostOutageSchema.safeParse({ shutdown_takes: '2m', escalate_after: '1m' }))).toEqual([
      'escalate_after: must not be shorter than shutdown_takes, or every shutdown would be forced',
    ]);
    expect(issues(hostOutageSchema.safeParse({ shutdown_takes: '10ms' }))).toEqual([expect.stringMatching(/^shutdown_takes: must be at least 1000 ms/)]);
  });

  it('takes the written shutdown duration over the learned one, and the learned one over the default', () => {
    expect(shutdownTakesMs({ shutdownTakes: 90_000 }, 40_000)).toBe(90_000);
    expect(shutdownTakesMs({}, 40_000)).toBe(40_000);
    expect(shutdownTakesMs({}, null)).toBe(60_000);
    expect(escalateAfterMs({})).toBe(150_000);
    expect(escalateAfterMs({}, 40_000)).toBe(110_000);
    expect(escalateAfterMs({ shutdownTakes: 10_000, escalateAfter: 20_000 })).toBe(20_000);
  });
});

describe('learned shutdown duration', () => {
  it('takes the slowest of the last five measurements, rounded up to a second', () => {
    expect(learnedShutdownMs([])).toBeNull();
    expect(learnedShutdownMs([0, NaN])).toBeNull();
    expect(learnedShutdownMs([41_200, 38_000])).toBe(42_000);
    // The 300s outlier has aged out of the window.
    expect(learnedShutdownMs([300_000, 20_000, 21_000, 22_500, 20_000, 19_000])).toBe(23_000);
  });
});

describe('global outage policy', () => {
  it('defaults to low battery + plan, a 2 minute reserve and a cautious restore', () => {
    expect(outagePolicySchema.parse({})).toEqual({
      reserve: 120_000,
      trigger: { lowBattery: true, plan: true },
      restore: { mainsStableFor: 60_000, chargeAtLeast: 30 },
    });
  });

  it('replaces the default triggers with the ones written', () => {
    const p = outagePolicySchema.parse({ reserve: '5m', trigger: { on_battery_after: '30s', charge_below: 50, runtime_below: '10m' }, restore: { charge_at_least: 50 } });
    expect(p).toEqual({
      reserve: 300_000,
      trigger: { onBatteryAfter: 30_000, chargeBelow: 50, runtimeBelow: 600_000 },
      restore: { mainsStableFor: 60_000, chargeAtLeast: 50 },
    });
  });

  it('refuses a trigger section that would never fire, and a charge over 100', () => {
    expect(issues(outagePolicySchema.safeParse({ trigger: { low_battery: false, plan: false } }))).toEqual([
      'trigger: no trigger is set, so a shutdown would never start: set at least one',
    ]);
    expect(issues(outagePolicySchema.safeParse({ trigger: { charge_below: 120 } }))).toEqual([expect.stringMatching(/^trigger\.charge_below: /)]);
    expect(issues(outagePolicySchema.safeParse({ restore: { mains_stable: '1m' } }))).toEqual([
      'restore: unknown key "mains_stable" (did you mean "mains_stable_for"?)',
    ]);
  });
});
