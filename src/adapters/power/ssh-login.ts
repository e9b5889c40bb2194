/**
 * What a login needs before the socket opens: the host key check and the credentials, read from
 * their files on every call so a rotated key or an edited known_hosts file is picked up. Shared by
 * the SSH shutdown method and the hypervisor drivers, which log in the same way.
 */
import { readFile } from 'node:fs/promises';
import { BlackstartError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import type { Secret } from '../../core/secret';
import type { TcpConnector } from '../tcp';
import { parseKnownHosts } from './known-hosts';
import type { SshShutdownConfig } from './ssh-config';
import {
  checkPrivateKey,
  openSession,
  where,
  type HostKeyCheck,
  type OpenedSession,
  type SessionCredentials,
  type SessionPhase,
  type SessionTarget,
} from './ssh-session';

export type HostKeySource = { readonly fingerprint: string } | { readonly knownHostsFile: string };

export interface SshLogin {
  readonly target: SessionTarget;
  readonly hostKey: HostKeySource;
  readonly keyFile?: string;
  readonly passphrase?: Secret;
  readonly password?: Secret;
}

/** A parsed `ssh:` config block as login options (secrets stay wrapped until the login). */
export function sshLoginOf(cfg: SshShutdownConfig): SshLogin {
  return {
    target: { host: cfg.host, port: cfg.port, username: cfg.username },
    hostKey: cfg.hostKey !== undefined ? { fingerprint: cfg.hostKey } : { knownHostsFile: (cfg.knownHosts as NonNullable<typeof cfg.knownHosts>).path },
    ...(cfg.keyFile !== undefined ? { keyFile: cfg.keyFile.path } : {}),
    ...(cfg.passphrase !== undefined ? { passphrase: cfg.passphrase.secret } : {}),
    ...(cfg.password !== undefined ? { password: cfg.password.secret } : {}),
  };
}

/** How the login's auth reads in a describe(): which methods, never a secret. */
function describeAuth(login: { keyFile?: string; password?: Secret }): string {
  return [login.keyFile !== undefined ? `key ${login.keyFile}` : '', login.password !== undefined ? 'password' : ''].filter(Boolean).join(' + ');
}

/** How we log in, for a describe(): the auth methods and the host key source, never a secret. */
export function describeLogin(login: SshLogin): string {
  const hk = login.hostKey;
  return `${describeAuth(login)}; ${'fingerprint' in hk ? `host key ${hk.fingerprint}` : `host key from ${hk.knownHostsFile}`}`;
}

export interface OpenLoginOptions {
  /** The caller's deadline or cancellation; the attempt rejects with its reason. */
  readonly signal: AbortSignal;
  readonly connector?: TcpConnector;
  readonly log: Logger;
  readonly onPhase?: (done: SessionPhase, status?: string) => void;
}

/**
 * Reads the host key check and the credentials, then connects and logs in. The config schema
 * already asks for a key or a password; this check is for a login built in code, and it comes
 * before any file is read or socket opened.
 */
export async function openLogin(login: SshLogin, opts: OpenLoginOptions): Promise<OpenedSession> {
  if (login.keyFile === undefined && login.password === undefined) {
    throw new BlackstartError('CONFIG', `ssh ${where(login.target)}: give a key file, a password, or both`);
  }
  const [check, creds] = await Promise.all([loadHostKeyCheck(login.hostKey, opts.log), loadCredentials(login)]);
  opts.signal.throwIfAborted();
  const session = await openSession(login.target, check, creds, {
    signal: opts.signal,
    ...(opts.connector ? { connector: opts.connector } : {}),
    ...(opts.onPhase ? { onPhase: opts.onPhase } : {}),
  });
  opts.log.debug({ user: login.target.username, fingerprint: session.fingerprint }, 'ssh login accepted');
  return session;
}

export async function loadHostKeyCheck(hk: HostKeySource, log: Logger): Promise<HostKeyCheck> {
  if ('fingerprint' in hk) return { fingerprint: hk.fingerprint };
  const text = await readText(hk.knownHostsFile, 'known_hosts file');
  const { entries, issues } = parseKnownHosts(text);
  for (const issue of issues) log.warn({ file: hk.knownHostsFile, line: issue.line }, `known_hosts line skipped: ${issue.message}`);
  return { knownHosts: entries, file: hk.knownHostsFile };
}

export async function loadCredentials(login: { keyFile?: string; passphrase?: Secret; password?: Secret }): Promise<SessionCredentials> {
  const password = login.password?.reveal();
  if (login.keyFile === undefined) return { ...(password !== undefined ? { password } : {}) };
  const keyText = Buffer.from(await readText(login.keyFile, 'private key file'));
  const passphrase = login.passphrase?.reveal();
  const bad = checkPrivateKey(keyText, login.keyFile, passphrase);
  if (bad) throw bad;
  return { privateKey: keyText, ...(passphrase !== undefined ? { passphrase } : {}), ...(password !== undefined ? { password } : {}) };
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new BlackstartError('CONFIG', `cannot read the ${what} ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
}
