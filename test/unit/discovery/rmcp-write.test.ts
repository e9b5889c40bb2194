import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeAsfPong, encodeAsfPing, encodeAsfPong } from '../../../src/adapters/ipmi/codec-rmcp';
import { loadConfig } from '../../../src/config/loader';
import { rmcpPresence } from '../../../src/discovery/rmcp-ping';
import type { FoundHost } from '../../../src/discovery/scan';
import { writeFoundHosts } from '../../../src/discovery/write-config';

describe('RMCP presence', () => {
  test('pong encoder and decoder agree (ipmitool asf.h layout)', () => {
    const pong = encodeAsfPong({ tag: 7, oem: 0, ipmiSupported: true, asfVersion: 1, interactions: 0 });
    expect(pong.toString('hex')).toBe('0600ff06' + '000011be' + '40070010' + '000011be' + '00000000' + '8100' + '000000000000');
    expect(decodeAsfPong(pong)).toEqual({ tag: 7, iana: 4542, oem: 0, ipmiSupported: true, asfVersion: 1, interactions: 0 });
  });

  test('a responder on loopback is found; one that answers garbage is not', async () => {
    const good = createSocket('udp4');
    good.on('message', (m, r) => good.send(encodeAsfPong({ tag: m[9] as number, oem: 0, ipmiSupported: true, asfVersion: 1, interactions: 0 }), r.port, r.address));
    await new Promise<void>((r) => good.bind(0, '127.0.0.1', r));
    const port = good.address().port;
    const bad = createSocket('udp4');
    bad.on('message', (_m, r) => bad.send(encodeAsfPing(1), r.port, r.address));
    await new Promise<void>((r) => bad.bind(port, '127.0.0.2', r));
    try {
      const found = await rmcpPresence(['127.0.0.1', '127.0.0.2', '127.0.0.3'], { timeoutMs: 200, port });
      expect([...found.keys()]).toEqual(['127.0.0.1']);
      expect(found.get('127.0.0.1')?.ipmiSupported).toBe(true);
    } finally {
      good.close();
      bad.close();
    }
  });
});

describe('writing found hosts into a file', () => {
  let dir: string;
  const found: FoundHost[] = [{ address: '10.0.0.5', mac: '02:00:00:00:00:05', name: null, openPorts: [22], icmp: true, bmc: false, ipmi: false }];
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'bs-scanw-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('a missing file is created and loads', () => {
    const file = join(dir, 'new.yaml');
    expect(writeFoundHosts(file, found, 'd').added).toEqual([{ id: 'host-10-0-0-5', address: '10.0.0.5' }]);
    expect(Object.keys(loadConfig(file).config.hosts)).toEqual(['host-10-0-0-5']);
  });

  test('a file that does not load now is left alone', () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'hosts:\n  nas:\n    address: 10.0.0.9\n');
    expect(() => writeFoundHosts(file, found, 'd')).toThrow('does not pass blackstart check as it is');
    expect(readFileSync(file, 'utf8')).toBe('hosts:\n  nas:\n    address: 10.0.0.9\n');
  });
});
