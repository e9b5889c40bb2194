/**
 * The NIS `events` list: hub events about the served UPS in apcupsd's own words (apcupsd's
 * event_msg table, as a real one logs them: test/fixtures/apcupsd/events*.bin), kept in a ring
 * as long as the most apcupsd ever sends.
 */
import type { BlackstartEvent } from '../../core/events';
import { MAX_EVENT_LINES } from './codec';

/** What apcupsd logs at the same moment; several lines where apcupsd logs several. */
const MESSAGES: Partial<Record<BlackstartEvent['type'], readonly string[]>> = {
  // apcupsd logs the first at the transfer and the second once ONBATTERYDELAY confirms it;
  // the hub's power_lost comes after the source's own debounce, so both are true by then.
  power_lost: ['Power failure.', 'Running on UPS batteries.'],
  power_restored: ['Mains returned. No longer on UPS batteries.', 'Power is back. UPS running on mains.'],
  low_battery: ['Battery power exhausted.'],
  ups_comm_lost: ['Communications with UPS lost.'],
  ups_comm_restored: ['Communications with UPS restored.'],
};

/** apcupsd's line when it starts its own shutdown, which is when it shows SHUTTING DOWN. */
export const MASTER_SHUTDOWN_MESSAGE = 'Initiating system shutdown!';

/** The apcupsd lines for a hub event, or none when it is not about `ups` or apcupsd has no such line. */
export function nisMessages(event: BlackstartEvent, ups: string): readonly string[] {
  if (event.ups !== ups) return [];
  return MESSAGES[event.type] ?? [];
}

export interface LoggedEvent {
  at: number;
  message: string;
}

export class EventRing {
  private readonly items: LoggedEvent[] = [];

  constructor(private readonly capacity = MAX_EVENT_LINES) {}

  push(at: number, message: string): void {
    this.items.push({ at, message });
    if (this.items.length > this.capacity) this.items.splice(0, this.items.length - this.capacity);
  }

  /** Oldest first. */
  list(): LoggedEvent[] {
    return [...this.items];
  }
}
