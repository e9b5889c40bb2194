/**
 * A host's `shutdown: { ssh: {...} }` section. The host key is always checked, so one of
 * `host_key` (a pinned SHA256 fingerprint) or `known_hosts` (a file) is required.
 *
 *   shutdown:
 *     ssh:
 *       host: nas.lan
 *       username: blackstart
 *       key_file: keys/blackstart_ed25519
 *       host_key: SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s
 *       # os: linux | macos | windows, or command: "sudo -n /usr/sbin/poweroff"
 */
import { z } from 'zod';
import { duration, filePath, port, sectionWithSecrets } from '../../config/fields';
import type { Logger } from '../../core/logger';
import type { TcpConnector } from '../tcp';
import { parseFingerprint } from './known-hosts';
import { DEFAULT_SSH_TIMEOUT_MS, defaultShutdownCommand, SshShutdown } from './ssh';
import { sshLoginOf } from './ssh-login';

export const sshShutdownSchema = sectionWithSecrets(
  {
    host: z.string().regex(/^[^\s@/]+$/, 'a host name or address, without user@ or a path'),
    port: port.default(22),
    username: z.string().regex(/^[^\s@:]+$/, 'a user name, without spaces, "@" or ":"'),
    /** Private key (OpenSSH or PEM); encrypted keys take passphrase_env or passphrase_file. */
    key_file: filePath().optional(),
    /** The server's host key fingerprint, as `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` prints it on the host. */
    host_key: z
      .string()
      .transform((text, ctx) => {
        const parsed = parseFingerprint(text);
        if ('error' in parsed) {
          ctx.addIssue({ code: 'custom', message: parsed.error });
          return z.NEVER;
        }
        return parsed.fingerprint;
      })
      .optional(),
    /** A known_hosts file (plain or hashed); a host on another port is looked up as [host]:port. */
    known_hosts: filePath().optional(),
    /** Picks the default command; `command` replaces it. */
    os: z.enum(['linux', 'macos', 'windows'], { error: 'os is linux, macos or windows' }).optional(),
    command: z.string().trim().min(1).optional(),
    /** The whole attempt: connect, log in, and the command until it exits. */
    timeout: duration({ min: 1000, max: 600_000 }).prefault(`${DEFAULT_SSH_TIMEOUT_MS / 1000}s`),
  },
  ['password', 'passphrase'],
).superRefine((c, ctx) => {
  if (c.hostKey === undefined && c.knownHosts === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['host_key'],
      message: 'the host key is always checked: give host_key (SHA256:… as ssh-keygen -lf prints it) or known_hosts (a file)',
    });
  }
  if (c.hostKey !== undefined && c.knownHosts !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['known_hosts'], message: 'give only one of host_key, known_hosts' });
  }
  if (c.keyFile === undefined && c.password === undefined) {
    ctx.addIssue({ code: 'custom', path: ['key_file'], message: 'give key_file, password_env or password_file (or a key and a password)' });
  }
  if (c.passphrase !== undefined && c.keyFile === undefined) {
    ctx.addIssue({ code: 'custom', path: ['passphrase'], message: 'a passphrase is for key_file, which is not given' });
  }
  if (c.os !== undefined && c.command !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['command'], message: 'give os (for its default command) or command, not both' });
  }
});

export type SshShutdownConfig = z.output<typeof sshShutdownSchema>;

/** The command a config section runs: its own, or the default for its os (linux when not given). */
export function sshCommandOf(cfg: SshShutdownConfig): string {
  return cfg.command ?? defaultShutdownCommand(cfg.os ?? 'linux', cfg.username);
}

export function createSshShutdown(cfg: SshShutdownConfig, deps: { log?: Logger; connector?: TcpConnector } = {}): SshShutdown {
  return new SshShutdown({
    login: sshLoginOf(cfg),
    command: sshCommandOf(cfg),
    timeoutMs: cfg.timeout,
    ...(deps.log ? { log: deps.log } : {}),
    ...(deps.connector ? { connector: deps.connector } : {}),
  });
}
