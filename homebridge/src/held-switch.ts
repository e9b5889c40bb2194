/**
 * The Switch a host and a guest share: it reads "not responding" while the state cannot be vouched for,
 * holds the state it was asked for while the device gets there, flips a refused "off" back, and answers
 * a write with a HAP error when the command fails at once.
 */
import type { CommandResult } from 'blackstart';
import { TargetHold } from './hold';
import type { CharacteristicValue, HAP, Logging, Service } from './homebridge-types';

/**
 * HAP-NodeJS warns about a write that takes 3 s and gives up at 9 s, while a wake, a verified shutdown
 * or a guest's start is only answered once it is done (minutes). A command that fails within this window
 * is answered as a HAP error; one that fails later is logged and the switch shows the truth again.
 */
const ANSWER_WITHIN_MS = 2000;

export interface HeldSwitchOptions {
  /** How long the switch shows the state it was asked for while the device gets there. */
  holdMs: number;
  /** How long a refused "off" stays off before the switch flips back. */
  revertMs: number;
  answerWithinMs?: number;
}

/** The device behind the switch. */
export interface SwitchedDevice {
  /** On or off as the source has it; undefined while that cannot be vouched for. */
  isOn(): boolean | undefined;
  /** Undefined when "off" may be sent; else the warning that says why it is not. */
  offRefusal(): string | undefined;
  /** Sends what turns the device on or off. */
  command(on: boolean): Promise<CommandResult>;
  /** Logs a command's outcome. */
  report(result: CommandResult): void;
}

export class HeldSwitch {
  private readonly hold: TargetHold;
  private revertTimer: NodeJS.Timeout | undefined;
  private holdTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly hap: HAP,
    private readonly service: Service,
    private readonly device: SwitchedDevice,
    private readonly opts: HeldSwitchOptions,
    private readonly log: Logging,
    now: () => number = Date.now,
  ) {
    this.hold = new TargetHold(now);
    service
      .getCharacteristic(hap.Characteristic.On)
      .onGet(() => this.shown())
      .onSet((value) => this.set(value));
  }

  /** Pushes the current state (or "not responding") to HomeKit. */
  refresh(): void {
    const on = this.device.isOn();
    this.service.getCharacteristic(this.hap.Characteristic.On).updateValue(on === undefined ? this.notResponding() : this.hold.shown(on));
  }

  dispose(): void {
    clearTimeout(this.revertTimer);
    clearTimeout(this.holdTimer);
  }

  private notResponding(): Error {
    return new this.hap.HapStatusError(this.hap.HAPStatus.SERVICE_COMMUNICATION_FAILURE);
  }

  private shown(): boolean {
    const on = this.device.isOn();
    if (on === undefined) throw this.notResponding();
    return this.hold.shown(on);
  }

  private async set(value: CharacteristicValue): Promise<void> {
    const want = value === true || value === 1;
    if (want === this.shown()) return;
    const refusal = want ? undefined : this.device.offRefusal();
    if (refusal) {
      this.log.warn(refusal);
      clearTimeout(this.revertTimer);
      this.revertTimer = setTimeout(() => this.refresh(), this.opts.revertMs);
      return;
    }
    // The device stays where it was until the command is through; the hold keeps the switch from flapping meanwhile.
    this.hold.hold(want, this.opts.holdMs);
    clearTimeout(this.holdTimer);
    // When the hold runs out without the device getting there, the switch must show the truth again.
    this.holdTimer = setTimeout(() => this.refresh(), this.opts.holdMs + 10);
    const done = this.device.command(want).then((result) => this.settle(result));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), this.opts.answerWithinMs ?? ANSWER_WITHIN_MS)));
    const early = await Promise.race([done, late]);
    clearTimeout(timer);
    if (early === false) throw this.notResponding();
  }

  /** Logs the outcome; on failure lets the switch show the real state again. Resolves to `result.ok`. */
  private settle(result: CommandResult): boolean {
    this.device.report(result);
    if (result.ok) return true;
    this.hold.release();
    clearTimeout(this.holdTimer);
    // After HAP has answered the write (and left its value alone on an error), push the truth.
    setImmediate(() => this.refresh());
    return false;
  }
}
