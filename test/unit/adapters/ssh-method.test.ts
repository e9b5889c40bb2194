/**
 * The SSH method's failures that happen before or instead of a conversation with sshd, driven
 * through an injected connector (no network). The real-sshd behaviour is in test/integration/ssh.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { Secret } from '../../../src/core/secret';
import type { TcpConnector } from '../../../src/adapters/tcp';
import { SshShutdown, type SshShutdownOptions } from '../../../src/adapters/power/ssh';
import type { SshLogin } from '../../../src/adapters/power/ssh-login';
import { rejection } from '../../helpers/rejection';

const FP = 'SHA256:VJSlDXSuMZCEI71Nvx+pD0r78V1AwpXJ3UIr4olR1u8';
const PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIsY8z5fror9PXrIbY4NRLxRwlxc0iKgAbn/53bqmJn7 a\n';

describe('SSH shutdown before the conversation', () => {
  let dir: string;
  let calls: string[];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bs-ssh-unit-'));
    writeFileSync(join(dir, 'id.pub'), PUBLIC_KEY);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => (calls = []));

  const failingWith =
    (code: string): TcpConnector =>
    (host, port) => {
      calls.push(`${host}:${port}`);
      return Promise.reject(Object.assign(new Error(`connect ${code}`), { code }));
    };
  /** Login fields and method options side by side, as the cases read. */
  const method = ({ command, connector, timeoutMs, log, ...login }: Partial<Omit<SshLogin, 'target'> & Omit<SshShutdownOptions, 'login'>>): SshShutdown =>
    new SshShutdown({
      login: { target: { host: 'nas.lan', port: 2222, username: 'blackstart' }, password: new Secret('pw-unit-5', 'test'), hostKey: { fingerprint: FP }, ...login },
      command: command ?? 'sudo -n /sbin/shutdown -h now',
      connector: connector ?? failingWith('ECONNREFUSED'),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(log ? { log } : {}),
    });

  it('needs a key or a password, and says so before connecting', async () => {
    const none = new SshShutdown({ login: { target: { host: 'nas.lan', port: 22, username: 'u' }, hostKey: { fingerprint: FP } }, command: 'x', connector: failingWith('ECONNREFUSED') });
    const err = await rejection(none.run());
    expect(err.code).toBe('CONFIG');
    expect(err.message).toBe('ssh u@nas.lan:22: give a key file, a password, or both');
    expect(calls).toEqual([]);
  });

  it('a missing key file, a public key given as key_file, or a missing known_hosts is CONFIG, with no connection', async () => {
    const missingKey = await rejection(method({ keyFile: join(dir, 'nope') }).run());
    expect(missingKey.code).toBe('CONFIG');
    expect(missingKey.message).toBe(`cannot read the private key file ${join(dir, 'nope')} (ENOENT)`);

    const pub = await rejection(method({ keyFile: join(dir, 'id.pub') }).run());
    expect(pub.code).toBe('CONFIG');
    expect(pub.message).toMatch(/holds a public key: key_file must name the private key/);

    const kh = await rejection(method({ hostKey: { knownHostsFile: join(dir, 'known_hosts') } }).run());
    expect(kh.code).toBe('CONFIG');
    expect(kh.message).toContain('known_hosts file');
    expect(calls).toEqual([]);
  });

  it.each([
    ['ECONNREFUSED', 'ssh nas.lan:2222: connection refused (is sshd running, and on that port?)'],
    ['EHOSTUNREACH', 'ssh nas.lan:2222: cannot connect (EHOSTUNREACH)'],
    ['ENOTFOUND', 'ssh nas.lan:2222: cannot resolve nas.lan'],
  ])('%s is UNREACHABLE', async (code, message) => {
    const err = await rejection(method({ connector: failingWith(code) }).run());
    expect(err.code).toBe('UNREACHABLE');
    expect(err.message).toBe(message);
    expect(calls).toEqual(['nas.lan:2222']);
  });

  it('a connect that never completes is a TIMEOUT naming the phase', async () => {
    const hanging: TcpConnector = (_h, _p, signal) =>
      new Promise<Duplex>((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    const err = await rejection(method({ connector: hanging, timeoutMs: 50 }).run());
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toBe('ssh blackstart@nas.lan:2222: not done within 50 ms (stuck in connect)');
  });

  it('describes itself without the password', () => {
    const m = method({ keyFile: '/k', hostKey: { knownHostsFile: '/kh' } });
    expect(m.describe()).toBe('ssh blackstart@nas.lan:2222 runs "sudo -n /sbin/shutdown -h now" (key /k + password; host key from /kh)');
    expect(JSON.stringify(m)).not.toContain('pw-unit-5');
  });
});
