/**
 * One guest of a host's hypervisor as a Switch. On = running or paused: the guest holds its memory and
 * can carry on (a paused one only needs resuming). Off = off, saved, or stopping: a stop that has begun
 * cannot be called back, so showing "on" would only make the switch bounce back after it was turned off.
 */
import { isVmUp, type BlackstartSource, type CommandResult, type VmAction, type VmState } from 'blackstart';
import type { GuestOptions } from './config';
import { TargetHold } from './hold';
import type { CharacteristicValue, HAP, Logging, PlatformAccessory, Service } from './homebridge-types';

/**
 * HAP-NodeJS warns about a write that takes 3 s and gives up at 9 s, while a guest's start or save is
 * only answered once it is running or saved (minutes). A command that fails within this window is
 * answered as a HAP error; one that fails later is logged and the switch shows the truth again.
 */
const ANSWER_WITHIN_MS = 2000;

export interface VmAccessoryOptions extends GuestOptions {
  holdMs: number;
  revertMs: number;
  answerWithinMs?: number;
}

export function vmIsOn(state: VmState): boolean {
  return isVmUp(state.state);
}

export class VmAccessory {
  readonly switch: Service;
  private readonly hold: TargetHold;
  private readonly label: string;
  private revertTimer: NodeJS.Timeout | undefined;
  private holdTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly hap: HAP,
    readonly accessory: PlatformAccessory,
    private readonly host: string,
    private readonly guest: string,
    private readonly source: BlackstartSource,
    private readonly opts: VmAccessoryOptions,
    private readonly log: Logging,
    now: () => number = Date.now,
  ) {
    const { Service, Characteristic } = hap;
    this.hold = new TargetHold(now);
    this.label = `guest "${guest}" on "${host}"`;
    accessory
      .getService(Service.AccessoryInformation)
      ?.setCharacteristic(Characteristic.Manufacturer, 'Blackstart')
      .setCharacteristic(Characteristic.Model, 'Virtual machine')
      .setCharacteristic(Characteristic.SerialNumber, `vm:${host}/${guest}`);
    this.switch = accessory.getService(Service.Switch) ?? accessory.addService(Service.Switch, accessory.displayName);
    this.switch
      .getCharacteristic(Characteristic.On)
      .onGet(() => this.shown())
      .onSet((value) => this.set(value));
  }

  /** Pushes the current state (or "not responding") to HomeKit; the platform calls it on every change. */
  refresh(): void {
    const on = this.switch.getCharacteristic(this.hap.Characteristic.On);
    const state = this.available();
    on.updateValue(state ? this.hold.shown(vmIsOn(state)) : this.notResponding());
  }

  dispose(): void {
    clearTimeout(this.revertTimer);
    clearTimeout(this.holdTimer);
  }

  /** Undefined while the state cannot be vouched for: source offline, guest not yet heard of, or `unknown`. */
  private available(): VmState | undefined {
    if (!this.source.online) return undefined;
    const state = this.source.vm(this.host, this.guest);
    return state && state.state !== 'unknown' ? state : undefined;
  }

  private notResponding(): Error {
    return new this.hap.HapStatusError(this.hap.HAPStatus.SERVICE_COMMUNICATION_FAILURE);
  }

  private shown(): boolean {
    const state = this.available();
    if (!state) throw this.notResponding();
    return this.hold.shown(vmIsOn(state));
  }

  private async set(value: CharacteristicValue): Promise<void> {
    const state = this.available();
    if (!state) throw this.notResponding();
    const want = value === true || value === 1;
    if (want === this.hold.shown(vmIsOn(state))) return;
    if (!want && !this.opts.allowShutdown) {
      this.log.warn(`${this.accessory.displayName}: switching off does not stop ${this.label}: set allow_shutdown for "${this.host}/${this.guest}" under guests in the plugin config to allow it`);
      clearTimeout(this.revertTimer);
      this.revertTimer = setTimeout(() => this.refresh(), this.opts.revertMs);
      return;
    }
    const action: VmAction = want ? 'start' : this.opts.stop;
    // A start leaves the guest "off" until the hypervisor reports it running; the hold keeps the switch from flapping meanwhile.
    this.hold.hold(want, this.opts.holdMs);
    clearTimeout(this.holdTimer);
    this.holdTimer = setTimeout(() => this.refresh(), this.opts.holdMs + 10);
    const done = this.source.executeVm(this.host, this.guest, action).then((result) => this.settle(result));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), this.opts.answerWithinMs ?? ANSWER_WITHIN_MS)));
    const early = await Promise.race([done, late]);
    clearTimeout(timer);
    if (early === false) throw this.notResponding();
  }

  /** Logs the outcome; on failure lets the switch show the real state again. Resolves to `result.ok`. */
  private settle(result: CommandResult): boolean {
    if (result.ok) {
      this.log.info(`${this.accessory.displayName}: ${result.action} of ${this.label} done (${result.tookMs} ms)`);
      return true;
    }
    this.log.error(`${this.accessory.displayName}: ${result.action ?? 'command'} of ${this.label} failed: ${result.error?.code} ${result.error?.message}`);
    this.hold.release();
    clearTimeout(this.holdTimer);
    // After HAP has answered the write (and left its value alone on an error), push the truth.
    setImmediate(() => this.refresh());
    return false;
  }
}
