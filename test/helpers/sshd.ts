/**
 * A real OpenSSH sshd on a free 127.0.0.1 port, in a fresh temp dir (recipe: shared/reference/
 * real-peers.md §5). A ForceCommand script records each requested command instead of running it,
 * so no test can shut the machine down. The script also knows a few test commands:
 *   `exit-with <n> <text>`  prints <text> on stderr and exits <n>;
 *   `drop-connection`       kills its own sshd session, as a host that powers off at once would;
 *   `hang`                  waits until the client goes away.
 * A test may also give canned replies for exact command strings (`startSshd({ replies })` or
 * `server.reply()`): the script prints the reply's stdout and stderr and exits with its status,
 * or, for `{ run: true }`, runs that one command for real as the test user (a virsh session on
 * libvirt's test driver, say). Commands without a reply behave as before.
 * Needs root: it creates the user `bs-ssh-test` once. Its password is made once per boot and kept
 * in a root-only file: jest runs test files in parallel, and a fresh password per start would
 * change it under another file's live server.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './ports';

export const SSHD = '/usr/sbin/sshd';
export const SSH_KEYGEN = '/usr/bin/ssh-keygen';
export const SSH_TEST_USER = 'bs-ssh-test';

/** Why real-sshd tests cannot run here, or undefined when they can. */
export function sshdMissing(): string | undefined {
  for (const bin of [SSHD, SSH_KEYGEN]) {
    if (!existsSync(bin)) return `${bin} is missing (Debian package openssh-server; .ci/run installs it)`;
  }
  if (process.getuid?.() !== 0) return 'the sshd tests create a user and run sshd as root; run them as root';
  return undefined;
}

export interface SshServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly dir: string;
  /** As `ssh-keygen -lf` prints it: `SHA256:<base64 without padding>`. */
  readonly hostKeyFingerprint: string;
  /** The host's public key line (`ssh-ed25519 AAAA… comment`), for known_hosts files. */
  readonly hostPublicKey: string;
  /** The host's second key, ECDSA P-256, which a client only sees when it prefers that type. */
  readonly ecdsaHostKeyFingerprint: string;
  readonly ecdsaHostPublicKey: string;
  readonly clientKeyPath: string;
  /** A second client key, protected by `clientKeyPassphrase`. */
  readonly encryptedClientKeyPath: string;
  readonly clientKeyPassphrase: string;
  readonly username: string;
  readonly password: string;
  /** The commands the ForceCommand script recorded, oldest first. */
  commands(): string[];
  /** Sets (or replaces) the canned reply to exactly `command`; takes effect for the next session. */
  reply(command: string, reply: string | CannedReply): void;
  /** sshd's own log (LogLevel VERBOSE), for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/** What the ForceCommand answers to one exact command. A string is its stdout, with status 0. */
export interface CannedReply {
  stdout?: string;
  stderr?: string;
  /** Exit status; 0 when absent. */
  exit?: number;
  /** Run the command for real through /bin/sh (as the test user) instead of answering. */
  run?: boolean;
}

export interface SshdOptions {
  /** Canned replies by exact command string. */
  replies?: Record<string, string | CannedReply>;
}

const FAKE_SHUTDOWN = `#!/bin/sh
# ForceCommand: record the requested command instead of running it.
printf '%s\\n' "$SSH_ORIGINAL_COMMAND" >> "$(dirname "$0")/commands.log"
# Canned replies: replies/<id>.cmd holds the exact command; .out/.err/.code the answer, .run "run it".
for f in "$(dirname "$0")"/replies/*.cmd; do
  [ -e "$f" ] || continue
  if printf '%s' "$SSH_ORIGINAL_COMMAND" | cmp -s - "$f"; then
    r=\${f%.cmd}
    [ -e "$r.run" ] && exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"
    [ -e "$r.out" ] && cat "$r.out"
    [ -e "$r.err" ] && cat "$r.err" >&2
    exit "$(cat "$r.code")"
  fi
done
case "$SSH_ORIGINAL_COMMAND" in
  exit-with\\ *)
    set -- $SSH_ORIGINAL_COMMAND
    code=$2; shift 2
    echo "$*" >&2
    exit "$code" ;;
  drop-connection)
    # Killing the session's sshd (our nearest sshd ancestor) drops the link with no exit status.
    p=$PPID
    while [ "$p" -gt 1 ]; do
      case "$(cat /proc/$p/comm)" in sshd*) kill -9 "$p"; break ;; esac
      p=$(cut -d' ' -f4 /proc/$p/stat)
    done
    sleep 2 ;;
  hang)
    # sshd closes our stdin when the client disconnects.
    cat > /dev/null ;;
esac
echo "fake: would run: $SSH_ORIGINAL_COMMAND"
`;

export async function startSshd(opts: SshdOptions = {}): Promise<SshServer> {
  const dir = mkdtempSync(join(tmpdir(), 'bs-sshd-'));
  // The ForceCommand script runs as the test user and must reach its log.
  chmodSync(dir, 0o755);
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  ensureUser();
  const password = sharedPassword();
  // The same value each time, so setting it while another server is in use changes nothing.
  execFileSync('/usr/sbin/chpasswd', { input: `${SSH_TEST_USER}:${password}\n` });

  const keygen = (file: string, comment: string, passphrase = '', type = 'ed25519'): void => {
    execFileSync(SSH_KEYGEN, ['-q', '-t', type, '-N', passphrase, '-C', comment, '-f', file]);
  };
  const fingerprintOf = (pub: string): string => execFileSync(SSH_KEYGEN, ['-l', '-E', 'sha256', '-f', pub], { encoding: 'utf8' }).split(' ')[1] as string;
  const hostKey = join(dir, 'host_ed25519');
  const ecdsaHostKey = join(dir, 'host_ecdsa');
  keygen(ecdsaHostKey, 'bs-test-host-ecdsa', '', 'ecdsa');
  const clientKey = join(dir, 'client_ed25519');
  const encryptedKey = join(dir, 'client_encrypted_ed25519');
  const clientKeyPassphrase = `kp-${randomBytes(9).toString('base64url')}`;
  keygen(hostKey, 'bs-test-host');
  keygen(clientKey, 'bs-test-client');
  keygen(encryptedKey, 'bs-test-client-encrypted', clientKeyPassphrase);
  const authorizedKeys = join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, readFileSync(`${clientKey}.pub`, 'utf8') + readFileSync(`${encryptedKey}.pub`, 'utf8'));
  chmodSync(authorizedKeys, 0o644);

  const script = join(dir, 'fake-shutdown.sh');
  writeFileSync(script, FAKE_SHUTDOWN, { mode: 0o755 });
  const commandLog = join(dir, 'commands.log');
  writeFileSync(commandLog, '');
  chmodSync(commandLog, 0o666);
  const repliesDir = join(dir, 'replies');
  mkdirSync(repliesDir, { mode: 0o755 });
  const setReply = (command: string, reply: string | CannedReply): void => {
    const r = typeof reply === 'string' ? { stdout: reply } : reply;
    const base = join(repliesDir, createHash('sha256').update(command).digest('hex').slice(0, 32));
    for (const ext of ['.cmd', '.out', '.err', '.code', '.run']) rmSync(base + ext, { force: true });
    if (r.run) writeFileSync(`${base}.run`, '', { mode: 0o644 });
    if (r.stdout !== undefined) writeFileSync(`${base}.out`, r.stdout, { mode: 0o644 });
    if (r.stderr !== undefined) writeFileSync(`${base}.err`, r.stderr, { mode: 0o644 });
    writeFileSync(`${base}.code`, `${r.exit ?? 0}\n`, { mode: 0o644 });
    // Last: the script matches on .cmd, so it never sees a half-written reply.
    writeFileSync(`${base}.cmd`, command, { mode: 0o644 });
  };
  for (const [command, reply] of Object.entries(opts.replies ?? {})) setReply(command, reply);

  const port = await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      'ListenAddress 127.0.0.1',
      `Port ${port}`,
      `HostKey ${hostKey}`,
      `HostKey ${ecdsaHostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      // The keys live in the temp dir, whose parent /tmp is world-writable.
      'StrictModes no',
      `AuthorizedKeysFile ${authorizedKeys}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication yes',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'PermitRootLogin no',
      `AllowUsers ${SSH_TEST_USER}`,
      'X11Forwarding no',
      'AllowTcpForwarding no',
      'PrintMotd no',
      'PrintLastLog no',
      'LogLevel VERBOSE',
      `ForceCommand ${script}`,
      '',
    ].join('\n'),
  );
  execFileSync(SSHD, ['-t', '-f', config]);

  let output = '';
  const sshd: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', config], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  sshd.stderr?.on('data', (d: Buffer) => (output += d.toString()));

  const server: SshServer = {
    host: '127.0.0.1',
    port,
    dir,
    hostKeyFingerprint: fingerprintOf(`${hostKey}.pub`),
    hostPublicKey: readFileSync(`${hostKey}.pub`, 'utf8').trim(),
    ecdsaHostKeyFingerprint: fingerprintOf(`${ecdsaHostKey}.pub`),
    ecdsaHostPublicKey: readFileSync(`${ecdsaHostKey}.pub`, 'utf8').trim(),
    clientKeyPath: clientKey,
    encryptedClientKeyPath: encryptedKey,
    clientKeyPassphrase,
    username: SSH_TEST_USER,
    password,
    commands: () =>
      readFileSync(commandLog, 'utf8')
        .split('\n')
        .filter((l) => l !== ''),
    reply: setReply,
    log: () => output,
    stop: async () => {
      if (sshd.exitCode === null && sshd.signalCode === null) {
        await new Promise<void>((resolve) => {
          sshd.once('exit', () => resolve());
          sshd.kill('SIGTERM');
        });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitForPort(port, 10_000);
  } catch (err) {
    await server.stop();
    throw new Error(`sshd did not start: ${(err as Error).message}\n${output}`, { cause: err });
  }
  return server;
}

const PASSWORD_FILE = '/run/bs-ssh-test.password';

/** The test user's password: made by whichever start comes first (link() is atomic), read by the rest. */
function sharedPassword(): string {
  if (!existsSync(PASSWORD_FILE)) {
    const draft = `${PASSWORD_FILE}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(draft, `pw-${randomBytes(9).toString('base64url')}`, { mode: 0o600 });
    try {
      linkSync(draft, PASSWORD_FILE);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      rmSync(draft, { force: true });
    }
  }
  return readFileSync(PASSWORD_FILE, 'utf8').trim();
}

function userExists(): boolean {
  try {
    execFileSync('/usr/bin/id', [SSH_TEST_USER], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function ensureUser(): void {
  if (userExists()) return;
  try {
    // ForceCommand runs through the user's shell, and sshd wants a home to chdir to.
    execFileSync('/usr/sbin/useradd', ['-m', '-s', '/bin/sh', SSH_TEST_USER], { stdio: 'pipe' });
  } catch (err) {
    // Another test file's server may have created it at the same moment.
    if (!userExists()) throw err;
  }
}
