/**
 * `blackstart scan` against a LAN of network namespaces: the scanner runs inside the namespace
 * holding the bridge, so every probe (and the reverse DNS, sent to loopback there) stays inside.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath } from '../helpers/repo';
import { netnsUnavailable } from '../helpers/netns';
import { startScanLab, type LabHost, type ScanLab } from '../helpers/scan-lab';

const why = netnsUnavailable('scan');
if (why) console.warn(`scan.test: skipped, network namespaces unavailable (${why})`);
const maybe = why ? describe.skip : describe;

const HOSTS: LabHost[] = [
  { address: '10.213.0.10', mac: '02:13:00:00:00:0a', tcp: [22] },
  { address: '10.213.0.20', mac: '02:13:00:00:00:14', tcp: [22, 80], bmc: true },
  { address: '10.213.0.30', mac: '02:13:00:00:00:1e', tcp: [80] },
];

function inScanner(lab: ScanLab, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  const child = spawn('ip', ['netns', 'exec', lab.scanner, process.execPath, cliPath(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  });

  test('finds exactly the three hosts with their MACs, open ports and the BMC', async () => {
    const r = await inScanner(lab as ScanLab, ['scan', '10.213.0.0/24', '--ports', '22,80,623', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { scanned: number; took_ms: number; hosts: { address: string; mac: string; open_ports: number[]; bmc: boolean; ipmi: boolean; name: string | null }[] };
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
});
