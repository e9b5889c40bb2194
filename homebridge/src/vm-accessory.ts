/**
 * One guest of a host's hypervisor as a Switch. On = running or paused: the guest holds its memory and
 * can carry on (a paused one only needs resuming). Off = off, saved, or stopping: a stop that has begun
 * cannot be called back, so showing "on" would only make the switch bounce back after it was turned off.
 */
import { isVmUp, type BlackstartSource, type CommandResult, type VmState } from 'blackstart';
import type { GuestOptions } from './config';
import { HeldSwitch, type HeldSwitchOptions } from './held-switch';
import type { HAP, Logging, PlatformAccessory, Service } from './homebridge-types';

export interface VmAccessoryOptions extends GuestOptions, HeldSwitchOptions {}

export function vmIsOn(state: VmState): boolean {
  return isVmUp(state.state);
}

export class VmAccessory {
  readonly switch: Service;
  private readonly held: HeldSwitch;
  private readonly label: string;

  constructor(
    hap: HAP,
    readonly accessory: PlatformAccessory,
    private readonly host: string,
    private readonly guest: string,
    private readonly source: BlackstartSource,
    opts: VmAccessoryOptions,
    private readonly log: Logging,
    now: () => number = Date.now,
  ) {
    const { Service, Characteristic } = hap;
    this.label = `guest "${guest}" on "${host}"`;
    accessory
      .getService(Service.AccessoryInformation)
      ?.setCharacteristic(Characteristic.Manufacturer, 'Blackstart')
      .setCharacteristic(Characteristic.Model, 'Virtual machine')
      .setCharacteristic(Characteristic.SerialNumber, `vm:${host}/${guest}`);
    this.switch = accessory.getService(Service.Switch) ?? accessory.addService(Service.Switch, accessory.displayName);
    this.held = new HeldSwitch(
      hap,
      this.switch,
      {
        isOn: () => {
          const state = this.available();
          return state && vmIsOn(state);
        },
        offRefusal: () =>
          opts.allowShutdown
            ? undefined
            : `${accessory.displayName}: switching off does not stop ${this.label}: set allow_shutdown for "${host}/${guest}" under guests in the plugin config to allow it`,
        command: (on) => this.source.executeVm(host, guest, on ? 'start' : opts.stop),
        report: (result) => this.report(result),
      },
      opts,
      log,
      now,
    );
  }

  /** Pushes the current state (or "not responding") to HomeKit; the platform calls it on every change. */
  refresh(): void {
    this.held.refresh();
  }

  dispose(): void {
    this.held.dispose();
  }

  /** Undefined while the state cannot be vouched for: source offline, guest not yet heard of, or `unknown`. */
  private available(): VmState | undefined {
    if (!this.source.online) return undefined;
    const state = this.source.vm(this.host, this.guest);
    return state && state.state !== 'unknown' ? state : undefined;
  }

  private report(result: CommandResult): void {
    if (result.ok) this.log.info(`${this.accessory.displayName}: ${result.action} of ${this.label} done (${result.tookMs} ms)`);
    else this.log.error(`${this.accessory.displayName}: ${result.action ?? 'command'} of ${this.label} failed: ${result.error?.code} ${result.error?.message}`);
  }
}
