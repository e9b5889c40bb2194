/** blackstart-wol: magic packets to a UDP listener on 127.0.0.1 (never a broadcast), overrides, refusals. */
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { ALL_NODES, collect, errors, helper, initHelper, statuses, until } from './lab';

function magic(mac: string): Buffer {
  const bytes = Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
  return Buffer.concat([Buffer.alloc(6, 0xff), ...Array.from({ length: 16 }, () => bytes)]);
}

describe('blackstart-wol', () => {
  let udp: Socket;
  let port: number;
  const packets: Buffer[] = [];
  beforeAll(async () => {
    initHelper();
    udp = createSocket('udp4');
    udp.on('message', (m) => packets.push(m));
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    port = (udp.address() as AddressInfo).port;
  });
  afterAll(() => udp.close());
  beforeEach(() => (packets.length = 0));
  afterEach(() => helper.unload());

  it('sends the configured MAC repeat times to the configured address and port', async () => {
    await helper.load(ALL_NODES, [
      { id: 'w', type: 'blackstart-wol', mac: '02:00:00:aa:bb:cc', address: '127.0.0.1', port: String(port), repeat: 2, wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    const out = collect(helper.getNode('out'));
    const dots = statuses(helper.getNode('w'));
    helper.getNode('w').receive({ payload: 'go' });
    const m = await until('report', () => out[0]);
    await until('two packets', () => packets.length === 2);
    expect(packets[0]).toEqual(magic('02:00:00:aa:bb:cc'));
    expect(packets[0]).toHaveLength(102);
    expect(m.payload).toEqual({ mac: '02:00:00:aa:bb:cc', address: '127.0.0.1', port, sent: 2, bytes: 102 });
    expect(dots.at(-1)).toEqual({ fill: 'green', shape: 'dot', text: `sent · 02:00:00:aa:bb:cc → 127.0.0.1:${port}` });
  });

  it('appends the SecureOn password from its credentials', async () => {
    await helper.load(
      ALL_NODES,
      [
        { id: 'w', type: 'blackstart-wol', mac: '02:00:00:aa:bb:cc', address: '127.0.0.1', port: String(port), repeat: 1, wires: [['out']] },
        { id: 'out', type: 'helper' },
      ],
      { w: { password: '11:22:33:44:55:66' } },
    );
    const out = collect(helper.getNode('out'));
    helper.getNode('w').receive({});
    await until('report', () => out[0]);
    await until('packet', () => packets[0]);
    expect(packets[0]).toEqual(Buffer.concat([magic('02:00:00:aa:bb:cc'), Buffer.from([0x11, 0x22, 0x33, 0x44, 0x55, 0x66])]));
  });

  it('takes msg.mac, msg.address and msg.port over its settings', async () => {
    await helper.load(ALL_NODES, [
      { id: 'w', type: 'blackstart-wol', mac: '02:00:00:00:00:01', address: '127.0.0.2', port: '9', repeat: 1, wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    const out = collect(helper.getNode('out'));
    helper.getNode('w').receive({ mac: '02-00-00-12-34-56', address: '127.0.0.1', port });
    await until('report', () => out[0]);
    await until('packet', () => packets[0]);
    expect(packets[0]).toEqual(magic('02:00:00:12:34:56'));
  });

  it('sends a bad MAC or port to a Catch node and sends nothing', async () => {
    await helper.load(ALL_NODES, [
      { id: 'f', type: 'tab' },
      { id: 'w', z: 'f', type: 'blackstart-wol', mac: 'not-a-mac', address: '127.0.0.1', port: String(port), wires: [['out']] },
      { id: 'c', z: 'f', type: 'catch', scope: ['w'], wires: [['caught']] },
      { id: 'out', z: 'f', type: 'helper' },
      { id: 'caught', z: 'f', type: 'helper' },
    ]);
    const caught = collect(helper.getNode('caught'));
    const errs = errors(helper.getNode('w'));
    const dots = statuses(helper.getNode('w'));
    helper.getNode('w').receive({ tag: 1 });
    await until('caught', () => caught[0]);
    expect(caught[0]).toMatchObject({ tag: 1, error: { message: expect.stringMatching(/not-a-mac/) } });
    helper.getNode('w').receive({ mac: '02:00:00:00:00:01', port: 'ninety' });
    await until('second error', () => errs.length === 2);
    expect(String(errs[1]!.err)).toMatch(/port "ninety" is not a port number/);
    expect(dots.at(-1)).toMatchObject({ fill: 'red', shape: 'dot' });
    expect(packets).toEqual([]);
  });
});
