/**
 * One server as a Switch. On = the host answers or its BMC says it is on (running, waking);
 * on wakes it, off asks for a graceful shutdown where the plugin config allows it.
 */
import type { BlackstartSource, CommandResult, HostState } from 'blackstart';
import type { CharacteristicValue, HAP, Logging, PlatformAccessory, Service } from './homebridge-types';
import type { HostOptions } from './config';
import { TargetHold } from './hold';
import { TemperatureServices } from './temperature-services';

interface HostAccessoryOptions extends HostOptions {
  holdMs: number;
  revertMs: number;
}

export function hostIsOn(state: HostState): boolean {
  return state.phase === 'running' || state.phase === 'waking';
}

export class HostAccessory {
  readonly switch: Service;
  private readonly hold: TargetHold;
  private readonly temperatures: TemperatureServices | undefined;
  private revertTimer: NodeJS.Timeout | undefined;
  private holdTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly hap: HAP,
    readonly accessory: PlatformAccessory,
    private readonly hostId: string,
    private readonly source: BlackstartSource,
    private readonly opts: HostAccessoryOptions,
    private readonly log: Logging,
    now: () => number = Date.now,
  ) {
    const { Service, Characteristic } = hap;
    this.hold = new TargetHold(now);
    accessory
      .getService(Service.AccessoryInformation)
      ?.setCharacteristic(Characteristic.Manufacturer, 'Blackstart')
      .setCharacteristic(Characteristic.Model, 'Server')
      .setCharacteristic(Characteristic.SerialNumber, `host:${hostId}`);
    this.switch = accessory.getService(Service.Switch) ?? accessory.addService(Service.Switch, accessory.displayName);
    this.switch
      .getCharacteristic(Characteristic.On)
      .onGet(() => this.shown())
      .onSet((value) => this.set(value));
    if (opts.temperatures) this.temperatures = new TemperatureServices(hap, accessory, () => (this.available() ? (this.source.sensors(hostId) ?? {}) : undefined));
    else TemperatureServices.removeAll(hap, accessory);
  }

  /**
   * Pushes the switch's state (or "not responding") to HomeKit; the platform calls it on every host event,
   * which comes with every probe, so the temperatures are left to refreshTemperatures.
   */
  refresh(): void {
    const { Characteristic } = this.hap;
    const on = this.switch.getCharacteristic(Characteristic.On);
    const state = this.available();
    if (!state) {
      on.updateValue(this.notResponding());
    } else {
      on.updateValue(this.hold.shown(hostIsOn(state)));
    }
  }

  /** Pushes the IPMI temperatures (or "not responding"); the platform calls it when new readings arrive. */
  refreshTemperatures(): void {
    this.temperatures?.update();
  }

  dispose(): void {
    clearTimeout(this.revertTimer);
    clearTimeout(this.holdTimer);
  }

  private available(): HostState | undefined {
    return this.source.online ? this.source.host(this.hostId) : undefined;
  }

  private notResponding(): Error {
    return new this.hap.HapStatusError(this.hap.HAPStatus.SERVICE_COMMUNICATION_FAILURE);
  }

  private shown(): boolean {
    const state = this.available();
    if (!state) throw this.notResponding();
    return this.hold.shown(hostIsOn(state));
  }

  private set(value: CharacteristicValue): void {
    const state = this.available();
    if (!state) throw this.notResponding();
    const want = value === true || value === 1;
    if (want === this.hold.shown(hostIsOn(state))) return;
    if (!want && !this.opts.allowShutdown) {
      this.log.warn(`${this.accessory.displayName}: switching off does not shut "${this.hostId}" down: set allow_shutdown for this host in the plugin config to allow it`);
      clearTimeout(this.revertTimer);
      this.revertTimer = setTimeout(() => this.refresh(), this.opts.revertMs);
      return;
    }
    this.hold.hold(want, this.opts.holdMs);
    clearTimeout(this.holdTimer);
    // When the hold runs out without the host getting there, the switch must show the truth again.
    this.holdTimer = setTimeout(() => this.refresh(), this.opts.holdMs + 10);
    // HomeKit gives a write a few seconds; a wake or a verified shutdown takes longer, so it runs on.
    void this.run(want).then((result) => {
      if (result.ok) {
        this.log.info(`${this.accessory.displayName}: ${result.action} sent to "${this.hostId}" (${result.tookMs} ms)`);
        return;
      }
      this.log.error(`${this.accessory.displayName}: ${result.action ?? 'command'} on "${this.hostId}" failed: ${result.error?.code} ${result.error?.message}`);
      this.hold.release();
      clearTimeout(this.holdTimer);
      this.refresh();
    });
  }

  private async run(on: boolean): Promise<CommandResult> {
    if (!on) return this.source.execute(this.hostId, 'shutdown');
    const woken = await this.source.execute(this.hostId, 'wake');
    // A host with only a BMC has no wake method; its BMC powers it on instead.
    if (!woken.ok && woken.error?.code === 'UNSUPPORTED') return this.source.execute(this.hostId, 'power_on');
    return woken;
  }
}
