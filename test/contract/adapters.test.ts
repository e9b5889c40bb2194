import { FakeClock } from '../../src/core/clock';
import { SimulatedHost, simulatedHostSchema } from '../../src/adapters/host/simulated';
import { SimulatedUps, simulatedUpsSchema } from '../../src/adapters/ups/simulated';
import { PolledUps } from '../../src/adapters/ups/polled';
import { ScriptedSource } from '../helpers/scripted-ups-source';
import { adapterContract } from './adapter-contract';

adapterContract('simulated UPS', () => ({
  adapter: new SimulatedUps('main', simulatedUpsSchema.parse({ timeline: [{ at: '1s', mains: 'off' }] })),
  clock: new FakeClock(),
}));

adapterContract('simulated host', () => ({
  adapter: new SimulatedHost('nas', simulatedHostSchema.parse({ shutdown_takes: '2s', wake_takes: '3s' })),
  clock: new FakeClock(),
}));

adapterContract('polled UPS (scripted source)', () => {
  const clock = new FakeClock();
  const settings = { pollInterval: 1000, timeout: 500, deadTime: 3000, onBatteryDelay: 0, reconnectMax: 5000 };
  return { adapter: new PolledUps('rack', new ScriptedSource(clock), { ...settings, commands: ['test.battery.start'], impl: 'scripted' }), clock };
});
