import { FakeClock } from '../../src/core/clock';
import { SimulatedHost, simulatedHostSchema } from '../../src/adapters/host/simulated';
import { SimulatedUps, simulatedUpsSchema } from '../../src/adapters/ups/simulated';
import { adapterContract } from './adapter-contract';

adapterContract('simulated UPS', () => ({
  adapter: new SimulatedUps('main', simulatedUpsSchema.parse({ timeline: [{ at: '1s', mains: 'off' }] })),
  clock: new FakeClock(),
}));

adapterContract('simulated host', () => ({
  adapter: new SimulatedHost('nas', simulatedHostSchema.parse({ shutdown_takes: '2s', wake_takes: '3s' })),
  clock: new FakeClock(),
}));
