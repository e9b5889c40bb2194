/**
 * The Xen, Hyper-V and libvirt drivers over a REAL OpenSSH sshd on 127.0.0.1 (test/helpers/sshd.ts),
 * whose ForceCommand records each command and answers with canned replies, so the exact command
 * strings the drivers send are checked and their canned outputs parsed. For libvirt the
 * ForceCommand runs the virsh session for real (libvirt's test driver, as the test user), so the
 * persistent channel is proved end to end. Skips only when sshd is missing or not root.
 */
import { existsSync } from 'node:fs';
import { vmsSchema } from '../../src/adapters/vm/config';
import { createHypervisor } from '../../src/adapters/vm/drivers';
import { decodeCommand, encodeCommand, LIST_SCRIPT } from '../../src/adapters/vm/hyperv-codec';
import type { Hypervisor } from '../../src/adapters/vm/hypervisor';
import { SshTransport } from '../../src/adapters/vm/ssh-transport';
import { SAVED_MARKER } from '../../src/adapters/vm/xl-codec';
import { Secret } from '../../src/core/secret';
import { rejection } from '../helpers/rejection';
import { sshdMissing, startSshd, type SshServer } from '../helpers/sshd';

const missing = sshdMissing();
if (missing) console.warn(`SKIPPED hypervisor-over-ssh tests: ${missing}`);
const suite = missing ? describe.skip : describe;

const XL_LIST = `xl list && echo '${SAVED_MARKER}' && { ls -1A -- '/var/lib/xen/save' 2>/dev/null || true; }`;
const XL_TABLE = [
  'Name                                        ID   Mem VCPUs\tState\tTime(s)',
  'Domain-0                                     0  1024     4     r-----    1234.5',
  'web server                                   1  1019     1     -b----      10.3',
  'db                                           2  2048     2     ---s--       5.0',
  SAVED_MARKER,
  'archive.save',
  '',
].join('\n');
const VIRSH_SESSION = "env LC_ALL=C.UTF-8 LANGUAGE= virsh -c 'test:///default' 2>&1";
const WRAP = (body: string): string => `$ErrorActionPreference='Stop'; try { ${body} } catch { [Console]::Error.WriteLine($_.Exception.Message); exit 1 }`;

suite('hypervisor drivers over a real sshd', () => {
  let sshd: SshServer;
  const open: Hypervisor[] = [];

  beforeAll(async () => {
    sshd = await startSshd({
      replies: {
        [XL_LIST]: XL_TABLE,
        "xl shutdown 'ghost'": { stderr: "invalid domain identifier 'ghost'\n", exit: 1 },
        [encodeCommand(LIST_SCRIPT)]: '[{"Name":"web","State":"Running"},{"Name":"O\'Brien","State":"Saved"},{"Name":"new","State":"Starting"}]\r\n',
        [VIRSH_SESSION]: { run: true },
      },
    });
  });

  afterAll(async () => {
    for (const hv of open) await hv.close();
    await sshd?.stop();
  });

  const ssh = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    host: '127.0.0.1',
    port: sshd.port,
    username: sshd.username,
    key_file: sshd.clientKeyPath,
    host_key: sshd.hostKeyFingerprint,
    ...extra,
  });
  const build = (section: Record<string, unknown>, guests: Record<string, unknown> = { web: {} }): Hypervisor => {
    const hv = createHypervisor(vmsSchema.parse({ ...section, guests }));
    if (!hv) throw new Error('no driver built');
    open.push(hv);
    return hv;
  };
  /** Runs `fn` and gives the commands sshd recorded meanwhile. */
  const recorded = async (fn: () => Promise<unknown>): Promise<string[]> => {
    const before = sshd.commands().length;
    await fn();
    return sshd.commands().slice(before);
  };
  /** An `it` whose failure carries the tail of sshd's log: a dropped session is explained only there. */
  const it = (name: string, fn: () => Promise<void>): void => {
    global.it(name, async () => {
      try {
        await fn();
      } catch (err) {
        if (err instanceof Error) err.message += `\n--- sshd log, last lines ---\n${sshd.log().split('\n').slice(-40).join('\n')}`;
        throw err;
      }
    });
  };
  const logins = (): number => sshd.log().split('\n').filter((l) => l.includes('Accepted publickey') || l.includes('Accepted password')).length;

  it('xen: lists from the canned xl output and sends each action as exact sh text, on one connection', async () => {
    const hv = build({ xen: { ssh: ssh(), timeout: '20s' } }, { web: { config: '/etc/xen/web.cfg' } });
    expect(hv.describe()).toBe(`xen over ssh ${sshd.username}@127.0.0.1:${sshd.port}`);
    const before = logins();
    let listing: unknown;
    const commands = await recorded(async () => {
      listing = await hv.list();
      await hv.shutdown({ name: 'web server' });
      await hv.save({ name: 'db' });
      await hv.off({ name: "it's" });
      await hv.start({ name: 'web', config: '/etc/xen/web.cfg' });
    });
    expect(listing).toEqual([
      { name: 'web server', state: 'running' },
      { name: 'db', state: 'stopping' },
      { name: 'archive', state: 'saved' },
    ]);
    expect(commands).toEqual([
      XL_LIST,
      "xl shutdown 'web server'",
      "mkdir -p '/var/lib/xen/save' && xl save 'db' '/var/lib/xen/save/db.save'",
      `xl destroy 'it'\\''s'`,
      "if [ -e '/var/lib/xen/save/web.save' ]; then xl restore '/var/lib/xen/save/web.save' && rm -f '/var/lib/xen/save/web.save'; else xl create '/etc/xen/web.cfg'; fi",
    ]);
    expect(logins() - before).toBe(1);
  });

  it("xen: an xl failure is an error with xl's words, naming the hypervisor and the guest", async () => {
    const hv = build({ xen: { ssh: ssh(), timeout: '20s' } }, { web: { config: '/etc/xen/web.cfg' } });
    const e = await rejection(hv.shutdown({ name: 'ghost' }));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toBe(`xen over ssh ${sshd.username}@127.0.0.1:${sshd.port}: xl shutdown guest "ghost" exited with status 1: invalid domain identifier 'ghost'`);
    const bad = await rejection(hv.off({ name: '-x' }));
    expect(bad.code).toBe('BAD_REQUEST');
  });

  it('hyperv: sends PowerShell as -EncodedCommand and parses the canned Get-VM JSON', async () => {
    const hv = build({ hyperv: { ssh: ssh(), timeout: '20s' } });
    expect(hv.describe()).toBe(`hyperv over ssh ${sshd.username}@127.0.0.1:${sshd.port}`);
    let listing: unknown;
    const commands = await recorded(async () => {
      listing = await hv.list();
      await hv.shutdown({ name: 'web' });
      await hv.off({ name: "O'Brien" });
      await hv.save({ name: 'db server' });
      await hv.start({ name: 'web' });
    });
    expect(listing).toEqual([
      { name: 'web', state: 'running' },
      { name: "O'Brien", state: 'saved' },
      { name: 'new', state: 'running' },
    ]);
    for (const c of commands) expect(c).toMatch(/^powershell -NoProfile -NonInteractive -EncodedCommand [A-Za-z0-9+/]+=*$/);
    expect(commands.map(decodeCommand)).toEqual([
      WRAP("[Console]::OutputEncoding=[Text.Encoding]::UTF8; Get-VM | Select-Object Name,@{n='State';e={[string]$_.State}} | ConvertTo-Json -Compress"),
      WRAP("Stop-VM -Name 'web' -Force"),
      WRAP("Stop-VM -Name 'O''Brien' -TurnOff -Force"),
      WRAP("Save-VM -Name 'db server'"),
      WRAP("Start-VM -Name 'web'"),
    ]);
  });

  it('hyperv: a PowerShell failure maps to NOT_FOUND; a password login never shows the password', async () => {
    const ghost = encodeCommand(WRAP("Stop-VM -Name 'ghost' -Force"));
    sshd.reply(ghost, { stderr: 'Hyper-V was unable to find a virtual machine with name "ghost".\r\n', exit: 1 });
    const cfg = vmsSchema.parse({ hyperv: { ssh: { host: '127.0.0.1', port: sshd.port, username: sshd.username, host_key: sshd.hostKeyFingerprint, password_env: 'BS_HV_PW' }, timeout: '20s' }, guests: { ghost: {} } });
    cfg.hyperv?.ssh.password?.resolve(new Secret(sshd.password, 'env BS_HV_PW'));
    const hv = createHypervisor(cfg) as Hypervisor;
    open.push(hv);
    const e = await rejection(hv.shutdown({ name: 'ghost' }));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toBe(`hyperv over ssh ${sshd.username}@127.0.0.1:${sshd.port}: shutdown guest "ghost" exited with status 1: Hyper-V was unable to find a virtual machine with name "ghost".`);
    expect(`${e.message} ${hv.describe()} ${JSON.stringify(e)}`).not.toContain(sshd.password);
  });

  it('refuses a server whose host key is not the pinned one, before running anything', async () => {
    const hv = build({ xen: { ssh: ssh({ host_key: sshd.ecdsaHostKeyFingerprint }), timeout: '20s' } }, { web: { config: '/etc/xen/web.cfg' } });
    const commands = await recorded(async () => {
      const e = await rejection(hv.list());
      expect(e.code).toBe('REFUSED');
      expect(e.message).toContain('the host key does not match');
    });
    expect(commands).toEqual([]);
  });

  it('libvirt: one persistent virsh session through sshd, with state that lives in that session', async () => {
    const hv = build({ libvirt: { uri: 'test:///default', ssh: ssh(), timeout: '20s' } }, { test: {} });
    expect(hv.describe()).toBe(`libvirt test:///default over ssh ${sshd.username}@127.0.0.1:${sshd.port}`);
    const commands = await recorded(async () => {
      expect(await hv.list()).toEqual([{ name: 'test', state: 'running' }]);
      await hv.shutdown({ name: 'test' });
      expect(await hv.list()).toEqual([{ name: 'test', state: 'off' }]);
      await hv.start({ name: 'test' });
      await hv.save({ name: 'test' });
      expect(await hv.list()).toEqual([{ name: 'test', state: 'saved' }]);
      expect((await rejection(hv.off({ name: 'ghost' }))).code).toBe('NOT_FOUND');
    });
    expect(commands).toEqual([VIRSH_SESSION]);
  });

  it('ssh transport: reuses the connection, and opens a new one after it drops', async () => {
    const t = new SshTransport({
      login: { target: { host: '127.0.0.1', port: sshd.port, username: sshd.username }, hostKey: { fingerprint: sshd.hostKeyFingerprint }, keyFile: sshd.clientKeyPath },
      loginTimeoutMs: 10_000,
    });
    try {
      const before = logins();
      expect(await t.run('echo one', 10_000)).toEqual({ stdout: 'fake: would run: echo one\n', stderr: '', code: 0 });
      expect((await t.run('exit-with 4 nope', 10_000)).code).toBe(4);
      expect(logins() - before).toBe(1);
      expect((await rejection(t.run('drop-connection', 10_000))).code).toBe('UNREACHABLE');
      expect((await t.run('echo two', 10_000)).stdout).toBe('fake: would run: echo two\n');
      expect(logins() - before).toBe(2);
      const slow = await rejection(t.run('hang', 1000));
      expect(slow.code).toBe('TIMEOUT');
      expect(slow.message).toBe(`ssh ${sshd.username}@127.0.0.1:${sshd.port}: command not done within 1000 ms: hang`);
    } finally {
      await t.close();
    }
  });
});

if (!missing && !existsSync('/usr/bin/virsh')) console.warn('the libvirt-over-ssh case needs virsh on this machine (Debian libvirt-clients)');
