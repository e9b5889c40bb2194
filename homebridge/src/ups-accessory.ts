/**
 * The UPS as a Battery (charge, charging, low) plus a Contact Sensor that is open while on battery.
 * A contact sensor rather than an occupancy sensor: "opens" / "closes" are plain automation triggers
 * in Apple Home, and it does not pretend anyone is in a room.
 */
import { isOnBattery, type BlackstartSource, type UpsState } from 'blackstart';
import type { CharacteristicValue, HAP, PlatformAccessory, Service } from './homebridge-types';

export class UpsAccessory {
  readonly battery: Service;
  readonly onBattery: Service;

  constructor(
    private readonly hap: HAP,
    readonly accessory: PlatformAccessory,
    private readonly upsId: string,
    private readonly source: BlackstartSource,
  ) {
    const { Service, Characteristic } = hap;
    accessory
      .getService(Service.AccessoryInformation)
      ?.setCharacteristic(Characteristic.Manufacturer, 'Blackstart')
      .setCharacteristic(Characteristic.Model, 'UPS')
      .setCharacteristic(Characteristic.SerialNumber, `ups:${upsId}`);
    this.battery = accessory.getService(Service.Battery) ?? accessory.addService(Service.Battery, accessory.displayName);
    this.onBattery = accessory.getService(Service.ContactSensor) ?? accessory.addService(Service.ContactSensor, `${accessory.displayName} on battery`);
    for (const [service, characteristic] of this.characteristics()) {
      service.getCharacteristic(characteristic).onGet(() => this.value(characteristic));
    }
  }

  refresh(): void {
    for (const [service, characteristic] of this.characteristics()) {
      let value: CharacteristicValue | Error;
      try {
        value = this.value(characteristic);
      } catch (err) {
        value = err as Error;
      }
      service.getCharacteristic(characteristic).updateValue(value);
    }
  }

  private characteristics(): [Service, typeof this.hap.Characteristic.BatteryLevel][] {
    const { Characteristic } = this.hap;
    return [
      [this.battery, Characteristic.BatteryLevel],
      [this.battery, Characteristic.ChargingState],
      [this.battery, Characteristic.StatusLowBattery],
      [this.onBattery, Characteristic.ContactSensorState],
    ];
  }

  /** A UPS that cannot be read (comm_lost, source offline) is "not responding", never a stale value. */
  private value(characteristic: typeof this.hap.Characteristic.BatteryLevel): CharacteristicValue {
    const { Characteristic, HapStatusError, HAPStatus } = this.hap;
    const s = this.source.online ? this.source.ups(this.upsId) : undefined;
    if (!s || s.status === 'comm_lost') throw new HapStatusError(HAPStatus.SERVICE_COMMUNICATION_FAILURE);
    switch (characteristic.UUID) {
      case Characteristic.BatteryLevel.UUID:
        return batteryLevel(s);
      case Characteristic.ChargingState.UUID:
        return isCharging(s) ? Characteristic.ChargingState.CHARGING : Characteristic.ChargingState.NOT_CHARGING;
      case Characteristic.StatusLowBattery.UUID:
        return s.status === 'low_battery' ? Characteristic.StatusLowBattery.BATTERY_LEVEL_LOW : Characteristic.StatusLowBattery.BATTERY_LEVEL_NORMAL;
      default:
        return isOnBattery(s.status) ? Characteristic.ContactSensorState.CONTACT_NOT_DETECTED : Characteristic.ContactSensorState.CONTACT_DETECTED;
    }
  }
}

/** A UPS that gives no charge reads 0 rather than a made-up figure. */
function batteryLevel(s: UpsState): number {
  return Math.max(0, Math.min(100, Math.round(s.chargePct ?? 0)));
}

function isCharging(s: UpsState): boolean {
  return s.status === 'online' && s.chargePct !== null && s.chargePct < 100;
}
