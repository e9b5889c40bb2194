/** A host's IPMI temperatures (sensors in degrees C) as Temperature Sensor services on its accessory. */
import type { SensorMap } from 'blackstart';
import type { HAP, PlatformAccessory, Service } from './homebridge-types';

const SUBTYPE = 'temp:';
const DEGREES_C = 'degrees C';

export class TemperatureServices {
  /** `read` gives the host's readings, or undefined while the source is lost. */
  constructor(
    private readonly hap: HAP,
    private readonly accessory: PlatformAccessory,
    private readonly read: () => SensorMap | undefined,
  ) {
    for (const s of TemperatureServices.existing(hap, accessory)) this.bind(s);
  }

  static existing(hap: HAP, accessory: PlatformAccessory): Service[] {
    return accessory.services.filter((s) => s.UUID === hap.Service.TemperatureSensor.UUID && s.subtype?.startsWith(SUBTYPE));
  }

  static removeAll(hap: HAP, accessory: PlatformAccessory): void {
    for (const s of TemperatureServices.existing(hap, accessory)) accessory.removeService(s);
  }

  /** Pushes the readings; a new temperature sensor gets its service the first time it is seen. */
  update(): void {
    const { Characteristic, HapStatusError, HAPStatus } = this.hap;
    const readings = this.read();
    if (!readings) {
      const lost = new HapStatusError(HAPStatus.SERVICE_COMMUNICATION_FAILURE);
      for (const s of TemperatureServices.existing(this.hap, this.accessory)) s.getCharacteristic(Characteristic.CurrentTemperature).updateValue(lost);
      return;
    }
    for (const [name, r] of Object.entries(readings)) {
      if (r.unit !== DEGREES_C || r.value === null) continue;
      this.service(name).getCharacteristic(Characteristic.CurrentTemperature).updateValue(r.value);
    }
  }

  private service(sensor: string): Service {
    const subtype = `${SUBTYPE}${sensor}`;
    const existing = this.accessory.getServiceById(this.hap.Service.TemperatureSensor, subtype);
    if (existing) return existing;
    const s = this.accessory.addService(this.hap.Service.TemperatureSensor, `${this.accessory.displayName} ${sensor}`, subtype);
    this.bind(s);
    return s;
  }

  private bind(s: Service): void {
    const { Characteristic, HapStatusError, HAPStatus } = this.hap;
    const sensor = s.subtype?.slice(SUBTYPE.length) ?? '';
    s.getCharacteristic(Characteristic.CurrentTemperature)
      .setProps({ minValue: -100, maxValue: 200 })
      .onGet(() => {
        const r = this.read()?.[sensor];
        if (!r || r.value === null) throw new HapStatusError(HAPStatus.SERVICE_COMMUNICATION_FAILURE);
        return r.value;
      });
  }
}
