/**
 * Planned outages: when the next window is, from explicit times or a cron expression. Pure
 * functions of the config and a time; the orchestrator decides what to do with a window.
 */
import { Cron } from 'croner';

export interface PlannedSpec {
  name: string;
  start?: number;
  end?: number;
  cron?: string;
  duration?: number;
  timezone?: string;
}

export interface Window {
  name: string;
  /** Epoch ms: power goes at `start` and is back at `end`. */
  start: number;
  end: number;
}

/** Why a cron expression cannot be used, or null. Five fields only: seconds would be a typo here. */
export function cronError(expr: string, timezone?: string): string | null {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) return `expected five fields (minute hour day month weekday), got ${fields.length}`;
  try {
    const c = new Cron(expr, { paused: true, ...(timezone ? { timezone } : {}) });
    c.nextRun(new Date(0));
    return null;
  } catch (err) {
    return (err as Error).message.replace(/^Cron\w*: /, '');
  }
}

/**
 * The window of this spec that is in progress at `now`, or else the next one; null when there
 * is none (an explicit window that has passed).
 */
export function windowOf(spec: PlannedSpec, now: number): Window | null {
  if (spec.start !== undefined && spec.end !== undefined) {
    return spec.end > now ? { name: spec.name, start: spec.start, end: spec.end } : null;
  }
  if (spec.cron === undefined || spec.duration === undefined) return null;
  const cron = new Cron(spec.cron, { paused: true, ...(spec.timezone ? { timezone: spec.timezone } : {}) });
  // The first start after (now - duration) is either the window under way or the next one.
  const next = cron.nextRun(new Date(now - spec.duration));
  if (!next) return null;
  const start = next.getTime();
  return { name: spec.name, start, end: start + spec.duration };
}

/** The earliest window, over all specs, that has not ended by `now`. */
export function nextWindow(specs: readonly PlannedSpec[], now: number): Window | null {
  let best: Window | null = null;
  for (const s of specs) {
    const w = windowOf(s, now);
    if (w && (!best || w.start < best.start)) best = w;
  }
  return best;
}
