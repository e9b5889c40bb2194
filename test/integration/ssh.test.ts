/**
 * The SSH shutdown method against a REAL OpenSSH sshd on 127.0.0.1 (test/helpers/sshd.ts), whose
 * ForceCommand records the requested command instead of running it. Skips only when sshd is
 * missing or the tests do not run as root.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/core/logger';
import { Secret } from '../../src/core/secret';
import { createSshShutdown, sshShutdownSchema } from '../../src/adapters/power/ssh-config';
import { scanHostKey, SshShutdown, type SshShutdownOptions } from '../../src/adapters/power/ssh';
import type { SshLogin } from '../../src/adapters/power/ssh-login';
import { freePort } from '../helpers/ports';
import { rejection } from '../helpers/rejection';
import { SSH_KEYGEN, sshdMissing, startSshd, type SshServer } from '../helpers/sshd';

const missing = sshdMissing();
if (missing) console.warn(`SKIPPED ssh integration tests: ${missing}`);
const suite = missing ? describe.skip : describe;

suite('SSH shutdown against a real sshd', () => {
  let sshd: SshServer;
  let scratch: string;
  let logText = '';
  let log: Logger;
  const errors: string[] = [];

  beforeAll(async () => {
    sshd = await startSshd();
    scratch = mkdtempSync(join(tmpdir(), 'bs-ssh-test-'));
    log = createLogger({
      level: 'trace',
      destination: new Writable({
        write(chunk: Buffer, _enc, cb) {
          logText += chunk.toString();
          cb();
        },
      }),
    });
  });

  afterAll(async () => {
    await sshd?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  /** A method built the way the lead's registry will build it: from a parsed config section. */
  const fromConfig = (section: Record<string, unknown>, secrets: { password?: string; passphrase?: string } = {}): SshShutdown => {
    const cfg = sshShutdownSchema.parse({
      host: '127.0.0.1',
      port: sshd.port,
      username: sshd.username,
      ...section,
      ...(secrets.password !== undefined ? { password_env: 'SSH_PW' } : {}),
      ...(secrets.passphrase !== undefined ? { passphrase_env: 'SSH_KP' } : {}),
    });
    if (secrets.password !== undefined) cfg.password?.resolve(new Secret(secrets.password, 'env SSH_PW'));
    if (secrets.passphrase !== undefined) cfg.passphrase?.resolve(new Secret(secrets.passphrase, 'env SSH_KP'));
    return createSshShutdown(cfg, { log });
  };

  /** Login fields and the command side by side, as the cases read. */
  const direct = ({ command, timeoutMs, port, ...login }: Partial<Omit<SshLogin, 'target'> & Pick<SshShutdownOptions, 'command' | 'timeoutMs'> & { port: number }>): SshShutdown =>
    new SshShutdown({
      login: {
        target: { host: '127.0.0.1', port: port ?? sshd.port, username: sshd.username },
        keyFile: sshd.clientKeyPath,
        hostKey: { fingerprint: sshd.hostKeyFingerprint },
        ...login,
      },
      command: command ?? 'sudo -n /sbin/shutdown -h now',
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      log,
    });

  /** Runs `fn` and gives the commands sshd recorded meanwhile. */
  const recorded = async (fn: () => Promise<unknown>): Promise<string[]> => {
    const before = sshd.commands().length;
    await fn();
    return sshd.commands().slice(before);
  };

  const failure = async (p: Promise<unknown>) => {
    const err = await rejection(p);
    errors.push(err.message);
    return err;
  };

  const knownHosts = (name: string, lines: string[]): string => {
    const file = join(scratch, name);
    writeFileSync(file, lines.join('\n') + '\n');
    return file;
  };
  const hostKeyTail = (): string => sshd.hostPublicKey.split(' ').slice(0, 2).join(' ');

  it('key auth runs the default linux command and reports each step', async () => {
    const method = fromConfig({ key_file: sshd.clientKeyPath, host_key: sshd.hostKeyFingerprint });
    let outcome: Awaited<ReturnType<SshShutdown['run']>> | undefined;
    expect(await recorded(async () => (outcome = await method.run()))).toEqual(['sudo -n /sbin/shutdown -h now']);
    expect(outcome).toMatchObject({ method: 'ssh', dryRun: false });
    expect(outcome?.steps.map((s) => s.name)).toEqual(['connect', 'handshake', 'login', 'exec']);
    expect(outcome?.steps.find((s) => s.name === 'handshake')?.status).toBe(sshd.hostKeyFingerprint);
    expect(outcome?.steps.find((s) => s.name === 'exec')?.status).toBe(0);
    expect(outcome?.output).toContain('fake: would run: sudo -n /sbin/shutdown -h now');
    expect(method.describe()).toBe(
      `ssh ${sshd.username}@127.0.0.1:${sshd.port} runs "sudo -n /sbin/shutdown -h now" (key ${sshd.clientKeyPath}; host key ${sshd.hostKeyFingerprint})`,
    );
  });

  it('password auth (no key) and the windows default command', async () => {
    const method = fromConfig({ host_key: sshd.hostKeyFingerprint, os: 'windows' }, { password: sshd.password });
    expect(await recorded(() => method.run())).toEqual(['shutdown /s /t 0']);
    expect(method.describe()).not.toContain(sshd.password);
  });

  it('an encrypted key with its passphrase, and a custom command', async () => {
    const method = fromConfig(
      { key_file: sshd.encryptedClientKeyPath, host_key: sshd.hostKeyFingerprint, command: 'sudo -n /usr/sbin/poweroff --no-wall' },
      { passphrase: sshd.clientKeyPassphrase },
    );
    expect(await recorded(() => method.run())).toEqual(['sudo -n /usr/sbin/poweroff --no-wall']);
  });

  it('an encrypted key without a passphrase is a CONFIG error; a wrong passphrase is AUTH; nothing is sent', async () => {
    const cmds = await recorded(async () => {
      const noPass = await failure(direct({ keyFile: sshd.encryptedClientKeyPath }).run());
      expect(noPass.code).toBe('CONFIG');
      expect(noPass.message).toMatch(/is encrypted: give passphrase_env or passphrase_file/);
      const wrong = await failure(direct({ keyFile: sshd.encryptedClientKeyPath, passphrase: new Secret('not-the-passphrase-81', 'test') }).run());
      expect(wrong.code).toBe('AUTH');
      expect(wrong.message).toContain(sshd.encryptedClientKeyPath);
    });
    expect(cmds).toEqual([]);
  });

  it('a key the server does not know, with a password as fallback, still logs in', async () => {
    const stranger = join(scratch, 'stranger_ed25519');
    execFileSync(SSH_KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-C', 'stranger', '-f', stranger]);
    const alone = await failure(direct({ keyFile: stranger }).run());
    expect(alone.code).toBe('AUTH');
    expect(alone.message).toBe(`ssh ${sshd.username}@127.0.0.1:${sshd.port}: the server refused the login (tried publickey)`);
    expect(await recorded(() => direct({ keyFile: stranger, password: new Secret(sshd.password, 'test'), command: 'fallback' }).run())).toEqual(['fallback']);
  });

  it('a wrong host key fingerprint is REFUSED before any login, naming both fingerprints', async () => {
    const wrong = 'SHA256:' + 'A'.repeat(43);
    const logBefore = sshd.log().length;
    const cmds = await recorded(async () => {
      const err = await failure(direct({ password: new Secret(sshd.password, 'test'), hostKey: { fingerprint: wrong } }).run());
      expect(err.code).toBe('REFUSED');
      expect(err.message).toContain(`127.0.0.1:${sshd.port}`);
      expect(err.message).toContain(`the server showed ssh-ed25519 ${sshd.hostKeyFingerprint}`);
      expect(err.message).toContain(`host_key expects ${wrong}`);
    });
    expect(cmds).toEqual([]);
    // sshd logs every login attempt (LogLevel VERBOSE): there was none.
    expect(sshd.log().slice(logBefore)).not.toMatch(/(Accepted|Failed|Postponed) (publickey|password)/);
  });

  it('known_hosts: plain and hashed entries are accepted', async () => {
    const plain = knownHosts('plain', ['# a comment', `other.lan ${hostKeyTail()}`, `[127.0.0.1]:${sshd.port},[localhost]:${sshd.port} ${hostKeyTail()}`]);
    expect(await recorded(() => direct({ hostKey: { knownHostsFile: plain }, command: 'plain-ok' }).run())).toEqual(['plain-ok']);

    const hashed = knownHosts('hashed', [`[127.0.0.1]:${sshd.port} ${hostKeyTail()}`]);
    execFileSync(SSH_KEYGEN, ['-q', '-H', '-f', hashed], { stdio: 'ignore' });
    expect(await recorded(() => direct({ hostKey: { knownHostsFile: hashed }, command: 'hashed-ok' }).run())).toEqual(['hashed-ok']);
  });

  it('known_hosts: the handshake asks for the key type the file holds (here the server\'s second key)', async () => {
    const ecdsaTail = sshd.ecdsaHostPublicKey.split(' ').slice(0, 2).join(' ');
    const file = knownHosts('ecdsa', [`[127.0.0.1]:${sshd.port} ${ecdsaTail}`]);
    let outcome: Awaited<ReturnType<SshShutdown['run']>> | undefined;
    expect(await recorded(async () => (outcome = await direct({ hostKey: { knownHostsFile: file }, command: 'ecdsa-ok' }).run()))).toEqual(['ecdsa-ok']);
    expect(outcome?.steps.find((s) => s.name === 'handshake')?.status).toBe(sshd.ecdsaHostKeyFingerprint);
    expect(sshd.ecdsaHostKeyFingerprint).not.toBe(sshd.hostKeyFingerprint);
  });

  it('known_hosts without the host, with another key for it, or marking it @revoked: REFUSED, nothing sent', async () => {
    const otherKey = join(scratch, 'other_host_ed25519');
    execFileSync(SSH_KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-C', 'other', '-f', otherKey]);
    const otherTail = execFileSync('cat', [`${otherKey}.pub`], { encoding: 'utf8' }).split(' ').slice(0, 2).join(' ');
    const cmds = await recorded(async () => {
      // Port 22's name is not this port's name.
      const unknown = knownHosts('unknown', [`127.0.0.1 ${hostKeyTail()}`]);
      const e1 = await failure(direct({ hostKey: { knownHostsFile: unknown } }).run());
      expect(e1.code).toBe('REFUSED');
      expect(e1.message).toContain(`has no key for 127.0.0.1 (looked for [127.0.0.1]:${sshd.port})`);
      expect(e1.message).toContain(sshd.hostKeyFingerprint);

      const changed = knownHosts('changed', [`[127.0.0.1]:${sshd.port} ${otherTail}`]);
      const e2 = await failure(direct({ hostKey: { knownHostsFile: changed } }).run());
      expect(e2.code).toBe('REFUSED');
      expect(e2.message).toMatch(/the host key does not match: the server showed ssh-ed25519 SHA256:\S+, \S+ expects ssh-ed25519 SHA256:/);

      const revoked = knownHosts('revoked', [`[127.0.0.1]:${sshd.port} ${hostKeyTail()}`, `@revoked * ${hostKeyTail()}`]);
      const e3 = await failure(direct({ hostKey: { knownHostsFile: revoked } }).run());
      expect(e3.code).toBe('REFUSED');
      expect(e3.message).toContain('line 2 marks @revoked');
    });
    expect(cmds).toEqual([]);
  });

  it('a wrong password is AUTH and the password is nowhere in the error', async () => {
    const secret = 'Wrong-Pw-x7Q2';
    const cmds = await recorded(async () => {
      const err = await failure(fromConfig({ host_key: sshd.hostKeyFingerprint }, { password: secret }).run());
      expect(err.code).toBe('AUTH');
      expect(err.message).toBe(`ssh ${sshd.username}@127.0.0.1:${sshd.port}: the server refused the login (tried password)`);
      expect(JSON.stringify(err)).not.toContain(secret);
    });
    expect(cmds).toEqual([]);
  });

  it('nothing listening is UNREACHABLE', async () => {
    const port = await freePort();
    const err = await failure(direct({ port }).run());
    expect(err.code).toBe('UNREACHABLE');
    expect(err.message).toBe(`ssh 127.0.0.1:${port}: connection refused (is sshd running, and on that port?)`);
  });

  it('a dry run logs in but runs nothing, and still catches a wrong password', async () => {
    let outcome: Awaited<ReturnType<SshShutdown['run']>> | undefined;
    const method = fromConfig({ key_file: sshd.clientKeyPath, host_key: sshd.hostKeyFingerprint }, { password: sshd.password });
    const logBefore = sshd.log().length;
    expect(await recorded(async () => (outcome = await method.run({ dryRun: true })))).toEqual([]);
    expect(outcome?.dryRun).toBe(true);
    expect(outcome?.steps.map((s) => s.name)).toEqual(['connect', 'handshake', 'login']);
    expect(outcome?.output).toBe(`would run on ${sshd.username}@127.0.0.1:${sshd.port}: sudo -n /sbin/shutdown -h now`);
    expect(sshd.log().slice(logBefore)).toMatch(/Accepted publickey for bs-ssh-test/);

    const err = await failure(fromConfig({ host_key: sshd.hostKeyFingerprint }, { password: 'also-wrong-3k' }).run({ dryRun: true }));
    expect(err.code).toBe('AUTH');
  });

  it('a non-zero exit status is an error naming the host, the status and stderr', async () => {
    const err = await failure(direct({ command: 'exit-with 3 sudo: a password is required' }).run());
    expect(err.code).toBe('REFUSED');
    expect(err.message).toBe(`ssh ${sshd.username}@127.0.0.1:${sshd.port}: "exit-with 3 sudo: a password is required" exited with status 3: sudo: a password is required`);
  });

  it('a connection that drops after the command was accepted counts as the host going down', async () => {
    const outcome = await direct({ command: 'drop-connection' }).run();
    expect(outcome.steps.at(-1)).toMatchObject({ name: 'exec', status: 'connection lost (host going down)' });
  });

  it('a command that never ends is a TIMEOUT; an aborted run is CANCELLED', async () => {
    const slow = await failure(direct({ command: 'hang', timeoutMs: 1000 }).run());
    expect(slow.code).toBe('TIMEOUT');
    expect(slow.message).toBe(`ssh ${sshd.username}@127.0.0.1:${sshd.port}: not done within 1000 ms (stuck in exec)`);

    const ac = new AbortController();
    ac.abort();
    const cancelled = await failure(direct({ command: 'never-sent' }).run({ signal: ac.signal }));
    expect(cancelled.code).toBe('CANCELLED');
    expect(sshd.commands()).not.toContain('never-sent');
  });

  it('scanHostKey shows the fingerprint to pin and a known_hosts line that works', async () => {
    const before = sshd.log().length;
    const scanned = await scanHostKey('127.0.0.1', sshd.port);
    expect(scanned).toEqual({
      keyType: 'ssh-ed25519',
      fingerprint: sshd.hostKeyFingerprint,
      knownHostsLine: `[127.0.0.1]:${sshd.port} ${hostKeyTail()}`,
    });
    expect(sshd.log().slice(before)).not.toMatch(/(Accepted|Failed|Postponed) (publickey|password)/);
    const file = knownHosts('scanned', [scanned.knownHostsLine]);
    expect(await recorded(() => direct({ hostKey: { knownHostsFile: file }, command: 'scanned-ok' }).run())).toEqual(['scanned-ok']);
  });

  it('no secret reached a log line or an error message', () => {
    expect(logText).toContain('ssh shutdown failed');
    expect(errors.length).toBeGreaterThan(5);
    for (const secret of [sshd.password, sshd.clientKeyPassphrase, 'Wrong-Pw-x7Q2', 'also-wrong-3k', 'not-the-passphrase-81']) {
      expect(logText).not.toContain(secret);
      for (const m of errors) expect(m).not.toContain(secret);
    }
  });
});
