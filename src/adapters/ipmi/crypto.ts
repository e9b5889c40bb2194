/**
 * RMCP+ key exchange and per-packet protection (protocols.md §4.7–4.8), and the IPMI 1.5 auth
 * codes. Every function is pure over its inputs; keys are Buffers the caller never logs.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { BlackstartError } from '../../core/errors';
import { AUTH_ALG, CONF_ALG, INTEGRITY_ALG, type Algorithms } from './codec-rakp';

/** The standard suites this client can run (others exist; these are the ones BMCs really offer). */
export const CIPHER_SUITES: Record<number, Algorithms> = {
  0: { auth: AUTH_ALG.none, integrity: INTEGRITY_ALG.none, confidentiality: CONF_ALG.none },
  1: { auth: AUTH_ALG.hmacSha1, integrity: INTEGRITY_ALG.none, confidentiality: CONF_ALG.none },
  2: { auth: AUTH_ALG.hmacSha1, integrity: INTEGRITY_ALG.hmacSha1_96, confidentiality: CONF_ALG.none },
  3: { auth: AUTH_ALG.hmacSha1, integrity: INTEGRITY_ALG.hmacSha1_96, confidentiality: CONF_ALG.aesCbc128 },
  15: { auth: AUTH_ALG.hmacSha256, integrity: INTEGRITY_ALG.none, confidentiality: CONF_ALG.none },
  16: { auth: AUTH_ALG.hmacSha256, integrity: INTEGRITY_ALG.hmacSha256_128, confidentiality: CONF_ALG.none },
  17: { auth: AUTH_ALG.hmacSha256, integrity: INTEGRITY_ALG.hmacSha256_128, confidentiality: CONF_ALG.aesCbc128 },
};

type Hash = 'sha1' | 'sha256' | 'md5';

function authHash(auth: number): Hash | undefined {
  if (auth === AUTH_ALG.hmacSha1) return 'sha1';
  if (auth === AUTH_ALG.hmacSha256) return 'sha256';
  if (auth === AUTH_ALG.hmacMd5) return 'md5';
  if (auth === AUTH_ALG.none) return undefined;
  throw new BlackstartError('UNSUPPORTED', `IPMI authentication algorithm 0x${auth.toString(16)} is not supported`);
}

function hmac(hash: Hash, key: Buffer, ...parts: Buffer[]): Buffer {
  const h = createHmac(hash, key);
  for (const p of parts) h.update(p);
  return h.digest();
}

function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

/** Everything both sides know after RAKP 2; the inputs of every RAKP HMAC. */
export interface RakpContext {
  auth: number;
  /** Kuid: the user's password bytes (≤ 20). */
  password: Buffer;
  /** Kg, the BMC key, when the BMC is set up for two-key login. */
  kg?: Buffer;
  consoleSessionId: number;
  bmcSessionId: number;
  consoleRandom: Buffer;
  bmcRandom: Buffer;
  bmcGuid: Buffer;
  role: number;
  username: Buffer;
}

function nameTail(c: RakpContext): Buffer {
  return Buffer.concat([Buffer.from([c.role, c.username.length]), c.username]);
}

/** What the BMC's RAKP 2 auth code must be. Empty for auth algorithm none. */
export function rakp2AuthCode(c: RakpContext): Buffer {
  const h = authHash(c.auth);
  if (!h) return Buffer.alloc(0);
  return hmac(h, c.password, u32le(c.consoleSessionId), u32le(c.bmcSessionId), c.consoleRandom, c.bmcRandom, c.bmcGuid, nameTail(c));
}

export function rakp3AuthCode(c: RakpContext): Buffer {
  const h = authHash(c.auth);
  if (!h) return Buffer.alloc(0);
  return hmac(h, c.password, c.bmcRandom, u32le(c.consoleSessionId), nameTail(c));
}

export interface SessionKeys {
  sik: Buffer;
  k1: Buffer;
  k2: Buffer;
}

export function sessionKeys(c: RakpContext): SessionKeys {
  const h = authHash(c.auth);
  if (!h) return { sik: Buffer.alloc(0), k1: Buffer.alloc(0), k2: Buffer.alloc(0) };
  const key = c.kg && c.kg.some((b) => b !== 0) ? c.kg : c.password;
  const sik = hmac(h, key, c.consoleRandom, c.bmcRandom, nameTail(c));
  return { sik, k1: hmac(h, sik, Buffer.alloc(20, 0x01)), k2: hmac(h, sik, Buffer.alloc(20, 0x02)) };
}

/** What the BMC's RAKP 4 integrity check value must be (truncated per the auth algorithm). */
export function rakp4Icv(c: RakpContext, sik: Buffer): Buffer {
  const h = authHash(c.auth);
  if (!h) return Buffer.alloc(0);
  const full = hmac(h, sik, c.consoleRandom, u32le(c.bmcSessionId), c.bmcGuid);
  return full.subarray(0, h === 'sha256' ? 16 : h === 'md5' ? 16 : 12);
}

/** Constant-time comparison; different lengths are simply unequal. */
export function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

// ---------------------------------------------------------------- per-packet integrity

export function authCodeLength(integrity: number): number {
  switch (integrity) {
    case INTEGRITY_ALG.none:
      return 0;
    case INTEGRITY_ALG.hmacSha1_96:
      return 12;
    case INTEGRITY_ALG.hmacMd5_128:
    case INTEGRITY_ALG.md5_128:
    case INTEGRITY_ALG.hmacSha256_128:
      return 16;
    default:
      throw new BlackstartError('UNSUPPORTED', `IPMI integrity algorithm 0x${integrity.toString(16)} is not supported`);
  }
}

/**
 * The trailer auth code over `covered` (auth type … next header). HMAC algorithms key with K1;
 * MD5-128 is the spec's keyed digest with the password on both sides.
 */
export function integrityCode(integrity: number, k1: Buffer, covered: Buffer, password?: Buffer): Buffer {
  switch (integrity) {
    case INTEGRITY_ALG.hmacSha1_96:
      return hmac('sha1', k1, covered).subarray(0, 12);
    case INTEGRITY_ALG.hmacSha256_128:
      return hmac('sha256', k1, covered).subarray(0, 16);
    case INTEGRITY_ALG.hmacMd5_128:
      return hmac('md5', k1, covered).subarray(0, 16);
    case INTEGRITY_ALG.md5_128: {
      const pw = Buffer.alloc(20);
      password?.copy(pw);
      return createHash('md5').update(pw).update(covered).update(pw).digest();
    }
    default:
      throw new BlackstartError('UNSUPPORTED', `IPMI integrity algorithm 0x${integrity.toString(16)} is not supported`);
  }
}

// ---------------------------------------------------------------- AES-CBC-128 confidentiality

/** IV ‖ AES-128-CBC(K2[0..15], payload ‖ 01 02 … N ‖ N), with no library padding. */
export function encryptPayload(k2: Buffer, payload: Buffer, iv: Buffer = randomBytes(16)): Buffer {
  const padLen = (16 - ((payload.length + 1) % 16)) % 16;
  const pad = Buffer.alloc(padLen + 1);
  for (let i = 0; i < padLen; i++) pad[i] = i + 1;
  pad[padLen] = padLen;
  const c = createCipheriv('aes-128-cbc', k2.subarray(0, 16), iv);
  c.setAutoPadding(false);
  return Buffer.concat([iv, c.update(Buffer.concat([payload, pad])), c.final()]);
}

export function decryptPayload(k2: Buffer, data: Buffer): Buffer {
  if (data.length < 32 || data.length % 16 !== 0) {
    throw new BlackstartError('PROTOCOL', `IPMI encrypted payload: ${data.length} bytes, need the 16-byte IV plus a non-empty multiple of 16`);
  }
  const d = createDecipheriv('aes-128-cbc', k2.subarray(0, 16), data.subarray(0, 16));
  d.setAutoPadding(false);
  const plain = Buffer.concat([d.update(data.subarray(16)), d.final()]);
  const padLen = plain[plain.length - 1] as number;
  if (padLen > 15) throw new BlackstartError('PROTOCOL', `IPMI encrypted payload: confidentiality pad length ${padLen} exceeds 15`);
  const end = plain.length - 1 - padLen;
  for (let i = 0; i < padLen; i++) {
    if (plain[end + i] !== i + 1) throw new BlackstartError('PROTOCOL', `IPMI encrypted payload: pad byte ${i} is ${plain[end + i]}, expected ${i + 1}`);
  }
  return plain.subarray(0, end);
}

// ---------------------------------------------------------------- IPMI 1.5 auth codes

export function password16(password: Buffer): Buffer {
  const b = Buffer.alloc(16);
  password.copy(b, 0, 0, 16);
  return b;
}

/** MD5(password ‖ session ID ‖ message ‖ session sequence ‖ password), passwords 16 bytes padded. */
export function ipmi15Md5(password: Buffer, sessionId: number, message: Buffer, sequence: number): Buffer {
  const pw = password16(password);
  return createHash('md5').update(pw).update(u32le(sessionId)).update(message).update(u32le(sequence)).update(pw).digest();
}

export function ipmi15AuthCode(authType: number, password: Buffer, sessionId: number, message: Buffer, sequence: number): Buffer {
  if (authType === 0x02) return ipmi15Md5(password, sessionId, message, sequence);
  if (authType === 0x04) return password16(password);
  throw new BlackstartError('UNSUPPORTED', `IPMI 1.5 auth type 0x${authType.toString(16)} is not supported`);
}
