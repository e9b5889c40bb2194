import { escalateAfterMs, learnedShutdownMs, hostOutageSchema, outagePolicySchema, shutdownTakesMs } from '../../../src/orchestrator/policy';

function issues(result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }): string[] {
  return (result.error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('host outage policy', () => {
  it('fills defaults and camelCases keys', () => {
    expect(hostOutageSchema.parse({})).toEqual({ dependsOn: [], controller: false, alwaysOn: false, leaveRunning: false, services: [] });
    expect(hostOutageSchema.parse({ depends_on: ['pve', 'nas'], shutdown_takes: '90s', escalate_after: '5m', controller: true })).toEqual({
      dependsOn: ['pve', 'nas'],
      shutdownTakes: 90_000,
      escalateAfter: 300_000,
      controller: true,
      alwaysOn: false,
      leaveRunning: false,
      services: [],
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
      onPowerBack: 'stop',
      restore: { mainsStableFor: 60_000, chargeAtLeast: 30, bootWithin: 300_000, retries: 2, servicesWithin: 120_000, checkEvery: 5000 },
      planned: [],
      announceBefore: 3_600_000,
    });
  });

  it('replaces the default triggers with the ones written', () => {
    const p = outagePolicySchema.parse({ reserve: '5m', trigger: { on_battery_after: '30s', charge_below: 50, runtime_below: '10m' }, restore: { charge_at_least: 50 } });
    expect(p).toEqual({
      reserve: 300_000,
      trigger: { onBatteryAfter: 30_000, chargeBelow: 50, runtimeBelow: 600_000 },
      onPowerBack: 'stop',
      restore: { mainsStableFor: 60_000, chargeAtLeast: 50, bootWithin: 300_000, retries: 2, servicesWithin: 120_000, checkEvery: 5000 },
      planned: [],
      announceBefore: 3_600_000,
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

describe('service checks, planned windows and ups_off in the policy', () => {
  it('takes a tcp or an http check, and names what is wrong with a bad one', () => {
    const h = hostOutageSchema.parse({ services: [{ tcp: 25 }, { name: 'webmail', http: 'https://mail.lan/', insecure: true }], boot_within: '3m' });
    expect(h.services).toEqual([{ tcp: 25, insecure: false }, { name: 'webmail', http: 'https://mail.lan/', insecure: true }]);
    expect(h.bootWithin).toBe(180_000);
    expect(issues(hostOutageSchema.safeParse({ services: [{ tcp: 25, http: 'http://x/' }] }))).toEqual(['services.0: give one of tcp (a port) or http (a URL)']);
    expect(issues(hostOutageSchema.safeParse({ services: [{ http: 'ftp://x/' }] }))).toEqual(['services.0.http: expected an http:// or https:// URL']);
    expect(issues(hostOutageSchema.safeParse({ services: [{ http: 'http://x/', address: '10.0.0.1' }] }))).toEqual(['services.0.address: address is for a tcp check']);
  });

  it('takes explicit and cron windows and refuses half-given or impossible ones', () => {
    const p = outagePolicySchema.parse({
      planned: [
        { name: 'works', start: '2026-12-24T08:00:00+01:00', end: '2026-12-24T12:00:00+01:00' },
        { name: 'sunday', cron: '0 2 * * 0', duration: '1h', timezone: 'Europe/Berlin' },
      ],
      lead: '10m',
    });
    expect(p.planned[0]).toEqual({ name: 'works', start: Date.parse('2026-12-24T07:00:00Z'), end: Date.parse('2026-12-24T11:00:00Z') });
    expect(p.planned[1]).toEqual({ name: 'sunday', cron: '0 2 * * 0', duration: 3_600_000, timezone: 'Europe/Berlin' });
    expect(p.lead).toBe(600_000);
    const bad = (planned: unknown[]): string[] => issues(outagePolicySchema.safeParse({ planned }));
    expect(bad([{ name: 'a', start: '2026-12-24T08:00:00' , end: '2026-12-24T09:00:00Z' }])).toEqual([expect.stringMatching(/^planned\.0\.start: expected an ISO 8601 time with a zone/)]);
    expect(bad([{ name: 'a', start: '2026-12-24T09:00:00Z', end: '2026-12-24T08:00:00Z' }])).toEqual(['planned.0.end: must be after start']);
    expect(bad([{ name: 'a', cron: '0 2 * * 0' }])).toEqual(['planned.0.duration: give both cron and duration']);
    expect(bad([{ name: 'a', cron: '0 2 * *', duration: '1h' }])).toEqual(['planned.0.cron: expected five fields (minute hour day month weekday), got 4']);
    expect(bad([{ name: 'a', cron: '61 2 * * *', duration: '1h' }])).toEqual([expect.stringMatching(/^planned\.0\.cron: .*minute/)]);
    expect(bad([{ name: 'a', cron: '0 2 * * *', duration: '1h', timezone: 'Mars/Olympus' }])).toEqual([expect.stringMatching(/^planned\.0\.cron: .*timezone/i)]);
    expect(bad([{ name: 'a', start: '2026-12-24T08:00:00Z', end: '2026-12-24T09:00:00Z', cron: '0 2 * * *' }])).toEqual(['planned.0: give start and end, or cron and duration']);
    expect(bad([{ name: 'a', start: '2026-12-24T08:00:00Z', end: '2026-12-24T09:00:00Z' }, { name: 'a', start: '2026-12-25T08:00:00Z', end: '2026-12-25T09:00:00Z' }])).toEqual(['planned.1.name: "a" is used twice']);
  });

  it('keeps ups_off off unless written, and takes a NUT command name with a delay', () => {
    expect(outagePolicySchema.parse({}).upsOff).toBeUndefined();
    expect(outagePolicySchema.parse({ ups_off: { action: 'fsd', after: '30s' } }).upsOff).toEqual({ action: 'fsd', after: 30_000 });
    expect(issues(outagePolicySchema.safeParse({ ups_off: { action: 'Power Off!' } }))).toEqual(['ups_off.action: a UPS command name such as fsd or shutdown.return']);
  });
});
