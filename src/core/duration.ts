/** Durations as people write them in config: `90s`, `2m`, `1h30m`, `250ms`. */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/** Returns milliseconds, or an error message saying what was wrong. */
export function parseDuration(text: string): { ms: number } | { error: string } {
  const s = text.trim();
  if (s === '') return { error: 'empty duration' };
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const start = PART.lastIndex;
    const m = PART.exec(s);
    if (!m) {
      return { error: `cannot read "${s}" as a duration at "${s.slice(start)}": write e.g. 250ms, 90s, 2m, 1h30m` };
    }
    total += Number(m[1]) * (UNITS[m[2] as string] as number);
  }
  return { ms: Math.round(total) };
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, size] of [['h', 3600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('');
}
