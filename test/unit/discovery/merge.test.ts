import { parseConfig } from '../../../src/config/loader';
import { deriveHostId, idFromName } from '../../../src/discovery/host-id';
import { mergeFoundHosts } from '../../../src/discovery/merge';
import type { FoundHost } from '../../../src/discovery/scan';

function host(address: string, extra: Partial<FoundHost> = {}): FoundHost {
  return { address, mac: null, name: null, openPorts: [], icmp: true, bmc: false, ipmi: false, ...extra };
}

const HAND_WRITTEN = `# my lab: hand-written, keep every byte
mqtt:
  base_topic: lab   # not the default

hosts:
  # the router I configured myself
  router: # inline comment
    address: 127.0.7.1
    probe: {tcp: [22, 443], interval: 10s}

  nas:
    address: "nas.lan"
    wol: { mac: AA-BB-CC-DD-EE-01 }   # dashes on purpose
  # a trailing comment inside hosts

ups: {}
`;

describe('merging scan results into a config', () => {
  const found = [
    host('127.0.7.1', { openPorts: [22] }), // same address as router
    host('127.0.7.7', { mac: 'aa:bb:cc:dd:ee:01', openPorts: [445] }), // same MAC as nas
    host('127.0.7.20', { mac: '02:00:00:00:00:20', name: 'Big_Box.lan.', openPorts: [22, 623], bmc: true }),
    host('127.0.7.30'),
  ];

  test('keeps every hand-written byte and adds only new hosts at the end of hosts:', () => {
    const r = mergeFoundHosts(HAND_WRITTEN, found, '2026-12-01');
    expect(r.skipped).toEqual([
      { address: '127.0.7.1', id: 'router', by: 'address' },
      { address: '127.0.7.7', id: 'nas', by: 'mac' },
    ]);
    expect(r.added).toEqual([
      { id: 'big_box', address: '127.0.7.20' },
      { id: 'host-127-0-7-30', address: '127.0.7.30' },
    ]);
    const [before, after] = HAND_WRITTEN.split('  # a trailing comment inside hosts\n') as [string, string];
    expect(r.text.startsWith(before)).toBe(true);
    expect(r.text.endsWith(`  # a trailing comment inside hosts\n${after}`)).toBe(true);
    expect(r.text.slice(before.length, r.text.length - after.length - '  # a trailing comment inside hosts\n'.length)).toBe(
      [
        '  # found by blackstart scan 2026-12-01 (Big_Box.lan.): likely BMC at 127.0.7.20 (answered an RMCP presence ping on 623/UDP)',
        '  big_box:',
        '    address: 127.0.7.20',
        '    probe:',
        '      tcp: [ 22, 623 ]',
        '    wol:',
        "      mac: 02:00:00:00:00:20 # set wol.address to this LAN's directed broadcast (a.b.c.255 on a /24)",
        '  # found by blackstart scan 2026-12-01',
        '  host-127-0-7-30:',
        '    address: 127.0.7.30',
        '    probe:',
        '      icmp: true',
        '',
      ].join('\n'),
    );
  });

  test('the result loads, and merging again adds nothing', () => {
    const r = mergeFoundHosts(HAND_WRITTEN, found, '2026-12-01');
    const { config } = parseConfig(r.text);
    expect(Object.keys(config.hosts)).toEqual(['router', 'nas', 'big_box', 'host-127-0-7-30']);
    expect(config.hosts.big_box?.probe?.tcp).toEqual([22, 623]);
    expect(config.hosts.big_box?.wol?.mac).toBe('02:00:00:00:00:20');
    const again = mergeFoundHosts(r.text, found, '2026-12-02');
    expect(again.added).toEqual([]);
    expect(again.text).toBe(r.text);
  });

  test('a file without hosts, with an empty hosts: and with no text at all', () => {
    for (const text of ['ups: {}\n', 'ups: {}', 'hosts:\n', 'hosts: {}\n', '']) {
      const r = mergeFoundHosts(text, [host('10.0.0.5', { openPorts: [80] })], 'd');
      expect(Object.keys(parseConfig(r.text).config.hosts)).toEqual(['host-10-0-0-5']);
    }
  });

  test('a flow-map hosts with entries is refused rather than reformatted', () => {
    expect(() => mergeFoundHosts('hosts: {a: {address: 10.0.0.1, probe: {icmp: true}}}\n', [host('10.0.0.5')], 'd')).toThrow('flow map');
  });

  test('a matching probe.address counts as present too', () => {
    const text = 'hosts:\n  x:\n    probe: {address: 10.0.0.5, icmp: true}\n';
    expect(mergeFoundHosts(text, [host('10.0.0.5')], 'd').skipped).toEqual([{ address: '10.0.0.5', id: 'x', by: 'address' }]);
  });

  test('a reverse-DNS name equal to a hand-written address counts as present', () => {
    const r = mergeFoundHosts(HAND_WRITTEN, [host('127.0.7.8', { name: 'NAS.lan.' })], 'd');
    expect(r.skipped).toEqual([{ address: '127.0.7.8', id: 'nas', by: 'name' }]);
    expect(r.text).toBe(HAND_WRITTEN);
  });

  test('ids never collide with existing ones', () => {
    const text = 'hosts:\n  host-10-0-0-5:\n    address: elsewhere.lan\n    probe: {icmp: true}\n';
    const r = mergeFoundHosts(text, [host('10.0.0.5')], 'd');
    expect(r.added).toEqual([{ id: 'host-10-0-0-5-2', address: '10.0.0.5' }]);
    expect(() => parseConfig(r.text)).not.toThrow();
  });
});

describe('host ids', () => {
  test.each([
    ['nas.lan.', 'nas'],
    ['NAS-01.example.com', 'nas-01'],
    ['my box.lan', 'my-box'],
    ['_srv.lan', 'srv'],
    ['--', undefined],
    ['', undefined],
    ['ünïcode.lan', 'n-code'],
  ])('%j → %j', (name, id) => {
    expect(idFromName(name)).toBe(id);
  });

  test('address form, and suffixes against taken ids', () => {
    expect(deriveHostId('10.0.0.5', undefined, new Set())).toBe('host-10-0-0-5');
    expect(deriveHostId('10.0.0.5', '!!!', new Set())).toBe('host-10-0-0-5');
    expect(deriveHostId('10.0.0.5', 'nas.lan', new Set(['nas', 'nas-2']))).toBe('nas-3');
  });
});
