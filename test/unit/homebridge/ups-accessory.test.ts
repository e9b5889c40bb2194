import { UpsAccessory } from '../../../homebridge/src/ups-accessory';
import { FakeSource, hap, newAccessory } from '../../helpers/homebridge-fakes';

const { Characteristic, HAPStatus } = hap;

function setup() {
  const source = new FakeSource();
  source.setUps('main', {});
  const ups = new UpsAccessory(hap, newAccessory('UPS', 'blackstart:ups:main'), 'main', source);
  source.on('ups', () => ups.refresh());
  const get = (c: typeof Characteristic.BatteryLevel, svc = ups.battery) => svc.getCharacteristic(c).handleGetRequest();
  return { source, ups, get };
}

describe('UPS accessory', () => {
  it('maps charge, charging and the on-battery contact sensor', async () => {
    const { source, ups, get } = setup();
    expect(await get(Characteristic.BatteryLevel)).toBe(100);
    expect(await get(Characteristic.ChargingState)).toBe(Characteristic.ChargingState.NOT_CHARGING);
    expect(await get(Characteristic.ContactSensorState, ups.onBattery)).toBe(Characteristic.ContactSensorState.CONTACT_DETECTED);

    source.setUps('main', { chargePct: 87.6 });
    expect(await get(Characteristic.BatteryLevel)).toBe(88);
    expect(await get(Characteristic.ChargingState)).toBe(Characteristic.ChargingState.CHARGING);

    source.setUps('main', { status: 'on_battery', chargePct: 80 });
    expect(ups.onBattery.getCharacteristic(Characteristic.ContactSensorState).value).toBe(Characteristic.ContactSensorState.CONTACT_NOT_DETECTED);
    expect(await get(Characteristic.ChargingState)).toBe(Characteristic.ChargingState.NOT_CHARGING);
    expect(await get(Characteristic.StatusLowBattery)).toBe(Characteristic.StatusLowBattery.BATTERY_LEVEL_NORMAL);

    source.setUps('main', { status: 'low_battery', chargePct: 9 });
    expect(ups.battery.getCharacteristic(Characteristic.StatusLowBattery).value).toBe(Characteristic.StatusLowBattery.BATTERY_LEVEL_LOW);
    expect(await get(Characteristic.ContactSensorState, ups.onBattery)).toBe(Characteristic.ContactSensorState.CONTACT_NOT_DETECTED);
  });

  it('is "not responding" while the UPS is comm_lost or the source is offline', async () => {
    const { source, ups, get } = setup();
    source.setUps('main', { status: 'comm_lost' });
    await expect(get(Characteristic.BatteryLevel)).rejects.toBe(HAPStatus.SERVICE_COMMUNICATION_FAILURE);
    await expect(get(Characteristic.ContactSensorState, ups.onBattery)).rejects.toBe(HAPStatus.SERVICE_COMMUNICATION_FAILURE);
    expect(ups.onBattery.getCharacteristic(Characteristic.ContactSensorState).statusCode).toBe(HAPStatus.SERVICE_COMMUNICATION_FAILURE);
    source.setUps('main', { status: 'online' });
    expect(await get(Characteristic.BatteryLevel)).toBe(100);
    source.online = false;
    await expect(get(Characteristic.BatteryLevel)).rejects.toBe(HAPStatus.SERVICE_COMMUNICATION_FAILURE);
  });
});
