/**
 * `blackstart scan` against a LAN of network namespaces: the scanner runs inside the namespace
 * holding the bridge, so every probe (and the reverse DNS, sent to loopback there) stays inside.
 * Names come from a PTR server the tests start on that loopback; "no fping" is made by hiding
 * it in the run's own mount namespace, so the real iputils ping does the sweep.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pingTakesFractions } from '../../src/adapters/reach/icmp';
import { cliPath, repoRoot } from '../helpers/repo';
import { listNamespaces, netnsUnavailable, runNodeIn } from '../helpers/netns';
import { reverseName, TYPE_PTR, type QueryLog } from '../helpers/dns-ptr';
import { startPtrServer, startScanLab, type LabHost, type PtrServer, type ScanLab } from '../helpers/scan-lab';

const why = netnsUnavailable('scan');
if (why) console.warn(`scan.test: skipped, network namespaces unavailable (${why})`);
const maybe = why ? describe.skip : describe;

const HOSTS: LabHost[] = [
  { address: '10.213.0.10', mac: '02:13:00:00:00:0a', tcp: [22] },
  { address: '10.213.0.20', mac: '02:13:00:00:00:14', tcp: [22, 80], bmc: true },
  { address: '10.213.0.30', mac: '02:13:00:00:00:1e', tcp: [80] },
];

interface ScanJson {
  scanned: number;
  took_ms: number;
  hosts: { address: string; mac: string; open_ports: number[]; icmp: boolean; bmc: boolean; ipmi: boolean; name: string | null }[];
  written?: { file: string; added: { id: string; address: string }[]; skipped: { address: string; id: string; by: string }[] };
}

const ptrQuery = (address: string, reply: QueryLog['reply']): QueryLog => ({ name: reverseName(address), type: TYPE_PTR, reply });

/** The system's own binary, wherever this distribution keeps it. */
function realTool(name: string): string {
  for (const d of ['/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
    try {
      accessSync(join(d, name), constants.X_OK);
      return join(d, name);
    } catch {
      // not here; keep looking
    }
  }
  throw new Error(`${name} not found in /usr/bin, /bin, /usr/sbin or /sbin`);
}

// `ip netns exec` gives each command a private mount namespace, so covering fping with
// /dev/null (no execute bit) there hides it from this one CLI run and from nothing else.
const HIDE_FPING = `set -e
IFS=:
for d in $PATH:/usr/sbin:/sbin:/usr/bin:/bin; do
  if [ -x "$d/fping" ]; then mount --bind /dev/null "$d/fping"; fi
done
for d in $PATH:/usr/sbin:/sbin:/usr/bin:/bin; do
  if [ -x "$d/fping" ]; then echo "fping is still executable at $d/fping" >&2; exit 99; fi
done
unset IFS
exec "$@"`;

function inScanner(lab: ScanLab, args: string[], o: { withoutFping?: boolean } = {}): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  const cli = [process.execPath, cliPath(), ...args];
  const child = spawn('ip', ['netns', 'exec', lab.scanner, ...(o.withoutFping ? ['sh', '-c', HIDE_FPING, 'hide-fping'] : []), ...cli], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started })));
}

maybe('blackstart scan in network namespaces', () => {
  let lab: ScanLab | undefined;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bs-scan-'));
    lab = await startScanLab(`s${process.pid % 10000}`, '10.213.0.0/24', '10.213.0.254', HOSTS);
  });

  afterAll(async () => {
    await lab?.stop();
    rmSync(dir, { recursive: true, force: true });
    if (lab) {
      expect(listNamespaces().filter((ns) => lab?.namespaces.includes(ns))).toEqual([]);
      expect(existsSync(`/etc/netns/${lab.scanner}`)).toBe(false);
    }
  });

  // No DNS server runs in the namespace here, so the lookups are refused and every name is null.
  test('finds exactly the three hosts with their MACs, open ports and the BMC', async () => {
    const r = await inScanner(lab as ScanLab, ['scan', '10.213.0.0/24', '--ports', '22,80,623', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as ScanJson;
    console.log(`scan of 10.213.0.0/24: ${out.took_ms} ms in the CLI, ${r.ms} ms with process start`);
    expect(out.scanned).toBe(254);
    expect(out.hosts.map((h) => ({ address: h.address, mac: h.mac, open_ports: h.open_ports, bmc: h.bmc, name: h.name }))).toEqual([
      { address: '10.213.0.10', mac: '02:13:00:00:00:0a', open_ports: [22], bmc: false, name: null },
      { address: '10.213.0.20', mac: '02:13:00:00:00:14', open_ports: [22, 80], bmc: true, name: null },
      { address: '10.213.0.30', mac: '02:13:00:00:00:1e', open_ports: [80], bmc: false, name: null },
    ]);
    expect(out.hosts[1]?.ipmi).toBe(true);
    expect(r.ms).toBeLessThan(10_000);
  });

  test('prints a table', async () => {
    const r = await inScanner(lab as ScanLab, ['scan', '10.213.0.0/24', '--ports', '22,80,623', '--no-dns']);
    expect(r.code).toBe(0);
    console.log(r.stdout);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ADDRESS\s+MAC\s+NAME\s+OPEN PORTS\s+BMC$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/))).toEqual([
      ['10.213.0.10', '02:13:00:00:00:0a', '-', '22', 'no'],
      ['10.213.0.20', '02:13:00:00:00:14', '-', '22,80', 'yes'],
      ['10.213.0.30', '02:13:00:00:00:1e', '-', '80', 'no'],
    ]);
  });

  test('--write merges into a hand-written config without clobbering it, and the result passes check', async () => {
    const file = join(dir, 'lab.yaml');
    const original = [
      '# my lab',
      'hosts:',
      '  # the one I set up myself',
      '  router: # keep this comment',
      '    address: 10.213.0.10',
      '    probe: {tcp: [22], interval: 10s}',
      '',
      'ups: {}',
      '',
    ].join('\n');
    writeFileSync(file, original);
    const r = await inScanner(lab as ScanLab, ['scan', '10.213.0.0/24', '--ports', '22,80,623', '--no-dns', '--json', '--write', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const written = (JSON.parse(r.stdout) as { written: { added: { id: string }[]; skipped: { id: string; by: string }[] } }).written;
    expect(written.added.map((a) => a.id)).toEqual(['host-10-213-0-20', 'host-10-213-0-30']);
    expect(written.skipped).toEqual([{ address: '10.213.0.10', id: 'router', by: 'address' }]);
    const text = readFileSync(file, 'utf8');
    expect(text.startsWith(original.split('\n').slice(0, 6).join('\n') + '\n')).toBe(true);
    expect(text).toMatch(/# found by blackstart scan \d{4}-\d\d-\d\d: likely BMC at 10\.213\.0\.20/);
    expect(text).toContain("mac: 02:13:00:00:00:14 # set wol.address to this LAN's directed broadcast");
    expect(text.endsWith('\nups: {}\n')).toBe(true);

    const check = await inScanner(lab as ScanLab, ['check', '-c', file]);
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('hosts (3): router, host-10-213-0-20, host-10-213-0-30');

    // A second scan finds everything already there (by address) and leaves the file alone.
    const again = await inScanner(lab as ScanLab, ['scan', '10.213.0.0/24', '--ports', '22,80,623', '--no-dns', '--write', file]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to add');
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  describe('reverse DNS from a PTR server on 127.0.0.1:53 inside the scanner namespace', () => {
    let dns: PtrServer | undefined;

    afterEach(async () => {
      await dns?.stop();
      dns = undefined;
    });

    test('names the hosts that have a PTR record in --json and the table, null for the one without', async () => {
      dns = await startPtrServer((lab as ScanLab).scanner, { names: { '10.213.0.10': 'gateway.lab.test', '10.213.0.20': 'bmc-rack1.lab.test.' } });
      const r = await inScanner(lab as ScanLab, ['scan', '10.213.0.0/24', '--ports', '22,80,623', '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout) as ScanJson;
      expect(out.hosts.map((h) => [h.address, h.name])).toEqual([
        ['10.213.0.10', 'gateway.lab.test'],
        ['10.213.0.20', 'bmc-rack1.lab.test'],
        ['10.213.0.30', null],
      ]);
      // The server saw the lookups, so the names came from it and not from anything outside.
      expect(dns.queries).toEqual(expect.arrayContaining([ptrQuery('10.213.0.10', 'ptr'), ptrQuery('10.213.0.20', 'ptr'), ptrQuery('10.213.0.30', 'nxdomain')]));

      const t = await inScanner(lab as ScanLab, ['scan', '10.213.0.0/24', '--ports', '22,80,623']);
      expect(t.code).toBe(0);
      console.log(t.stdout);
      expect(t.stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/))).toEqual([
        ['10.213.0.10', '02:13:00:00:00:0a', 'gateway.lab.test', '22', 'no'],
        ['10.213.0.20', '02:13:00:00:00:14', 'bmc-rack1.lab.test', '22,80', 'yes'],
        ['10.213.0.30', '02:13:00:00:00:1e', '-', '80', 'no'],
      ]);
    });

    test('--write matches an entry by its name, takes new ids from names and notes the name', async () => {
      dns = await startPtrServer((lab as ScanLab).scanner, { names: { '10.213.0.10': 'gateway.lab.test', '10.213.0.20': 'bmc-rack1.lab.test' } });
      const file = join(dir, 'named.yaml');
      // The hand-written entry knows the router only by name; the scan sees its address.
      const original = ['hosts:', '  router:', '    address: Gateway.lab.test.', '    probe: {tcp: [22], interval: 10s}', 'ups: {}', ''].join('\n');
      writeFileSync(file, original);
      const r = await inScanner(lab as ScanLab, ['scan', '10.213.0.0/24', '--ports', '22,80,623', '--json', '--write', file]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout) as ScanJson;
      expect(out.written).toEqual({
        file,
        skipped: [{ address: '10.213.0.10', id: 'router', by: 'name' }],
        added: [
          { id: 'bmc-rack1', address: '10.213.0.20' },
          { id: 'host-10-213-0-30', address: '10.213.0.30' },
        ],
      });
      const text = readFileSync(file, 'utf8');
      console.log(text);
      expect(text).toMatch(/\n {2}# found by blackstart scan \d{4}-\d\d-\d\d \(bmc-rack1\.lab\.test\): likely BMC at 10\.213\.0\.20 .*\n {2}bmc-rack1:\n {4}address: 10\.213\.0\.20\n/);
      expect(text).toMatch(/\n {2}# found by blackstart scan \d{4}-\d\d-\d\d\n {2}host-10-213-0-30:\n/);

      const check = await inScanner(lab as ScanLab, ['check', '-c', file]);
      expect(check.stderr).toBe('');
      expect(check.code).toBe(0);
      expect(check.stdout).toContain('hosts (3): router, bmc-rack1, host-10-213-0-30');
    });

    test('a PTR query that is never answered leaves that name null and costs no more than the lookup timeout', async () => {
      const baseline = await inScanner(lab as ScanLab, ['scan', '10.213.0.0/24', '--ports', '22,80,623', '--json', '--no-dns']);
      expect(baseline.code).toBe(0);
      dns = await startPtrServer((lab as ScanLab).scanner, { names: { '10.213.0.10': 'gateway.lab.test', '10.213.0.30': 'nas-01.lab.test' }, silent: ['10.213.0.20'] });
      const r = await inScanner(lab as ScanLab, ['scan', '10.213.0.0/24', '--ports', '22,80,623', '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout) as ScanJson;
      const base = JSON.parse(baseline.stdout) as ScanJson;
      const dropped = dns.queries.filter((q) => q.reply === 'dropped').length;
      console.log(`silent PTR for 10.213.0.20 (${dropped} queries dropped): ${out.took_ms} ms in the CLI (${r.ms} ms with process start); --no-dns: ${base.took_ms} ms (${baseline.ms} ms)`);
      expect(out.hosts.map((h) => [h.address, h.name])).toEqual([
        ['10.213.0.10', 'gateway.lab.test'],
        ['10.213.0.20', null],
        ['10.213.0.30', 'nas-01.lab.test'],
      ]);
      expect(dns.queries).toContainEqual(ptrQuery('10.213.0.20', 'dropped'));
      // The lookup gives up after twice the 500 ms default timeout; the rest is slack for a busy machine.
      expect(out.took_ms).toBeLessThan(base.took_ms + 2 * 500 + 4000);
    });
  });

  test('without fping, an ICMP sweep runs iputils ping per address: live ones answer, a dead one is reported', async () => {
    // A search path holding only ping is what a machine without fping looks like to IcmpProber.
    const only = join(dir, 'ping-only');
    mkdirSync(only);
    symlinkSync(realTool('ping'), join(only, 'ping'));
    const script = `
const { IcmpProber } = require(${JSON.stringify(join(repoRoot(), 'dist/src/adapters/reach/icmp.js'))});
const prober = new IcmpProber({ searchPath: process.argv[1] });
const started = Date.now();
prober.sweep(process.argv.slice(2), 500).then((r) => process.stdout.write(JSON.stringify({ tool: prober.tool(), ms: Date.now() - started, results: Object.fromEntries(r) })));
`;
    const targets = ['10.213.0.10', '10.213.0.20', '10.213.0.30', '10.213.0.99'];
    const out = JSON.parse(await runNodeIn((lab as ScanLab).scanner, script, [only, ...targets])) as { tool: unknown; ms: number; results: Record<string, { ok: boolean; latencyMs: number | null; error: string | null }> };
    // iputils since s20190709 waits the 500 ms asked; an older ping is given a whole second.
    const version = spawnSync(realTool('ping'), ['-V'], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
    const wait = pingTakesFractions(`${version.stdout}\n${version.stderr}`) ? '0.5' : '1';
    console.log(`ping fallback sweep of ${targets.length} addresses: ${out.ms} ms`, out.results);
    expect(out.tool).toEqual({ kind: 'ping', path: join(only, 'ping') });
    for (const live of targets.slice(0, 3)) expect(out.results[live]).toEqual({ method: 'icmp', ok: true, latencyMs: expect.any(Number), error: null });
    expect(out.results['10.213.0.99']).toEqual({ method: 'icmp', ok: false, latencyMs: null, error: `icmp 10.213.0.99: no echo reply within ${wait} s` });
  });

  test('the scan CLI without fping finds the same hosts by ICMP through iputils ping', async () => {
    // A /27 (.1-.30) holds all three hosts: each dead address costs one ping's wait, 64 at a time,
    // so a /24 would only add time to the suite.
    const r = await inScanner(lab as ScanLab, ['scan', '10.213.0.0/27', '--ports', '22,80,623', '--json', '--no-dns'], { withoutFping: true });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as ScanJson;
    console.log(`scan of 10.213.0.0/27 with ping instead of fping: ${out.took_ms} ms in the CLI, ${r.ms} ms with process start`);
    expect(out.hosts.map((h) => [h.address, h.mac, h.icmp])).toEqual([
      ['10.213.0.10', '02:13:00:00:00:0a', true],
      ['10.213.0.20', '02:13:00:00:00:14', true],
      ['10.213.0.30', '02:13:00:00:00:1e', true],
    ]);
    expect(r.ms).toBeLessThan(20_000);
  });
});
