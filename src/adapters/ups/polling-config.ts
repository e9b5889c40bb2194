/** Settings every polled UPS source shares, spread into each source's config section. */
import { z } from 'zod';
import { duration } from '../../config/fields';

export const pollingShape = {
  /** How often the UPS is read. */
  poll_interval: duration({ min: 250, max: 3_600_000 }).prefault('1s'),
  /** Longest one request may take before it counts as failed. */
  timeout: duration({ min: 100, max: 60_000 }).prefault('3s'),
  /** With no good reading for this long the state says `comm_lost` (NUT's DEADTIME is 15 s). */
  dead_time: duration({ min: 250, max: 3_600_000 }).prefault('15s'),
  /**
   * On battery for less than this is a blip: a `power_blip` event, no outage (apcupsd's
   * ONBATTERYDELAY is 6 s). Low battery is never delayed.
   */
  on_battery_delay: duration({ min: 0, max: 600_000 }).prefault('5s'),
  /** Longest wait between reconnect attempts while the link is down. */
  reconnect_max: duration({ min: 250, max: 600_000 }).prefault('10s'),
};

export interface PollingSettings {
  pollInterval: number;
  timeout: number;
  deadTime: number;
  onBatteryDelay: number;
  reconnectMax: number;
}

/** Cross-field checks shared by every polled source. */
export function checkPolling(s: PollingSettings, ctx: z.RefinementCtx): void {
  if (s.deadTime < s.pollInterval) {
    ctx.addIssue({ code: 'custom', path: ['dead_time'], message: 'must not be shorter than poll_interval' });
  }
}
