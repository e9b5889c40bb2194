import { cronError, nextWindow, windowOf } from '../../../src/orchestrator/schedule';

const T = (iso: string): number => Date.parse(iso);

describe('planned windows', () => {
  it('an explicit window is returned until it ends, then never again', () => {
    const spec = { name: 'works', start: T('2026-12-24T08:00:00Z'), end: T('2026-12-24T09:00:00Z') };
    expect(windowOf(spec, T('2026-12-01T00:00:00Z'))).toEqual({ name: 'works', start: spec.start, end: spec.end });
    expect(windowOf(spec, T('2026-12-24T08:30:00Z'))).toEqual({ name: 'works', start: spec.start, end: spec.end });
    expect(windowOf(spec, T('2026-12-24T09:00:00Z'))).toBeNull();
  });

  it('a cron window: the one under way, else the next one, in its time zone', () => {
    const spec = { name: 'sunday', cron: '0 2 * * 0', duration: 3_600_000, timezone: 'Europe/Berlin' };
    // Tuesday 1 December 2026 → Sunday 6 December 02:00 Berlin = 01:00 UTC.
    expect(windowOf(spec, T('2026-12-01T12:00:00Z'))).toEqual({ name: 'sunday', start: T('2026-12-06T01:00:00Z'), end: T('2026-12-06T02:00:00Z') });
    expect(windowOf(spec, T('2026-12-06T01:30:00Z'))).toEqual({ name: 'sunday', start: T('2026-12-06T01:00:00Z'), end: T('2026-12-06T02:00:00Z') });
    expect(windowOf(spec, T('2026-12-06T02:00:00Z'))?.start).toBe(T('2026-12-13T01:00:00Z'));
  });

  it('picks the earliest window over all specs', () => {
    const specs = [
      { name: 'later', start: T('2026-12-24T08:00:00Z'), end: T('2026-12-24T09:00:00Z') },
      { name: 'nightly', cron: '30 3 * * *', duration: 600_000, timezone: 'UTC' },
    ];
    expect(nextWindow(specs, T('2026-12-01T12:00:00Z'))).toEqual({ name: 'nightly', start: T('2026-12-02T03:30:00Z'), end: T('2026-12-02T03:40:00Z') });
    expect(nextWindow([], 0)).toBeNull();
  });

  it('says what is wrong with a cron expression', () => {
    expect(cronError('0 2 * * 0')).toBeNull();
    expect(cronError('*/5 * * * * *')).toMatch(/five fields/);
    expect(cronError('0 25 * * *')).toMatch(/hour/);
  });
});
