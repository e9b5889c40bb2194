/** known_hosts parsing and host key verdicts against vectors made by ssh-keygen (test/fixtures/ssh/README.md). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkKnownHost,
  fingerprintOf,
  hostKeyAlgorithmOrder,
  keyTypeOf,
  knownHostsLine,
  knownHostsName,
  knownKeyTypes,
  parseFingerprint,
  parseKnownHosts,
  wildcardMatch,
} from '../../../src/adapters/power/known-hosts';
import { repoRoot } from '../../helpers/repo';

const text = readFileSync(join(repoRoot(), 'test/fixtures/ssh/known_hosts'), 'utf8');
const blob = (b64: string): Buffer => Buffer.from(b64, 'base64');
const A = blob('AAAAC3NzaC1lZDI1NTE5AAAAIIsY8z5fror9PXrIbY4NRLxRwlxc0iKgAbn/53bqmJn7');
const B = blob('AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBAiXYggEz4KsyXaXT5LUJaGHH0nkBEFNeYpW8rxydPPzIx3OwW68/0tb/bV09fv8KE6dqH8iHVa8vSNVY/09FL4=');
const C = blob('AAAAC3NzaC1lZDI1NTE5AAAAIPnBqItXdt0dvw7w/ssUqGFpx1hjxPicr2DyvERSF1Hs');
const FP = {
  a: 'SHA256:VJSlDXSuMZCEI71Nvx+pD0r78V1AwpXJ3UIr4olR1u8',
  b: 'SHA256:wk80yMWbqMz0LqZIKeUcgDjlqG5H3e6Gh6c/cekR9bU',
  c: 'SHA256:B0yoIqOU5YSqlPOy3AQNjgexCoheJRIYEzOwtsosZRc',
};

describe('SSH fingerprints', () => {
  it('match what ssh-keygen -lf printed', () => {
    expect([fingerprintOf(A), fingerprintOf(B), fingerprintOf(C)]).toEqual([FP.a, FP.b, FP.c]);
    expect([keyTypeOf(A), keyTypeOf(B)]).toEqual(['ssh-ed25519', 'ecdsa-sha2-nistp256']);
    expect(keyTypeOf(Buffer.from([0, 0, 0, 99, 1]))).toBeUndefined();
  });

  it.each([
    [FP.a, FP.a],
    [`${FP.a}=`, FP.a],
    [`  ${FP.b}\n`, FP.b],
  ])('accepts %j as %s', (input, canonical) => {
    expect(parseFingerprint(input)).toEqual({ fingerprint: canonical });
  });

  it.each([
    ['MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48', /MD5 fingerprint is not accepted/],
    ['16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48', /MD5 fingerprint is not accepted/],
    ['VJSlDXSuMZCEI71Nvx+pD0r78V1AwpXJ3UIr4olR1u8', /expected a host key fingerprint such as SHA256:/],
    ['SHA256:tooShort', /expected a host key fingerprint/],
    ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIsY8z5fror9PXrIbY4NRLxRwlxc0iKgAbn/53bqmJn7', /expected a host key fingerprint/],
  ])('rejects %j', (input, message) => {
    const parsed = parseFingerprint(input);
    expect('error' in parsed && parsed.error).toMatch(message);
  });
});

describe('known_hosts', () => {
  const { entries, issues } = parseKnownHosts(text);

  it('keeps the good lines and names each bad one', () => {
    expect(entries.map((e) => e.line)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    expect(entries.find((e) => e.line === 7)?.marker).toBe('revoked');
    expect(entries.find((e) => e.line === 8)?.marker).toBe('cert-authority');
    expect(issues).toEqual([
      { line: 9, message: 'expected "<hosts> <key type> <base64 key>"' },
      { line: 10, message: 'unknown marker @weird' },
      { line: 11, message: 'the key is not valid base64 of a ssh-ed25519 key' },
      { line: 12, message: 'the key is not valid base64 of a ecdsa-sha2-nistp256 key' },
    ]);
    expect(parseKnownHosts('|1|bm90|c2hvcnQ= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIsY8z5fror9PXrIbY4NRLxRwlxc0iKgAbn/53bqmJn7').issues[0]?.message).toMatch(/hashed host must read/);
    expect(parseKnownHosts('\r\n# only a comment\r\n\r\n')).toEqual({ entries: [], issues: [] });
  });

  it('names hosts as OpenSSH does', () => {
    expect(knownHostsName('NAS.lan', 22)).toBe('nas.lan');
    expect(knownHostsName('nas.lan', 2222)).toBe('[nas.lan]:2222');
    expect(knownHostsLine('127.0.0.1', 2222, A)).toBe('[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIsY8z5fror9PXrIbY4NRLxRwlxc0iKgAbn/53bqmJn7');
  });

  it.each([
    // plain, every name of a multi-host line, case-insensitive
    ['nas.lan', 22, A, { verdict: 'trusted', line: 2 }],
    ['127.0.1.5', 22, A, { verdict: 'trusted', line: 2 }],
    ['NAS.LAN', 22, A, { verdict: 'trusted', line: 2 }],
    // [host]:port is its own name: port 22's key does not vouch for 2222, and the reverse
    ['nas.lan', 2222, B, { verdict: 'trusted', line: 3 }],
    ['nas.lan', 2222, A, { verdict: 'mismatch', expected: [`ecdsa-sha2-nistp256 ${FP.b}`] }],
    ['nas.lan', 22, B, { verdict: 'mismatch', expected: [`ssh-ed25519 ${FP.a}`] }],
    ['127.0.1.5', 2222, A, { verdict: 'unknown' }],
    // hashed by ssh-keygen -H
    ['printer.lan', 22, A, { verdict: 'trusted', line: 4 }],
    ['printer.lan', 2222, B, { verdict: 'trusted', line: 5 }],
    ['printer.lan', 22, B, { verdict: 'mismatch', expected: [`ssh-ed25519 ${FP.a}`] }],
    ['printer.lan', 2223, B, { verdict: 'unknown' }],
    // wildcards, and a negation that vetoes the line
    ['db.lab', 22, B, { verdict: 'trusted', line: 6 }],
    ['secret.lab', 22, B, { verdict: 'unknown' }],
    ['lab', 22, B, { verdict: 'unknown' }],
    // @revoked wins over everything; @cert-authority says nothing about plain keys
    ['nas.lan', 22, C, { verdict: 'revoked', line: 7 }],
    ['other.lan', 22, C, { verdict: 'revoked', line: 7 }],
    ['other.lan', 22, A, { verdict: 'unknown' }],
  ] as const)('%s port %d', (host, port, key, verdict) => {
    expect(checkKnownHost(entries, host, port, key)).toEqual(verdict);
  });

  it('puts the recorded key types first in the handshake', () => {
    expect(knownKeyTypes(entries, 'nas.lan', 2222)).toEqual(['ecdsa-sha2-nistp256']);
    expect(knownKeyTypes(entries, 'printer.lan', 22)).toEqual(['ssh-ed25519']);
    expect(hostKeyAlgorithmOrder(['ecdsa-sha2-nistp256'])).toEqual([
      'ecdsa-sha2-nistp256',
      'ssh-ed25519',
      'ecdsa-sha2-nistp384',
      'ecdsa-sha2-nistp521',
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
    ]);
    expect(hostKeyAlgorithmOrder(['ssh-rsa']).slice(0, 4)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-ed25519']);
    expect(hostKeyAlgorithmOrder(['ssh-dss'])[0]).toBe('ssh-ed25519');
  });

  it.each([
    ['a.lab', '*.lab', true],
    ['a.b.lab', '*.lab', true],
    ['lab', '*.lab', false],
    ['web1.lan', 'web?.lan', true],
    ['web10.lan', 'web?.lan', false],
    ['axlan', 'a.lan', false],
    ['[h]:2222', '[h]:2222', true],
  ])('%s against %s', (name, pattern, expected) => {
    expect(wildcardMatch(name, pattern)).toBe(expected);
  });
});
