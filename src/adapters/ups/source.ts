/**
 * What a UPS protocol client offers the generic polling adapter (`polled.ts`). Each source
 * (NUT, apcupsd NIS, APC smart serial) implements this once; debounce, dead time, reconnect
 * backoff and the command allow-list live in the adapter, written once for all of them.
 */
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/logger';
import type { UpsState, UpsStatus } from '../../core/state';

/** One full reading, already normalized. Numbers the device does not report are null. */
export type UpsReading = Pick<UpsState, 'flags' | 'chargePct' | 'runtimeS' | 'loadPct' | 'inputV' | 'batteryV'> & {
  /** Never `comm_lost`: a source that cannot read rejects instead. */
  status: Exclude<UpsStatus, 'comm_lost'>;
  /** Seconds on battery as the device counts them (apcupsd TONBATT), when it does. */
  onBatteryS?: number | null;
};

/** A partial reading pushed between polls (an APC alert character), applied at once. */
export type UpsPush = Partial<UpsReading> & { status?: UpsReading['status'] };

export interface SourceDeps {
  clock: Clock;
  log: Logger;
}

export interface UpsSource {
  /** Where the readings come from, as a URL without secrets: `nut://127.0.0.1:3493/ups`. */
  readonly label: string;
  /**
   * One full reading. Opens the link first when it is not open (so a failed read followed by a
   * later one reconnects). Rejects with a BlackstartError: UNREACHABLE, TIMEOUT, AUTH, PROTOCOL,
   * or NOT_FOUND (unknown UPS name). Never resolves with stale data.
   */
  read(): Promise<UpsReading>;
  /** Runs one instant command by its NUT name (`test.battery.start`, `fsd`, …). */
  run?(command: string, args?: Record<string, unknown>): Promise<void>;
  /** Listener for readings pushed between polls (serial alerts). At most one. */
  onPush?(listener: (push: UpsPush) => void): void;
  /** Closes the link; read() may be called again later and reconnects. */
  close(): Promise<void>;
}
