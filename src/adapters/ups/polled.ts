/**
 * The adapter every real UPS source runs under: polls the source, pushes readings to the hub,
 * debounces short trips to battery, declares `comm_lost` after the dead time, reconnects with
 * backoff, and carries out only allow-listed commands. Written once for NUT, apcupsd and APC smart.
 */
import type { Adapter, AdapterContext, CommandRequest } from '../../core/adapter';
import type { TimerHandle } from '../../core/clock';
import { BlackstartError, toBlackstartError } from '../../core/errors';
import { isOnBattery, type UpsState } from '../../core/state';
import type { PollingSettings } from './polling-config';
import type { UpsPush, UpsReading, UpsSource } from './source';

export interface PolledUpsOptions extends PollingSettings {
  /** Allow-listed instant commands; the hub refuses every other action with ok:false. */
  commands: readonly string[];
  /** Source kind for the adapter name (`ups:rack/nut`). */
  impl: string;
}

export class PolledUps implements Adapter<'ups'> {
  readonly kind = 'ups' as const;
  readonly name: string;
  readonly capabilities: readonly string[];
  private ctx: AdapterContext<'ups'> | undefined;
  private running = false;
  private pollTimer: TimerHandle | undefined;
  private deadTimer: TimerHandle | undefined;
  private blipTimer: TimerHandle | undefined;
  private inFlight: Promise<void> | undefined;
  private pollAgain = false;
  private failures = 0;
  private lastError = '';
  /** The last good reading, so a push (alert) can amend it. */
  private last: UpsReading | undefined;
  /** When the device itself last went on battery, and whether that has outlasted the delay. */
  private rawBatterySince: number | null = null;
  private confirmed = false;
  private everRead = false;

  constructor(
    readonly deviceId: string,
    private readonly source: UpsSource,
    private readonly opts: PolledUpsOptions,
  ) {
    this.name = `ups:${deviceId}/${opts.impl}`;
    this.capabilities = [...opts.commands];
  }

  start(ctx: AdapterContext<'ups'>): void {
    this.ctx = ctx;
    this.running = true;
    ctx.update({ source: this.source.label });
    this.source.onPush?.((push) => this.onPush(push));
    this.armDeadTimer();
    this.pollNow();
  }

  async stop(): Promise<void> {
    this.running = false;
    const clock = this.ctx?.clock;
    clock?.clearTimeout(this.pollTimer);
    clock?.clearTimeout(this.deadTimer);
    clock?.clearTimeout(this.blipTimer);
    await this.inFlight;
    await this.source.close();
  }

  async execute(request: CommandRequest): Promise<void> {
    if (!this.capabilities.includes(request.action)) {
      throw new BlackstartError('BAD_REQUEST', `command "${request.action}" is not allowed for UPS "${this.deviceId}"`);
    }
    if (!this.source.run) throw new BlackstartError('UNSUPPORTED', `${this.source.label} takes no commands`);
    await this.source.run(request.action, request.args);
    // The command may change what the UPS reports (a self-test, FSD): read again at once.
    this.pollNow();
  }

  /** Reads now, or right after the read in flight. */
  private pollNow(): void {
    if (!this.running) return;
    if (this.inFlight) {
      this.pollAgain = true;
      return;
    }
    this.ctx?.clock.clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    this.inFlight = this.pollOnce().finally(() => {
      this.inFlight = undefined;
      if (!this.running) return;
      if (this.pollAgain) {
        this.pollAgain = false;
        this.pollNow();
      } else {
        this.pollTimer = this.ctx?.clock.setTimeout(() => this.pollNow(), this.nextDelay());
      }
    });
  }

  private nextDelay(): number {
    if (this.failures === 0) return this.opts.pollInterval;
    return Math.min(this.opts.pollInterval * 2 ** (this.failures - 1), Math.max(this.opts.pollInterval, this.opts.reconnectMax));
  }

  private async pollOnce(): Promise<void> {
    const ctx = this.ctx;
    if (!ctx) return;
    let reading: UpsReading;
    try {
      reading = await this.source.read();
    } catch (err) {
      if (!this.running) return;
      const e = toBlackstartError(err);
      this.failures++;
      const text = `${e.code}: ${e.message}`;
      // One line per distinct failure, not one per retry.
      if (text !== this.lastError) ctx.log.warn({ code: e.code, err: e.message, source: this.source.label }, 'UPS read failed');
      this.lastError = text;
      await this.source.close().catch(() => undefined);
      return;
    }
    if (!this.running) return;
    if (this.failures > 0 || this.lastError) ctx.log.info({ source: this.source.label }, 'UPS readings are back');
    this.failures = 0;
    this.lastError = '';
    this.armDeadTimer();
    this.apply(reading);
  }

  private onPush(push: UpsPush): void {
    if (!this.running || !this.last) {
      this.pollNow();
      return;
    }
    this.apply({ ...this.last, ...push });
    // The push says what changed; a full read fills in the numbers that go with it.
    this.pollNow();
  }

  private armDeadTimer(): void {
    const clock = this.ctx?.clock;
    if (!clock) return;
    clock.clearTimeout(this.deadTimer);
    this.deadTimer = clock.setTimeout(() => this.declareLost(), this.opts.deadTime);
  }

  private declareLost(): void {
    if (!this.running || !this.ctx) return;
    this.cancelBlipTimer();
    this.last = undefined;
    // Readings we can no longer vouch for are withdrawn rather than left to look current.
    this.ctx.update({ status: 'comm_lost', flags: [], chargePct: null, runtimeS: null, loadPct: null, inputV: null, batteryV: null });
  }

  private apply(reading: UpsReading): void {
    const ctx = this.ctx;
    if (!ctx) return;
    const now = ctx.clock.now();
    const firstReading = !this.everRead;
    this.everRead = true;
    this.last = reading;
    const onBattery = isOnBattery(reading.status);

    if (!onBattery) {
      if (this.rawBatterySince !== null && !this.confirmed) {
        ctx.emit({
          type: 'power_blip',
          message: `UPS ${this.deviceId} was on battery for ${now - this.rawBatterySince} ms (under on_battery_delay)`,
          detail: { on_battery_ms: now - this.rawBatterySince, on_battery_delay_ms: this.opts.onBatteryDelay },
        });
      }
      this.rawBatterySince = null;
      this.confirmed = false;
      this.cancelBlipTimer();
      this.publish(reading, reading.status, null);
      return;
    }

    if (this.rawBatterySince === null) {
      // The device's own count is the best start time; a first reading already on battery is no blip.
      const deviceS = reading.onBatteryS ?? null;
      this.rawBatterySince = deviceS !== null ? now - deviceS * 1000 : now;
      this.confirmed = firstReading && deviceS === null;
    }
    const elapsed = now - this.rawBatterySince;
    if (!this.confirmed && (reading.status === 'low_battery' || elapsed >= this.opts.onBatteryDelay)) this.confirmed = true;
    if (this.confirmed) {
      this.cancelBlipTimer();
      // Unrounded, so the hub dates the outage from its true start.
      this.publish(reading, reading.status, elapsed / 1000);
      return;
    }
    // Not yet an outage: say so in the flags, keep status online, decide when the delay is up.
    this.publish(reading, 'online', null);
    if (!this.blipTimer) {
      this.blipTimer = ctx.clock.setTimeout(() => {
        this.blipTimer = undefined;
        if (this.last && this.rawBatterySince !== null) this.apply(this.last);
      }, this.opts.onBatteryDelay - elapsed);
    }
  }

  private cancelBlipTimer(): void {
    this.ctx?.clock.clearTimeout(this.blipTimer);
    this.blipTimer = undefined;
  }

  private publish(reading: UpsReading, status: UpsState['status'], onBatteryS: number | null): void {
    const patch: Partial<UpsState> = {
      status,
      flags: [...reading.flags],
      chargePct: reading.chargePct,
      runtimeS: reading.runtimeS,
      loadPct: reading.loadPct,
      inputV: reading.inputV,
      batteryV: reading.batteryV,
      source: this.source.label,
    };
    if (onBatteryS !== null) patch.onBatteryS = onBatteryS;
    this.ctx?.update(patch);
  }
}
