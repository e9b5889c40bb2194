/**
 * The libvirt driver against a REAL virsh on libvirt's test driver (`test:///default`, and a node
 * file from test/fixtures/virsh), which keeps its guests inside the one virsh process: every
 * state change seen here proves the driver kept one session. Skips only when virsh is missing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createHypervisor } from '../../src/adapters/vm/drivers';
import { vmsSchema } from '../../src/adapters/vm/config';
import { LibvirtHypervisor, virshSessionCommand } from '../../src/adapters/vm/libvirt';
import { LocalTransport } from '../../src/adapters/vm/transport';
import { VirshSession } from '../../src/adapters/vm/virsh-session';
import { rejection } from '../helpers/rejection';
import { repoRoot } from '../helpers/repo';
import { MIXED_NODE_GUESTS, MIXED_NODE_URI } from '../helpers/virsh-mixed-node';

const VIRSH = ['/usr/bin/virsh', '/bin/virsh'].find((p) => existsSync(p));
if (!VIRSH) console.warn('SKIPPED libvirt driver tests: virsh is missing (Debian package libvirt-clients; .ci/run installs it)');
const suite = VIRSH ? describe : describe.skip;

const local = (uri: string, timeout = 20_000): LibvirtHypervisor => new LibvirtHypervisor({ virsh: 'virsh', uri, timeout }, { transport: new LocalTransport() });

suite('libvirt driver on the test driver', () => {
  it('lists, shuts down, starts, saves, restores and turns off the sample guest in one session', async () => {
    const hv = local('test:///default');
    try {
      expect(hv.describe()).toBe('libvirt test:///default');
      expect(await hv.list()).toEqual([{ name: 'test', state: 'running' }]);
      await hv.shutdown({ name: 'test' });
      expect(await hv.list()).toEqual([{ name: 'test', state: 'off' }]);
      await hv.start({ name: 'test' });
      expect(await hv.list()).toEqual([{ name: 'test', state: 'running' }]);
      await hv.save({ name: 'test' });
      expect(await hv.list()).toEqual([{ name: 'test', state: 'saved' }]);
      // start restores the managed save image, which then is gone.
      await hv.start({ name: 'test' });
      expect(await hv.list()).toEqual([{ name: 'test', state: 'running' }]);
      await hv.off({ name: 'test' });
      expect(await hv.list()).toEqual([{ name: 'test', state: 'off' }]);
      expect(hv.sessionsStarted).toBe(1);
    } finally {
      await hv.close();
    }
  });

  it('says NOT_FOUND for an unknown guest and REFUSED for an action the state forbids, naming both', async () => {
    const hv = local('test:///default');
    try {
      const missing = await rejection(hv.shutdown({ name: 'no such guest' }));
      expect(missing.code).toBe('NOT_FOUND');
      expect(missing.message).toBe(`libvirt test:///default: no guest "no such guest" (virsh shutdown: failed to get domain 'no such guest')`);
      await hv.off({ name: 'test' });
      const refused = await rejection(hv.off({ name: 'test' }));
      expect(refused.code).toBe('REFUSED');
      expect(refused.message).toContain('libvirt test:///default: virsh destroy for guest "test" failed:');
      // Errors leave the session usable.
      expect(await hv.list()).toEqual([{ name: 'test', state: 'off' }]);
      expect(hv.sessionsStarted).toBe(1);
    } finally {
      await hv.close();
    }
  });

  it('refuses a name it cannot quote before virsh sees it', async () => {
    const hv = local('test:///default');
    try {
      const e = await rejection(hv.start({ name: 'two\nlines' }));
      expect(e.code).toBe('BAD_REQUEST');
      expect(e.message).toContain('libvirt test:///default: guest name "two\\nlines" holds a control character');
      expect(hv.sessionsStarted).toBe(0);
    } finally {
      await hv.close();
    }
  });

  it('lists mixed states from a node file and drives guests whose names hold spaces, a quote and a #', async () => {
    const hv = local(MIXED_NODE_URI);
    try {
      expect(await hv.list()).toEqual(MIXED_NODE_GUESTS);
      await hv.save({ name: 'web server' });
      await hv.off({ name: "O'Brien #1" });
      await hv.start({ name: 'db' });
      await hv.start({ name: '日本 guest' });
      await hv.start({ name: 'archive' });
      const after = new Map((await hv.list()).map((g) => [g.name, g.state]));
      expect(Object.fromEntries(after)).toMatchObject({ 'web server': 'saved', "O'Brien #1": 'off', db: 'running', '日本 guest': 'running', archive: 'running' });
    } finally {
      await hv.close();
    }
  });

  it('starts a guest kept after a crash by destroying it first, and leaves running guests alone', async () => {
    const hv = local(MIXED_NODE_URI);
    try {
      // Without the listing's word, `virsh start` of the crashed guest answers "Domain is already active" (virsh 9.0).
      expect((await rejection(hv.start({ name: 'crashy' }))).message).toContain('Domain is already active');
      const crashy = (await hv.list()).find((g) => g.name === 'crashy');
      expect(crashy).toEqual({ name: 'crashy', state: 'off', crashed: true });
      await hv.start({ name: 'crashy', crashed: true });
      // A running guest is never destroyed: virsh's own refusal comes back.
      const running = await rejection(hv.start({ name: 'web server' }));
      expect(running.message).toContain('Domain is already active');
      const after = Object.fromEntries((await hv.list()).map((g) => [g.name, g.state]));
      expect(after).toMatchObject({ crashy: 'running', 'web server': 'running' });
      expect(hv.sessionsStarted).toBe(1);
    } finally {
      await hv.close();
    }
  });

  const GERMAN = '/usr/share/locale/de/LC_MESSAGES/libvirt.mo';
  if (!existsSync(GERMAN)) console.warn(`SKIPPED the localized-virsh test: ${GERMAN} is missing (Debian package libvirt-l10n; .ci/run installs it)`);
  (existsSync(GERMAN) ? it : it.skip)('reads virsh in English whatever the locale: a German environment changes nothing', () => {
    const node = MIXED_NODE_URI;
    // Child processes get the real process environment, not jest's copy: the driver runs in a node child.
    const german = { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', LANGUAGE: 'de' };
    // Proof that this environment does translate virsh: its own table says "laufend", not "running".
    const plain = spawnSync('virsh', ['-c', node, 'list', '--all'], { encoding: 'utf8', env: german });
    expect(plain.stdout).toMatch(/web server\s+laufend/);
    const script = `
const { LibvirtHypervisor } = require(${JSON.stringify(join(repoRoot(), 'dist/src/adapters/vm/libvirt.js'))});
const { LocalTransport } = require(${JSON.stringify(join(repoRoot(), 'dist/src/adapters/vm/transport.js'))});
const hv = new LibvirtHypervisor({ virsh: 'virsh', uri: process.argv[1], timeout: 20000 }, { transport: new LocalTransport() });
(async () => {
  const list = await hv.list().catch((e) => ({ code: e.code, message: e.message }));
  const missing = await hv.shutdown({ name: 'no such guest' }).then(() => 'done', (e) => ({ code: e.code, message: e.message }));
  await hv.close();
  process.stdout.write(JSON.stringify({ list, missing }));
})();
`;
    const r = spawnSync(process.execPath, ['-e', script, node], { encoding: 'utf8', env: german, timeout: 30_000 });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { list: unknown; missing: unknown };
    expect(out.list).toEqual(expect.arrayContaining([
      { name: 'web server', state: 'running' },
      { name: 'archive', state: 'saved' },
      { name: '日本 guest', state: 'off' },
    ]));
    expect(out.missing).toEqual({ code: 'NOT_FOUND', message: `libvirt ${node}: no guest "no such guest" (virsh shutdown: failed to get domain 'no such guest')` });
  });

  it('says UNREACHABLE with virsh own words when it cannot connect', async () => {
    const hv = local('test:///nonexistent/node.xml');
    try {
      const e = await rejection(hv.list());
      expect(e.code).toBe('UNREACHABLE');
      expect(e.message).toMatch(/^libvirt test:\/\/\/nonexistent\/node\.xml: virsh exited with status 1: failed to connect to the hypervisor/);
    } finally {
      await hv.close();
    }
  });

  it('is what createHypervisor builds from a vms: section', async () => {
    const hv = createHypervisor(vmsSchema.parse({ libvirt: { uri: 'test:///default', timeout: '20s' }, guests: { test: {} } }));
    try {
      expect(hv?.describe()).toBe('libvirt test:///default');
      expect(await hv?.list()).toEqual([{ name: 'test', state: 'running' }]);
    } finally {
      await hv?.close();
    }
    expect(createHypervisor(vmsSchema.parse({ simulated: {}, guests: { a: { simulated: {} } } }))).toBeUndefined();
  });
});

suite('virsh session: timeout and exit', () => {
  const session = (timeoutMs: number): VirshSession =>
    new VirshSession({ transport: new LocalTransport(), command: virshSessionCommand({ virsh: 'virsh', uri: 'test:///default' }), timeoutMs, where: 'libvirt test:///default' });

  it('kills a session whose command overruns its timeout and starts a fresh one', async () => {
    const s = session(1500);
    try {
      expect((await s.exec('shutdown --domain test')).errors).toEqual([]);
      // `event --loop` waits for domain events for ever: a real virsh command that never ends.
      const e = await rejection(s.exec('event --loop --all'));
      expect(e.code).toBe('TIMEOUT');
      expect(e.message).toBe('libvirt test:///default: virsh event --loop --all not done within 1500 ms (session restarted)');
      // A fresh process: the test driver's guest is running again, as it starts.
      const reply = await s.exec('list --all --managed-save');
      expect(reply.lines.join('\n')).toMatch(/test\s+running/);
      expect(s.spawned).toBe(2);
    } finally {
      await s.close();
    }
  });

  it('starts a new session when virsh exits between commands', async () => {
    const s = session(20_000);
    try {
      await s.exec('destroy --domain test');
      const gone = await rejection(s.exec('quit'));
      expect(gone.code).toBe('UNREACHABLE');
      expect(gone.message).toBe('libvirt test:///default: virsh exited with status 0 before answering');
      expect((await s.exec('list --all')).lines.join('\n')).toMatch(/test\s+running/);
      expect(s.spawned).toBe(2);
    } finally {
      await s.close();
    }
  });

  it('runs concurrent commands one at a time, each with its own reply', async () => {
    const s = session(20_000);
    try {
      const [a, b, c] = await Promise.all([s.exec('shutdown --domain test'), s.exec('list --all'), s.exec('start --domain test')]);
      expect(a.lines).toEqual(["Domain 'test' is being shutdown"]);
      expect(b.lines.join('\n')).toMatch(/test\s+shut off/);
      expect(c.lines).toEqual(["Domain 'test' started"]);
      const closed = s.close();
      await closed;
      expect((await rejection(s.exec('list'))).code).toBe('CANCELLED');
    } finally {
      await s.close();
    }
  });
});
