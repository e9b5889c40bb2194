/**
 * RMCP+ session establishment payloads: Open Session request/response and RAKP messages 1–4.
 * Byte layouts: shared/reference/protocols.md §4.6.
 */
import { needBytes, protocolError } from './codec-bytes';

export const AUTH_ALG = { none: 0x00, hmacSha1: 0x01, hmacMd5: 0x02, hmacSha256: 0x03 } as const;
export const INTEGRITY_ALG = { none: 0x00, hmacSha1_96: 0x01, hmacMd5_128: 0x02, md5_128: 0x03, hmacSha256_128: 0x04 } as const;
export const CONF_ALG = { none: 0x00, aesCbc128: 0x01, xrc4_128: 0x02, xrc4_40: 0x03 } as const;

export interface Algorithms {
  auth: number;
  integrity: number;
  confidentiality: number;
}

export const RAKP_STATUS: Record<number, string> = {
  0x00: 'no errors',
  0x01: 'insufficient resources to create a session',
  0x02: 'invalid session ID',
  0x03: 'invalid payload type',
  0x04: 'invalid authentication algorithm',
  0x05: 'invalid integrity algorithm',
  0x06: 'no matching authentication payload',
  0x07: 'no matching integrity payload',
  0x08: 'inactive session ID',
  0x09: 'invalid role',
  0x0a: 'unauthorized role or privilege level requested',
  0x0b: 'insufficient resources to create a session at the requested role',
  0x0c: 'invalid name length',
  0x0d: 'unauthorized name',
  0x0e: 'unauthorized GUID',
  0x0f: 'invalid integrity check value',
  0x10: 'invalid confidentiality algorithm',
  0x11: 'no cipher suite match with proposed security algorithms',
  0x12: 'illegal or unrecognized parameter',
};

export function rakpStatusText(status: number): string {
  return RAKP_STATUS[status] ?? `status 0x${status.toString(16).padStart(2, '0')}`;
}

export interface OpenSessionRequest extends Algorithms {
  tag: number;
  privilege: number;
  consoleSessionId: number;
}

export function encodeOpenSessionRequest(r: OpenSessionRequest): Buffer {
  const b = Buffer.alloc(32);
  b[0] = r.tag;
  b[1] = r.privilege;
  b.writeUInt32LE(r.consoleSessionId >>> 0, 4);
  const algs = [r.auth, r.integrity, r.confidentiality];
  for (let i = 0; i < 3; i++) {
    const off = 8 + i * 8;
    b[off] = i;
    b[off + 3] = 0x08;
    b[off + 4] = algs[i] as number;
  }
  return b;
}

export interface OpenSessionResponse {
  tag: number;
  status: number;
  privilege: number;
  /** Absent in the short error answers some BMCs send (ipmi_sim: 2 bytes). */
  consoleSessionId?: number;
  /** Only when status is 0. */
  bmcSessionId?: number;
  algorithms?: Algorithms;
}

export function decodeOpenSessionResponse(p: Buffer): OpenSessionResponse {
  needBytes(p, 2, 'Open Session response');
  const status = p[1] as number;
  if (status !== 0) return p.length >= 8 ? { tag: p[0] as number, status, privilege: (p[2] as number) & 0x0f, consoleSessionId: p.readUInt32LE(4) } : { tag: p[0] as number, status, privilege: 0 };
  needBytes(p, 36, 'Open Session response');
  const base = { tag: p[0] as number, status, privilege: (p[2] as number) & 0x0f, consoleSessionId: p.readUInt32LE(4) };
  const algs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const off = 12 + i * 8;
    if (p[off] !== i) throw protocolError('Open Session response', `algorithm payload type at byte ${off} is ${p[off]}, expected ${i}`);
    algs.push((p[off + 4] as number) & 0x3f);
  }
  return {
    ...base,
    bmcSessionId: p.readUInt32LE(8),
    algorithms: { auth: algs[0] as number, integrity: algs[1] as number, confidentiality: algs[2] as number },
  };
}

export interface Rakp1 {
  tag: number;
  bmcSessionId: number;
  consoleRandom: Buffer;
  /** The full role byte, including the name-only lookup bit: it enters several HMACs. */
  role: number;
  username: Buffer;
}

export function encodeRakp1(r: Rakp1): Buffer {
  if (r.consoleRandom.length !== 16) throw protocolError('RAKP 1', 'console random number must be 16 bytes');
  if (r.username.length > 16) throw protocolError('RAKP 1', `username of ${r.username.length} bytes exceeds 16`);
  const b = Buffer.alloc(28 + r.username.length);
  b[0] = r.tag;
  b.writeUInt32LE(r.bmcSessionId >>> 0, 4);
  r.consoleRandom.copy(b, 8);
  b[24] = r.role;
  b[27] = r.username.length;
  r.username.copy(b, 28);
  return b;
}

export function decodeRakp1(p: Buffer): Rakp1 {
  needBytes(p, 28, 'RAKP 1');
  const ulen = p[27] as number;
  if (ulen > 16) throw protocolError('RAKP 1', `username length ${ulen} at byte 27 exceeds 16`);
  needBytes(p, 28 + ulen, 'RAKP 1');
  return { tag: p[0] as number, bmcSessionId: p.readUInt32LE(4), consoleRandom: Buffer.from(p.subarray(8, 24)), role: p[24] as number, username: Buffer.from(p.subarray(28, 28 + ulen)) };
}

export interface Rakp2 {
  tag: number;
  status: number;
  /** Absent in short error answers. */
  consoleSessionId?: number;
  bmcRandom: Buffer;
  bmcGuid: Buffer;
  /** Key exchange auth code (empty for auth algorithm none). */
  authCode: Buffer;
}

export function decodeRakp2(p: Buffer): Rakp2 {
  needBytes(p, 2, 'RAKP 2');
  const empty = { bmcRandom: Buffer.alloc(0), bmcGuid: Buffer.alloc(0), authCode: Buffer.alloc(0) };
  if (p[1] !== 0 && p.length < 8) return { tag: p[0] as number, status: p[1] as number, ...empty };
  needBytes(p, 8, 'RAKP 2');
  const head = { tag: p[0] as number, status: p[1] as number, consoleSessionId: p.readUInt32LE(4) };
  if (head.status !== 0) return { ...head, ...empty };
  needBytes(p, 40, 'RAKP 2');
  return { ...head, bmcRandom: Buffer.from(p.subarray(8, 24)), bmcGuid: Buffer.from(p.subarray(24, 40)), authCode: Buffer.from(p.subarray(40)) };
}

export function encodeRakp2(r: Rakp2): Buffer {
  const b = Buffer.alloc(40);
  b[0] = r.tag;
  b[1] = r.status;
  b.writeUInt32LE((r.consoleSessionId ?? 0) >>> 0, 4);
  r.bmcRandom.copy(b, 8);
  r.bmcGuid.copy(b, 24);
  return Buffer.concat([b, r.authCode]);
}

export interface Rakp3 {
  tag: number;
  status: number;
  bmcSessionId: number;
  authCode: Buffer;
}

export function encodeRakp3(r: Rakp3): Buffer {
  const b = Buffer.alloc(8);
  b[0] = r.tag;
  b[1] = r.status;
  b.writeUInt32LE(r.bmcSessionId >>> 0, 4);
  return Buffer.concat([b, r.authCode]);
}

export function decodeRakp3(p: Buffer): Rakp3 {
  needBytes(p, 8, 'RAKP 3');
  return { tag: p[0] as number, status: p[1] as number, bmcSessionId: p.readUInt32LE(4), authCode: Buffer.from(p.subarray(8)) };
}

export interface Rakp4 {
  tag: number;
  status: number;
  /** Absent in short error answers. */
  consoleSessionId?: number;
  integrityCheck: Buffer;
}

export function decodeRakp4(p: Buffer): Rakp4 {
  needBytes(p, 2, 'RAKP 4');
  if (p[1] !== 0 && p.length < 8) return { tag: p[0] as number, status: p[1] as number, integrityCheck: Buffer.alloc(0) };
  needBytes(p, 8, 'RAKP 4');
  return { tag: p[0] as number, status: p[1] as number, consoleSessionId: p.readUInt32LE(4), integrityCheck: Buffer.from(p.subarray(8)) };
}

export function encodeRakp4(r: Rakp4): Buffer {
  const b = Buffer.alloc(8);
  b[0] = r.tag;
  b[1] = r.status;
  b.writeUInt32LE((r.consoleSessionId ?? 0) >>> 0, 4);
  return Buffer.concat([b, r.integrityCheck]);
}
