/**
 * What apcupsd counts since it started and prints in NUMXFERS, XONBATT, TONBATT, CUMONBATT and
 * XOFFBATT, kept from the hub's UPS states. Pure: fed states with their times.
 */
import { isOnBattery, type UpsState, type UpsStatus } from '../../core/state';
import type { NisTransfers } from './codec';

export class TransferLog {
  private count = 0;
  private lastOn: number | null = null;
  private lastOff: number | null = null;
  private completedS = 0;
  /** The last status that was neither comm_lost nor off (what STATFLAG keeps when the link goes). */
  private known: UpsStatus | null = null;

  /**
   * One state of the UPS. A lost link is not a transfer either way: the outage goes on until
   * a reading says mains is back, as the hub decides too.
   */
  observe(state: UpsState): void {
    const s = state.status;
    if (s !== 'online' && !isOnBattery(s)) return;
    const wasOnBattery = this.known !== null && isOnBattery(this.known);
    const onBattery = s !== 'online';
    if (onBattery && !wasOnBattery) {
      this.count++;
      // Started mid-outage, or a reading came late: the hub knows how long it has already lasted.
      this.lastOn = state.updated - state.onBatteryS * 1000;
    } else if (!onBattery && wasOnBattery) {
      this.lastOff = state.updated;
      if (this.lastOn !== null) this.completedS += Math.max(0, Math.floor((state.updated - this.lastOn) / 1000));
    }
    this.known = s;
  }

  get lastKnown(): UpsStatus | null {
    return this.known;
  }

  snapshot(): NisTransfers {
    return { count: this.count, lastOn: this.lastOn, lastOff: this.lastOff, completedS: this.completedS };
  }
}
