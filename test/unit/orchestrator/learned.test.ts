import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileDurations, MemoryDurations } from '../../../src/orchestrator/learned';
import type { Logger } from '../../../src/core/logger';

function recordingLog(): { log: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const log = { warn: (_o: unknown, msg: string) => warnings.push(msg) } as unknown as Logger;
  return { log, warnings };
}

describe('learned shutdown durations', () => {
  it('learns the slowest of the last five measurements, rounded up to a second', async () => {
    const d = new MemoryDurations();
    expect(d.shutdownMs('nas')).toBeNull();
    for (const ms of [90_000, 12_300, 14_000, 13_000, 12_000, 11_000]) await d.record('nas', ms);
    // 90 s has left the window of five; the slowest left is 14 s.
    expect(d.shutdownMs('nas')).toBe(14_000);
    await d.record('nas', 14_200);
    expect(d.shutdownMs('nas')).toBe(15_000);
    await d.record('nas', -5);
    await d.record('nas', Number.NaN);
    expect(d.shutdownMs('nas')).toBe(15_000);
  });

  it('keeps them in a file across restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bs-learned-'));
    const file = join(dir, 'durations.json');
    const a = new FileDurations(file);
    await a.record('mail', 6_200);
    await a.record('nas', 40_000);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ mail: [6200], nas: [40000] });
    const b = new FileDurations(file);
    expect(b.shutdownMs('mail')).toBe(7_000);
    expect(b.shutdownMs('nas')).toBe(40_000);
  });

  it('a damaged file is reported and ignored, never fatal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bs-learned-'));
    const file = join(dir, 'durations.json');
    writeFileSync(file, '{"mail": [6200, "x"]}');
    const { log, warnings } = recordingLog();
    const d = new FileDurations(file, log);
    expect(d.shutdownMs('mail')).toBeNull();
    expect(warnings).toEqual(['measured shutdown durations are unreadable; starting afresh']);
    await d.record('mail', 3_000);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ mail: [3000] });
  });
});
