/**
 * The apcupsd-secondary role: watch one UPS's retained state on MQTT and decide, on this
 * machine alone, when to shut down. It keeps counting when the hub vanishes mid-outage (the
 * last state stays `on_battery`), which is the point of letting an agent follow a UPS itself.
 */
import type { Clock, TimerHandle } from '../core/clock';
import type { Logger } from '../core/logger';
import type { FollowUpsConfig } from './config';

export class UpsFollower {
  private timer: TimerHandle | undefined;
  /** Set once it has asked for the shutdown in this outage; cleared when mains returns. */
  private fired = false;
  private last: string | undefined;

  constructor(
    private readonly cfg: FollowUpsConfig,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly shutdown: (reason: string) => void,
  ) {}

  /** Feeds one `<base>/ups/<ups>` payload; anything unreadable is logged and changes nothing. */
  update(payload: Buffer | string): void {
    const status = readStatus(payload);
    if (status === undefined) {
      this.log.warn({ ups: this.cfg.ups }, 'followed UPS state is not JSON with a "status": ignored');
      return;
    }
    if (status !== this.last) this.log.info({ ups: this.cfg.ups, status }, 'followed UPS changed state');
    this.last = status;
    switch (status) {
      case 'online':
        if (this.timer) this.log.info({ ups: this.cfg.ups }, 'mains is back: shutdown countdown cancelled');
        this.cancel();
        this.fired = false;
        return;
      case 'shutting_down':
        this.fire(`UPS ${this.cfg.ups} is shutting its loads down`);
        return;
      case 'low_battery':
        if (this.cfg.onLowBattery) this.fire(`UPS ${this.cfg.ups} reports a low battery`);
        else this.countDown();
        return;
      case 'on_battery':
        this.countDown();
        return;
      default:
        // comm_lost, off, or a status added later: not news about mains, so a countdown keeps going.
        return;
    }
  }

  stop(): void {
    this.cancel();
  }

  /** Whether a countdown is running (for ping and tests). */
  get counting(): boolean {
    return this.timer !== undefined;
  }

  private countDown(): void {
    if (this.timer || this.fired) return;
    const after = this.cfg.after;
    this.log.warn({ ups: this.cfg.ups, afterMs: after }, 'followed UPS is on battery: this machine shuts down unless mains returns in time');
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.fire(`UPS ${this.cfg.ups} on battery for ${after} ms`);
    }, after);
  }

  private fire(reason: string): void {
    this.cancel();
    if (this.fired) return;
    this.fired = true;
    this.shutdown(reason);
  }

  private cancel(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function readStatus(payload: Buffer | string): string | undefined {
  try {
    const json: unknown = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
    const status = json && typeof json === 'object' ? (json as { status?: unknown }).status : undefined;
    return typeof status === 'string' ? status : undefined;
  } catch {
    return undefined;
  }
}
