/**
 * One server as a Switch. On = the host answers or its BMC says it is on (running, waking);
 * on wakes it, off asks for a graceful shutdown where the plugin config allows it.
 */
import type { BlackstartSource, CommandResult, HostState } from 'blackstart';
import type { HAP, Logging, PlatformAccessory, Service } from './homebridge-types';
import type { HostOptions } from './config';
import { HeldSwitch, type HeldSwitchOptions } from './held-switch';
import { TemperatureServices } from './temperature-services';

interface HostAccessoryOptions extends HostOptions, HeldSwitchOptions {}

export function hostIsOn(state: HostState): boolean {
  return state.phase === 'running' || state.phase === 'waking';
}

export class HostAccessory {
  readonly switch: Service;
  private readonly held: HeldSwitch;
  private readonly temperatures: TemperatureServices | undefined;

  constructor(
    hap: HAP,
    readonly accessory: PlatformAccessory,
    private readonly hostId: string,
    private readonly source: BlackstartSource,
    opts: HostAccessoryOptions,
    private readonly log: Logging,
    now: () => number = Date.now,
  ) {
    const { Service, Characteristic } = hap;
    accessory
      .getService(Service.AccessoryInformation)
      ?.setCharacteristic(Characteristic.Manufacturer, 'Blackstart')
      .setCharacteristic(Characteristic.Model, 'Server')
      .setCharacteristic(Characteristic.SerialNumber, `host:${hostId}`);
    this.switch = accessory.getService(Service.Switch) ?? accessory.addService(Service.Switch, accessory.displayName);
    this.held = new HeldSwitch(
      hap,
      this.switch,
      {
        isOn: () => {
          const state = this.available();
          return state && hostIsOn(state);
        },
        offRefusal: () =>
          opts.allowShutdown ? undefined : `${accessory.displayName}: switching off does not shut "${hostId}" down: set allow_shutdown for this host in the plugin config to allow it`,
        command: (on) => this.run(on),
        report: (result) => this.report(result),
      },
      opts,
      log,
      now,
    );
    if (opts.temperatures) this.temperatures = new TemperatureServices(hap, accessory, () => (this.available() ? (this.source.sensors(hostId) ?? {}) : undefined));
    else TemperatureServices.removeAll(hap, accessory);
  }

  /**
   * Pushes the switch's state (or "not responding") to HomeKit; the platform calls it on every host event,
   * which comes with every probe, so the temperatures are left to refreshTemperatures.
   */
  refresh(): void {
    this.held.refresh();
  }

  /** Pushes the IPMI temperatures (or "not responding"); the platform calls it when new readings arrive. */
  refreshTemperatures(): void {
    this.temperatures?.update();
  }

  dispose(): void {
    this.held.dispose();
  }

  private available(): HostState | undefined {
    return this.source.online ? this.source.host(this.hostId) : undefined;
  }

  private report(result: CommandResult): void {
    if (result.ok) this.log.info(`${this.accessory.displayName}: ${result.action} sent to "${this.hostId}" (${result.tookMs} ms)`);
    else this.log.error(`${this.accessory.displayName}: ${result.action ?? 'command'} on "${this.hostId}" failed: ${result.error?.code} ${result.error?.message}`);
  }

  private async run(on: boolean): Promise<CommandResult> {
    if (!on) return this.source.execute(this.hostId, 'shutdown');
    const woken = await this.source.execute(this.hostId, 'wake');
    // A host with only a BMC has no wake method; its BMC powers it on instead.
    if (!woken.ok && woken.error?.code === 'UNSUPPORTED') return this.source.execute(this.hostId, 'power_on');
    return woken;
  }
}
