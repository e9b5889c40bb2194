/**
 * Opening an SSH session with ssh2: TCP connect, key exchange with a mandatory host key check,
 * then login. Every failure becomes a BlackstartError that names user@host:port and never a secret.
 * The host key is checked during the key exchange, before any credential is sent.
 */
import { Client, utils, type AuthMethod, type ConnectConfig, type ParsedKey, type ServerHostKeyAlgorithm } from 'ssh2';
import { BlackstartError } from '../../core/errors';
import { tcpConnect, type TcpConnector } from '../tcp';
import { checkKnownHost, fingerprintOf, hostKeyAlgorithmOrder, keyTypeOf, knownHostsLine, knownKeyTypes, type KnownHostEntry } from './known-hosts';

/** How the server proves it is the host we mean: there is no trust on first use. */
export type HostKeyCheck =
  | { readonly fingerprint: string }
  | { readonly knownHosts: readonly KnownHostEntry[]; /** For messages. */ readonly file: string };

export interface SessionCredentials {
  /** Private key text (OpenSSH or PEM), already checked to parse with `passphrase`. */
  readonly privateKey?: Buffer;
  readonly passphrase?: string;
  readonly password?: string;
}

export interface SessionTarget {
  readonly host: string;
  readonly port: number;
  readonly username: string;
}

export type SessionPhase = 'connect' | 'handshake' | 'login';

export interface OpenedSession {
  readonly client: Client;
  /** The fingerprint of the host key the server showed and we accepted. */
  readonly fingerprint: string;
}

export function where(t: SessionTarget): string {
  return `${t.username}@${t.host}:${t.port}`;
}

/**
 * Connects and logs in. `signal` aborts the attempt (the caller's deadline or cancellation): the
 * socket is destroyed and the promise rejects with `signal.reason`. `onPhase` reports each phase
 * as it completes, for the outcome's steps.
 */
export async function openSession(
  target: SessionTarget,
  check: HostKeyCheck,
  creds: SessionCredentials,
  opts: { signal: AbortSignal; connector?: TcpConnector; onPhase?: (done: SessionPhase, status?: string) => void },
): Promise<OpenedSession> {
  const { signal } = opts;
  const sock = await (opts.connector ?? tcpConnect)(target.host, target.port, signal).catch((err: unknown) => {
    throw signal.aborted ? signal.reason : connectError(target, err);
  });
  opts.onPhase?.('connect');

  const client = new Client();
  let refused: BlackstartError | undefined;
  let seen: string | undefined;
  const hostVerifier = (key: Buffer): boolean => {
    seen = fingerprintOf(key);
    refused = verifyHostKey(target, check, key);
    return refused === undefined;
  };

  const tried: string[] = [];
  const auth: AuthMethod[] = [];
  // The key first: it does not give the server anything it could replay.
  if (creds.privateKey) {
    auth.push({ type: 'publickey', username: target.username, key: creds.privateKey, ...(creds.passphrase !== undefined ? { passphrase: creds.passphrase } : {}) } as AuthMethod);
    tried.push('publickey');
  }
  if (creds.password !== undefined) {
    auth.push({ type: 'password', username: target.username, password: creds.password } as AuthMethod);
    tried.push('password');
  }

  const config: ConnectConfig = {
    sock,
    username: target.username,
    hostVerifier,
    authHandler: auth,
    // The caller's signal is the one deadline.
    readyTimeout: 0,
    algorithms: {
      serverHostKey: hostKeyAlgorithmOrder('knownHosts' in check ? knownKeyTypes(check.knownHosts, target.host, target.port) : []) as ServerHostKeyAlgorithm[],
    },
  };

  let phase: SessionPhase = 'handshake';
  return new Promise<OpenedSession>((resolve, reject) => {
    let settled = false;
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      client.destroy();
      reject(err);
    };
    const onAbort = (): void => fail(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    // Fired again on every re-key; only the first one is a step.
    client.once('handshake', () => {
      opts.onPhase?.('handshake', seen);
      phase = 'login';
    });
    client.once('ready', () => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      opts.onPhase?.('login');
      resolve({ client, fingerprint: seen as string });
    });
    client.on('error', (err: Error & { level?: string }) => fail(refused ?? sessionError(target, phase, tried, err)));
    client.on('close', () => fail(refused ?? new BlackstartError('UNREACHABLE', `ssh ${where(target)}: the server closed the connection during the ${phase}`)));
    try {
      client.connect(config);
    } catch (err) {
      fail(new BlackstartError('INTERNAL', `ssh ${where(target)}: ${(err as Error).message}`, { cause: err }));
    }
  });
}

/** Undefined when the key is the one expected; otherwise the refusal, naming both fingerprints. */
function verifyHostKey(target: SessionTarget, check: HostKeyCheck, key: Buffer): BlackstartError | undefined {
  const seen = `${keyTypeOf(key) ?? 'unknown'} ${fingerprintOf(key)}`;
  const host = `${target.host}:${target.port}`;
  if ('fingerprint' in check) {
    if (fingerprintOf(key) === check.fingerprint) return undefined;
    return new BlackstartError(
      'REFUSED',
      `ssh ${host}: the host key does not match: the server showed ${seen}, host_key expects ${check.fingerprint}. If the host was reinstalled, pin the new key; otherwise someone may be in between`,
    );
  }
  const verdict = checkKnownHost(check.knownHosts, target.host, target.port, key);
  switch (verdict.verdict) {
    case 'trusted':
      return undefined;
    case 'revoked':
      return new BlackstartError('REFUSED', `ssh ${host}: the server showed ${seen}, which ${check.file} line ${verdict.line} marks @revoked`);
    case 'mismatch':
      return new BlackstartError(
        'REFUSED',
        `ssh ${host}: the host key does not match: the server showed ${seen}, ${check.file} expects ${verdict.expected.join(' or ')}. If the host was reinstalled, update the file; otherwise someone may be in between`,
      );
    case 'unknown':
      return new BlackstartError(
        'REFUSED',
        `ssh ${host}: ${check.file} has no key for ${target.host}${target.port === 22 ? '' : ` (looked for [${target.host}]:${target.port})`}; the server showed ${seen}. Check it on the host (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) and add it, or pin it with host_key`,
      );
  }
}

function connectError(target: SessionTarget, err: unknown): BlackstartError {
  if (err instanceof BlackstartError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const host = `${target.host}:${target.port}`;
  if (code === 'ECONNREFUSED') return new BlackstartError('UNREACHABLE', `ssh ${host}: connection refused (is sshd running, and on that port?)`, { cause: err });
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new BlackstartError('UNREACHABLE', `ssh ${host}: cannot resolve ${target.host}`, { cause: err });
  const detail = code ?? (err as Error).message;
  return new BlackstartError('UNREACHABLE', `ssh ${host}: cannot connect (${detail})`, { cause: err });
}

function sessionError(target: SessionTarget, phase: SessionPhase, tried: readonly string[], err: Error & { level?: string; code?: string }): BlackstartError {
  const w = where(target);
  if (err.level === 'client-authentication') {
    return new BlackstartError('AUTH', `ssh ${w}: the server refused the login (tried ${tried.join(', ') || 'no method'})`);
  }
  if (err.level === 'client-timeout') return new BlackstartError('TIMEOUT', `ssh ${w}: no answer during the ${phase}`);
  if (err.level === 'client-socket') {
    return new BlackstartError('UNREACHABLE', `ssh ${w}: the connection broke during the ${phase} (${err.code ?? err.message})`);
  }
  return new BlackstartError('PROTOCOL', `ssh ${w}: ${phase} failed: ${err.message}`);
}

export interface ScannedHostKey {
  readonly keyType: string;
  /** `SHA256:…`, the value for `host_key`. */
  readonly fingerprint: string;
  /** A line for a known_hosts file. */
  readonly knownHostsLine: string;
}

/**
 * The host key a server shows to this client, for the user to compare with the host's own
 * `ssh-keygen -lf` and then pin. Only the key exchange runs: no login is attempted.
 */
export async function scanHostKey(host: string, port = 22, opts: { signal?: AbortSignal; timeoutMs?: number; connector?: TcpConnector } = {}): Promise<ScannedHostKey> {
  const target = { host, port, username: 'blackstart-scan' };
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new BlackstartError('TIMEOUT', `ssh ${host}:${port}: no host key within ${timeoutMs} ms`)), timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, deadline.signal]) : deadline.signal;
  try {
    const sock = await (opts.connector ?? tcpConnect)(host, port, signal).catch((err: unknown) => {
      throw signal.aborted ? signal.reason : connectError(target, err);
    });
    return await new Promise<ScannedHostKey>((resolve, reject) => {
      const client = new Client();
      let key: Buffer | undefined;
      const finish = (err?: unknown): void => {
        signal.removeEventListener('abort', onAbort);
        client.destroy();
        if (key) resolve({ keyType: keyTypeOf(key) ?? 'unknown', fingerprint: fingerprintOf(key), knownHostsLine: knownHostsLine(host, port, key) });
        else reject(err ?? new BlackstartError('PROTOCOL', `ssh ${host}:${port}: the server closed the connection before showing a host key`));
      };
      const onAbort = (): void => finish(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      client.on('error', (err: Error & { level?: string }) => finish(sessionError(target, 'handshake', [], err)));
      client.on('close', () => finish());
      client.connect({
        sock,
        username: target.username,
        readyTimeout: 0,
        hostVerifier: (k: Buffer) => {
          key = k;
          // Stop here: a scan never logs in.
          return false;
        },
      });
    });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads a private key with its passphrase the way ssh2 will, so a wrong passphrase or a public
 * key given by mistake is reported as such rather than as a refused login.
 */
export function checkPrivateKey(keyText: Buffer, file: string, passphrase: string | undefined): BlackstartError | undefined {
  const parsed = utils.parseKey(keyText, passphrase);
  if (parsed instanceof Error) {
    if (/no passphrase given/i.test(parsed.message)) {
      return new BlackstartError('CONFIG', `the private key ${file} is encrypted: give passphrase_env or passphrase_file`);
    }
    if (passphrase !== undefined && /decrypt|passphrase|integrity/i.test(parsed.message)) {
      return new BlackstartError('AUTH', `the private key ${file} cannot be decrypted with the configured passphrase`);
    }
    return new BlackstartError('CONFIG', `${file} is not a private key ssh2 can read (${parsed.message})`);
  }
  const key = Array.isArray(parsed) ? (parsed[0] as ParsedKey | undefined) : parsed;
  if (!key?.isPrivateKey()) return new BlackstartError('CONFIG', `${file} holds a public key: key_file must name the private key (without .pub)`);
  return undefined;
}
