import { FakeClock } from '../../src/core/clock';
import { IpmiHost } from '../../src/adapters/host/ipmi';
import { SimulatedHost, simulatedHostSchema } from '../../src/adapters/host/simulated';
import { parseConfig } from '../../src/config/loader';
import { SimulatedUps, simulatedUpsSchema } from '../../src/adapters/ups/simulated';
import { PolledUps } from '../../src/adapters/ups/polled';
import { FakeBmc } from '../helpers/fake-bmc';
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

adapterContract('IPMI host (in-memory BMC)', () => {
  const { config } = parseConfig('hosts:\n  db:\n    ipmi: { host: 127.0.0.1, username: oper, password_env: P, poll_interval: 1s, sensor_interval: 2s }\n', { env: { P: 'pw' } });
  const cfg = config.hosts.db?.ipmi;
  if (!cfg) throw new Error('no ipmi section');
  const bmc = new FakeBmc();
  return { adapter: new IpmiHost('db', cfg, () => bmc), clock: new FakeClock() };
});
