/**
 * What a login needs before the socket opens: the host key check and the credentials, read from
 * their files on every call so a rotated key or an edited known_hosts file is picked up. Shared by
 * the SSH shutdown method and the hypervisor drivers, which log in the same way.
 */
import { readFile } from 'node:fs/promises';
import { BlackstartError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import type { Secret } from '../../core/secret';
import { parseKnownHosts } from './known-hosts';
import type { SshShutdownConfig } from './ssh-config';
import { checkPrivateKey, type HostKeyCheck, type SessionCredentials, type SessionTarget } from './ssh-session';

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
export function describeAuth(login: { keyFile?: string; password?: Secret }): string {
  return [login.keyFile !== undefined ? `key ${login.keyFile}` : '', login.password !== undefined ? 'password' : ''].filter(Boolean).join(' + ');
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
