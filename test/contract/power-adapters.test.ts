import { ProbeHost, probeSchema } from '../../src/adapters/host/probe';
import { ShutdownHost } from '../../src/adapters/host/shutdown';
import { CommandMethod } from '../../src/adapters/power';
import { WolHost, wolSchema } from '../../src/adapters/host/wol';
import type { WolSocketFactory } from '../../src/adapters/power/wol';
import { WolSender } from '../../src/adapters/power/wol';
import { Prober } from '../../src/adapters/reach/prober';
import { FakeClock } from '../../src/core/clock';
import { adapterContract } from './adapter-contract';

adapterContract('probe host (scripted probes)', () => {
  const clock = new FakeClock();
  let n = 0;
  const prober = new Prober({
    clock,
    methods: { tcp: async () => ({ method: 'tcp', ok: n++ % 4 !== 3, latencyMs: 2, error: n % 4 === 0 ? 'tcp nas: refused' : null }) },
  });
  return { adapter: new ProbeHost('nas', probeSchema.parse({ address: 'nas.lan', tcp: [22], interval: '1s', timeout: '500ms' }), { prober }), clock };
});

/** A socket that only records: the contract exercises the adapter, not the network. */
const recordingSockets: WolSocketFactory = () => ({
  bind: async () => undefined,
  setBroadcast: () => undefined,
  send: async () => undefined,
  close: () => undefined,
});

adapterContract(
  'wake-on-LAN host',
  () => {
    const clock = new FakeClock();
    // No spacing: the contract awaits each action before it moves the fake clock.
    const cfg = wolSchema.parse({ mac: '00:1b:21:3a:4c:5d', address: '192.0.2.255', spacing: '0ms' });
    return { adapter: new WolHost('nas', cfg, { sender: new WolSender({ clock, socketFactory: recordingSockets }) }), clock };
  },
  { reportsState: false },
);

adapterContract(
  'shutdown host (command method)',
  () => ({
    adapter: new ShutdownHost('nas', new CommandMethod({ argv: ['/bin/true'] }), { verifiable: false, verifyWithinMs: 5000 }),
    clock: new FakeClock(),
  }),
  { reportsState: false },
);
