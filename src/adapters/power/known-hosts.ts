/**
 * The pure half of SSH host key checking: OpenSSH fingerprints, known_hosts parsing (plain,
 * wildcard, negated and hashed `|1|` host fields, `@revoked` lines) and the verdict for one key.
 * No I/O here, so all of it is tested with vectors made by ssh-keygen.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** `SHA256:<base64, no padding>`, exactly as `ssh-keygen -lf` and `ssh` print it. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * A fingerprint as the user may paste it: `SHA256:…` with or without base64 padding. Gives the
 * canonical form, or says what is wrong (MD5 `aa:bb:…` fingerprints are too weak to pin).
 */
export function parseFingerprint(text: string): { fingerprint: string } | { error: string } {
  const t = text.trim();
  if (/^(MD5:)?([0-9a-f]{2}:){15}[0-9a-f]{2}$/i.test(t)) {
    return { error: 'an MD5 fingerprint is not accepted: give the SHA256:… form (ssh-keygen -lf <key>.pub prints it)' };
  }
  const m = /^SHA256:([A-Za-z0-9+/]{43})=?$/.exec(t);
  if (!m) return { error: 'expected a host key fingerprint such as SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s (ssh-keygen -lf <key>.pub prints it)' };
  return { fingerprint: `SHA256:${m[1]}` };
}

/** The key type named inside an SSH public key blob (its first length-prefixed string). */
export function keyTypeOf(keyBlob: Buffer): string | undefined {
  if (keyBlob.length < 4) return undefined;
  const len = keyBlob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > keyBlob.length) return undefined;
  return keyBlob.subarray(4, 4 + len).toString('latin1');
}

/** How OpenSSH names a host in known_hosts: `host` on port 22, `[host]:port` elsewhere. */
export function knownHostsName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** A line for a known_hosts file, e.g. what `ssh-keyscan -p 2222 host` would print. */
export function knownHostsLine(host: string, port: number, keyBlob: Buffer): string {
  return `${knownHostsName(host, port)} ${keyTypeOf(keyBlob) ?? 'unknown'} ${keyBlob.toString('base64')}`;
}

type HostField = { kind: 'hashed'; salt: Buffer; hash: Buffer } | { kind: 'patterns'; patterns: readonly string[] };

export interface KnownHostEntry {
  /** 1-based, for messages. */
  readonly line: number;
  readonly marker?: 'revoked' | 'cert-authority';
  readonly hosts: HostField;
  readonly keyType: string;
  readonly key: Buffer;
}

export interface KnownHostsIssue {
  readonly line: number;
  readonly message: string;
}

/** Parses a known_hosts file; a bad line is reported and skipped, as ssh does. */
export function parseKnownHosts(text: string): { entries: KnownHostEntry[]; issues: KnownHostsIssue[] } {
  const entries: KnownHostEntry[] = [];
  const issues: KnownHostsIssue[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === '' || fields[0]?.startsWith('#')) return;
    let marker: KnownHostEntry['marker'];
    if (fields[0]?.startsWith('@')) {
      const m = fields.shift();
      if (m !== '@revoked' && m !== '@cert-authority') {
        issues.push({ line, message: `unknown marker ${m}` });
        return;
      }
      marker = m === '@revoked' ? 'revoked' : 'cert-authority';
    }
    const [hostText, keyType, keyText] = fields;
    if (hostText === undefined || keyType === undefined || keyText === undefined) {
      issues.push({ line, message: 'expected "<hosts> <key type> <base64 key>"' });
      return;
    }
    const hosts = parseHostField(hostText);
    if ('error' in hosts) {
      issues.push({ line, message: hosts.error });
      return;
    }
    const key = decodeBase64(keyText);
    if (!key || keyTypeOf(key) !== keyType) {
      issues.push({ line, message: `the key is not valid base64 of a ${keyType} key` });
      return;
    }
    entries.push({ line, hosts, keyType, key, ...(marker ? { marker } : {}) });
  });
  return { entries, issues };
}

function parseHostField(text: string): HostField | { error: string } {
  if (text.startsWith('|')) {
    const m = /^\|1\|([^|]+)\|([^|]+)$/.exec(text);
    const salt = m ? decodeBase64(m[1] as string) : undefined;
    const hash = m ? decodeBase64(m[2] as string) : undefined;
    if (!salt || !hash || hash.length !== 20) return { error: 'a hashed host must read |1|<base64 salt>|<base64 HMAC-SHA1>' };
    return { kind: 'hashed', salt, hash };
  }
  return { kind: 'patterns', patterns: text.split(',').filter((p) => p !== '') };
}

function decodeBase64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const b = Buffer.from(text, 'base64');
  return b.length > 0 ? b : undefined;
}

/** Does the entry's host field name this host (`knownHostsName` form)? Follows OpenSSH's match_hostname. */
export function entryMatches(entry: KnownHostEntry, name: string): boolean {
  const hosts = entry.hosts;
  if (hosts.kind === 'hashed') {
    const mac = createHmac('sha1', hosts.salt).update(name).digest();
    return timingSafeEqual(mac, hosts.hash);
  }
  let matched = false;
  for (const p of hosts.patterns) {
    const negated = p.startsWith('!');
    if (!wildcardMatch(name, (negated ? p.slice(1) : p).toLowerCase())) continue;
    // A matching negated pattern vetoes the whole line.
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** `*` any run of characters, `?` one character; everything else literal. */
export function wildcardMatch(text: string, pattern: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
  return re.test(text);
}

export type HostKeyVerdict =
  | { verdict: 'trusted'; line: number }
  | { verdict: 'revoked'; line: number }
  /** The host is known, with other keys: possibly a man in the middle. */
  | { verdict: 'mismatch'; expected: readonly string[] }
  | { verdict: 'unknown' };

/** What known_hosts says about `keyBlob` offered by `host:port`. */
export function checkKnownHost(entries: readonly KnownHostEntry[], host: string, port: number, keyBlob: Buffer): HostKeyVerdict {
  const name = knownHostsName(host, port);
  // Certificates are not used by this client; a CA line says nothing about a plain host key.
  const mine = entries.filter((e) => e.marker !== 'cert-authority' && entryMatches(e, name));
  const revoked = mine.find((e) => e.marker === 'revoked' && e.key.equals(keyBlob));
  if (revoked) return { verdict: 'revoked', line: revoked.line };
  const known = mine.filter((e) => e.marker === undefined);
  const same = known.find((e) => e.key.equals(keyBlob));
  if (same) return { verdict: 'trusted', line: same.line };
  if (known.length === 0) return { verdict: 'unknown' };
  return { verdict: 'mismatch', expected: known.map((e) => `${e.keyType} ${fingerprintOf(e.key)}`) };
}

/** The key types known_hosts holds for a host, so the handshake asks for one of those first. */
export function knownKeyTypes(entries: readonly KnownHostEntry[], host: string, port: number): string[] {
  const name = knownHostsName(host, port);
  const types: string[] = [];
  for (const e of entries) {
    if (e.marker === undefined && entryMatches(e, name) && !types.includes(e.keyType)) types.push(e.keyType);
  }
  return types;
}

/** ssh2's default host key algorithms, strongest first. */
const HOST_KEY_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

/**
 * The host key algorithms to offer, those of the known key types first (as OpenSSH does), so a
 * host with both an RSA and an ed25519 key shows the one the user recorded.
 */
export function hostKeyAlgorithmOrder(knownTypes: readonly string[]): string[] {
  const first: string[] = [];
  for (const t of knownTypes) {
    // One RSA key serves three signature algorithms.
    const algos = t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t];
    for (const a of algos) if (HOST_KEY_ALGORITHMS.includes(a) && !first.includes(a)) first.push(a);
  }
  return [...first, ...HOST_KEY_ALGORITHMS.filter((a) => !first.includes(a))];
}
