/**
 * `blackstart vm` as a user runs it, against a real virsh on libvirt's test driver. Each CLI run is
 * its own virsh process, so the test driver starts afresh every time: `test` is running at first.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../helpers/cli-run';
import { virshMissing } from '../helpers/virsh';

const missing = virshMissing();
if (missing) console.warn(`cli-vm: skipped: ${missing}`);

async function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = cli(args);
  const code = await r.code;
  return { code, stdout: r.stdout(), stderr: r.stderr() };
}

(missing ? describe.skip : describe)('blackstart vm', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bs-cli-vm-'));
  const cfg = join(dir, 'blackstart.yaml');
  const yaml = (uri: string): string => `hosts:
  hv1:
    address: 127.0.0.1
    probe: { tcp: [1] }
    vms:
      libvirt: { uri: "${uri}", timeout: 10s }
      guests:
        test: {}
        gone: { name: "not here" }
`;

  it("lists the host's guests as virsh reports them, and names a configured guest the hypervisor lacks", async () => {
    writeFileSync(cfg, yaml('test:///default'));
    const r = await run(['vm', 'hv1', '-c', cfg]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('hv1/test  running\nhv1/gone  unknown   "not here"  (libvirt test:///default has no guest named "not here")\n');
    const j = await run(['vm', 'hv1', '-c', cfg, '--json']);
    expect(JSON.parse(j.stdout)).toMatchObject({ host: 'hv1', guests: { test: { state: 'running', name: 'test', last_error: null }, gone: { state: 'unknown' } } });
  });

  it('carries out one action and waits for the hypervisor to read its outcome', async () => {
    writeFileSync(cfg, yaml('test:///default'));
    const r = await run(['vm', 'hv1', 'test', 'save', '-c', cfg, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ action: 'save', ok: true, detail: { verified_by: 'hypervisor', state: 'saved' } });
    const plain = await run(['vm', 'hv1', 'test', 'off', '-c', cfg]);
    expect(plain.stdout).toMatch(/^off hv1\/test: off after \d+ ms \(read from the hypervisor\)\n$/);
  });

  it('refuses an unknown action, guest or host, and says when the hypervisor cannot be reached', async () => {
    writeFileSync(cfg, yaml('test:///default'));
    const bad = await run(['vm', 'hv1', 'test', 'reboot', '-c', cfg]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown action "reboot" for guest "hv1/test" (expected one of: start, shutdown, save, off)');
    const ghost = await run(['vm', 'hv1', 'nope', 'start', '-c', cfg]);
    expect(ghost.code).toBe(8);
    expect(ghost.stderr).toContain('unknown guest "nope" on host "hv1" (have: test, gone)');
    // Configured, but the hypervisor has no such guest: refused with why, nothing sent blind.
    const gone = await run(['vm', 'hv1', 'gone', 'start', '-c', cfg]);
    expect(gone.code).toBe(8);
    expect(gone.stderr).toContain('libvirt test:///default has no guest named "not here"');
    const noHost = await run(['vm', 'hv9', '-c', cfg]);
    expect(noHost.code).toBe(8);
    expect(noHost.stderr).toContain('no host "hv9"');
    // A libvirt URI naming a file that is not there: virsh cannot connect.
    writeFileSync(cfg, yaml(`test://${join(dir, 'missing.xml')}`));
    const down = await run(['vm', 'hv1', '-c', cfg]);
    expect(down.code).toBe(4);
    expect(down.stdout).toMatch(/^hv1\/test {2}unknown {3}\(libvirt test:\/\/.*missing\.xml: virsh/m);
  });
});
