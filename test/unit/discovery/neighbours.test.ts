import { parseIpNeighJson, parseProcNetArp } from '../../../src/discovery/neighbours';

// `ip -j -4 neigh show` in the scan test's scanner namespace after a /24 sweep (iproute2 6.x),
// trimmed, plus a PERMANENT and a NOARP entry written by hand.
const IP_JSON = JSON.stringify([
  { dst: '10.213.0.10', dev: 'br0', lladdr: '02:13:00:00:00:0a', state: ['REACHABLE'] },
  { dst: '10.213.0.2', dev: 'br0', state: ['INCOMPLETE'] },
  { dst: '10.213.0.3', dev: 'br0', state: ['FAILED'] },
  { dst: '10.213.0.20', dev: 'br0', lladdr: '02:13:00:00:00:14', state: ['STALE'] },
  { dst: '10.213.0.21', dev: 'br0', lladdr: '02:13:00:00:00:15', state: ['DELAY'] },
  { dst: '10.213.0.22', dev: 'br0', lladdr: '02:13:00:00:00:16', state: ['PERMANENT'] },
  { dst: '224.0.0.1', dev: 'br0', lladdr: '01:00:5e:00:00:01', state: ['NOARP'] },
  { dst: 'fe80::1', dev: 'br0', lladdr: '02:13:00:00:00:99', router: null, state: ['REACHABLE'] },
]);

// /proc/net/arp from the same namespace (flags 0x0 = incomplete, 0x2 = complete, 0x6 = permanent).
const PROC_ARP = [
  'IP address       HW type     Flags       HW address            Mask     Device',
  '10.213.0.2       0x1         0x0         00:00:00:00:00:00     *        br0',
  '10.213.0.10      0x1         0x2         02:13:00:00:00:0a     *        br0',
  '10.213.0.20      0x1         0x2         02:13:00:00:00:14     *        br0',
  '10.213.0.22      0x1         0x6         02:13:00:00:00:16     *        br0',
  '',
].join('\n');

describe('neighbour table parsers', () => {
  test('ip -j neigh: complete IPv4 entries only', () => {
    const m = parseIpNeighJson(IP_JSON);
    expect(Object.fromEntries(m ?? [])).toEqual({
      '10.213.0.10': { mac: '02:13:00:00:00:0a', dev: 'br0' },
      '10.213.0.20': { mac: '02:13:00:00:00:14', dev: 'br0' },
      '10.213.0.21': { mac: '02:13:00:00:00:15', dev: 'br0' },
      '10.213.0.22': { mac: '02:13:00:00:00:16', dev: 'br0' },
    });
  });

  test('ip without -j support prints text: not taken for JSON', () => {
    expect(parseIpNeighJson('10.213.0.10 dev br0 lladdr 02:13:00:00:00:0a REACHABLE\n')).toBeUndefined();
    expect(parseIpNeighJson('{"not":"an array"}')).toBeUndefined();
    expect(parseIpNeighJson('[]')?.size).toBe(0);
  });

  test('/proc/net/arp: complete entries only, MACs normalised', () => {
    expect(Object.fromEntries(parseProcNetArp(PROC_ARP))).toEqual({
      '10.213.0.10': { mac: '02:13:00:00:00:0a', dev: 'br0' },
      '10.213.0.20': { mac: '02:13:00:00:00:14', dev: 'br0' },
      '10.213.0.22': { mac: '02:13:00:00:00:16', dev: 'br0' },
    });
    expect(parseProcNetArp('').size).toBe(0);
    expect(parseProcNetArp('IP address HW type Flags HW address Mask Device\ngarbage\n').size).toBe(0);
  });

  test('upper-case MACs come back lower-case', () => {
    expect(parseIpNeighJson(JSON.stringify([{ dst: '10.0.0.1', lladdr: 'AA:BB:CC:DD:EE:F0', state: ['REACHABLE'] }]))?.get('10.0.0.1')?.mac).toBe('aa:bb:cc:dd:ee:f0');
  });
});
