/**
 * Framing below the IPMI message: the RMCP header, ASF presence ping/pong, the IPMI 1.5 session
 * wrapper and the RMCP+ (IPMI 2.0) session header and trailer. Pure: integrity and encryption
 * arrive as callbacks/values from crypto.ts, so these functions only place and check bytes.
 */
import { byteHex, needBytes, protocolError } from './codec-bytes';

export const RMCP_VERSION = 0x06;
export const RMCP_NO_ACK = 0xff;
export const RMCP_CLASS_ASF = 0x06;
export const RMCP_CLASS_IPMI = 0x07;
export const ASF_IANA = 4542;

export const AUTH_TYPE = { none: 0x00, md2: 0x01, md5: 0x02, password: 0x04, oem: 0x05, rmcpPlus: 0x06 } as const;

export const PAYLOAD = {
  ipmi: 0x00,
  sol: 0x01,
  oem: 0x02,
  openSessionRequest: 0x10,
  openSessionResponse: 0x11,
  rakp1: 0x12,
  rakp2: 0x13,
  rakp3: 0x14,
  rakp4: 0x15,
} as const;

export interface RmcpHeader {
  version: number;
  sequence: number;
  messageClass: number;
  ack: boolean;
}

export function encodeRmcpHeader(messageClass: number): Buffer {
  return Buffer.from([RMCP_VERSION, 0x00, RMCP_NO_ACK, messageClass & 0x7f]);
}

export function decodeRmcpHeader(buf: Uint8Array): RmcpHeader {
  needBytes(buf, 4, 'RMCP header');
  if (buf[0] !== RMCP_VERSION) throw protocolError('RMCP header', `byte 0 version is ${byteHex(buf[0] as number)}, expected 0x06`);
  const cls = buf[3] as number;
  return { version: buf[0] as number, sequence: buf[2] as number, messageClass: cls & 0x7f, ack: (cls & 0x80) !== 0 };
}

// ---------------------------------------------------------------- ASF presence ping / pong

export function encodeAsfPing(tag: number): Buffer {
  const b = Buffer.alloc(12);
  encodeRmcpHeader(RMCP_CLASS_ASF).copy(b, 0);
  b.writeUInt32BE(ASF_IANA, 4);
  b[8] = 0x80;
  b[9] = tag & 0xff;
  return b;
}

export interface AsfPong {
  tag: number;
  iana: number;
  oem: number;
  ipmiSupported: boolean;
  asfVersion: number;
  interactions: number;
}

export function decodeAsfPong(buf: Uint8Array): AsfPong {
  const h = decodeRmcpHeader(buf);
  if (h.messageClass !== RMCP_CLASS_ASF) throw protocolError('ASF pong', `RMCP class ${byteHex(h.messageClass)} at byte 3, expected 0x06`);
  needBytes(buf, 12, 'ASF pong');
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  if (b.readUInt32BE(4) !== ASF_IANA) throw protocolError('ASF pong', `IANA ${b.readUInt32BE(4)} at byte 4, expected 4542`);
  if (b[8] !== 0x40) throw protocolError('ASF pong', `message type ${byteHex(b[8] as number)} at byte 8, expected 0x40`);
  const len = b[11] as number;
  if (len < 16) throw protocolError('ASF pong', `data length ${len} at byte 11, expected 16`);
  needBytes(b, 12 + 16, 'ASF pong');
  const entities = b[20] as number;
  return {
    tag: b[9] as number,
    iana: b.readUInt32BE(12),
    oem: b.readUInt32BE(16),
    ipmiSupported: (entities & 0x80) !== 0,
    asfVersion: entities & 0x0f,
    interactions: b[21] as number,
  };
}

/** What a BMC answers to a ping; used by fake BMCs in tests. */
export function encodeAsfPong(p: Omit<AsfPong, 'iana'> & { iana?: number }): Buffer {
  const b = Buffer.alloc(28);
  encodeRmcpHeader(RMCP_CLASS_ASF).copy(b, 0);
  b.writeUInt32BE(ASF_IANA, 4);
  b[8] = 0x40;
  b[9] = p.tag & 0xff;
  b[11] = 16;
  b.writeUInt32BE((p.iana ?? ASF_IANA) >>> 0, 12);
  b.writeUInt32BE(p.oem >>> 0, 16);
  b[20] = (p.ipmiSupported ? 0x80 : 0) | (p.asfVersion & 0x0f);
  b[21] = p.interactions & 0xff;
  return b;
}

// ---------------------------------------------------------------- IPMI 1.5 session wrapper

export interface Ipmi15Packet {
  authType: number;
  sequence: number;
  sessionId: number;
  /** 16 bytes when authType ≠ none. */
  authCode?: Buffer;
  message: Buffer;
}

export function encodeIpmi15(p: Ipmi15Packet): Buffer {
  const withAuth = p.authType !== AUTH_TYPE.none;
  if (withAuth && (!p.authCode || p.authCode.length !== 16)) {
    throw protocolError('1.5 session wrapper', 'an auth code of 16 bytes is needed for an authenticated packet');
  }
  if (p.message.length > 255) throw protocolError('1.5 session wrapper', `message of ${p.message.length} bytes exceeds 255`);
  const idSeq = Buffer.alloc(9);
  idSeq[0] = p.authType;
  idSeq.writeUInt32LE(p.sequence >>> 0, 1);
  idSeq.writeUInt32LE(p.sessionId >>> 0, 5);
  return Buffer.concat([
    encodeRmcpHeader(RMCP_CLASS_IPMI),
    idSeq,
    withAuth ? (p.authCode as Buffer) : Buffer.alloc(0),
    Buffer.from([p.message.length]),
    p.message,
  ]);
}

export function decodeIpmi15(buf: Uint8Array): Ipmi15Packet {
  const h = decodeRmcpHeader(buf);
  if (h.messageClass !== RMCP_CLASS_IPMI) throw protocolError('1.5 session wrapper', `RMCP class ${byteHex(h.messageClass)} at byte 3, expected 0x07`);
  needBytes(buf, 14, '1.5 session wrapper');
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const authType = b[4] as number;
  if (authType === AUTH_TYPE.rmcpPlus) throw protocolError('1.5 session wrapper', 'auth type 0x06 at byte 4 is an RMCP+ packet');
  if (![0, 1, 2, 4, 5].includes(authType)) throw protocolError('1.5 session wrapper', `unknown auth type ${byteHex(authType)} at byte 4`);
  const sequence = b.readUInt32LE(5);
  const sessionId = b.readUInt32LE(9);
  let off = 13;
  let authCode: Buffer | undefined;
  if (authType !== AUTH_TYPE.none) {
    needBytes(b, off + 17, '1.5 session wrapper with auth code');
    authCode = Buffer.from(b.subarray(off, off + 16));
    off += 16;
  }
  const len = b[off] as number;
  off += 1;
  // Some BMCs add one legacy pad byte after the message, so a longer packet is accepted.
  if (b.length < off + len) throw protocolError('1.5 session wrapper', `message length ${len} at byte ${off - 1} but only ${b.length - off} bytes follow`);
  const message = Buffer.from(b.subarray(off, off + len));
  return authCode ? { authType, sequence, sessionId, authCode, message } : { authType, sequence, sessionId, message };
}

// ---------------------------------------------------------------- RMCP+ (IPMI 2.0) session

export interface RmcpPlusPacket {
  payloadType: number;
  encrypted: boolean;
  authenticated: boolean;
  sessionId: number;
  sequence: number;
  /** The payload as on the wire (still encrypted when `encrypted`). */
  payload: Buffer;
  /** Only when authenticated: the trailer's auth code and the bytes it covers (auth type … next header). */
  authCode?: Buffer;
  signed?: Buffer;
}

export interface RmcpPlusOut {
  payloadType: number;
  encrypted?: boolean;
  sessionId: number;
  sequence: number;
  payload: Buffer;
}

/**
 * Builds a packet; `sign`, when given, marks it authenticated and returns the auth code over
 * the bytes from the auth type through the next-header byte.
 */
export function encodeRmcpPlus(p: RmcpPlusOut, sign?: (covered: Buffer) => Buffer): Buffer {
  if (p.payload.length > 0xffff) throw protocolError('RMCP+ session header', `payload of ${p.payload.length} bytes exceeds 65535`);
  if (p.payloadType === PAYLOAD.oem) throw protocolError('RMCP+ session header', 'OEM explicit payloads are not supported');
  const head = Buffer.alloc(12);
  head[0] = AUTH_TYPE.rmcpPlus;
  head[1] = (p.payloadType & 0x3f) | (p.encrypted ? 0x80 : 0) | (sign ? 0x40 : 0);
  head.writeUInt32LE(p.sessionId >>> 0, 2);
  head.writeUInt32LE(p.sequence >>> 0, 6);
  head.writeUInt16LE(p.payload.length, 10);
  const rmcp = encodeRmcpHeader(RMCP_CLASS_IPMI);
  if (!sign) return Buffer.concat([rmcp, head, p.payload]);
  const padLen = (4 - ((12 + p.payload.length + 2) % 4)) % 4;
  const covered = Buffer.concat([head, p.payload, Buffer.alloc(padLen, 0xff), Buffer.from([padLen, 0x07])]);
  return Buffer.concat([rmcp, covered, sign(covered)]);
}

/**
 * Splits an RMCP+ packet. `authCodeLength` is the integrity algorithm's auth code size for an
 * active session (12 or 16); it is only used when the packet says it is authenticated.
 */
export function decodeRmcpPlus(buf: Uint8Array, authCodeLength = 0): RmcpPlusPacket {
  const h = decodeRmcpHeader(buf);
  if (h.messageClass !== RMCP_CLASS_IPMI) throw protocolError('RMCP+ session header', `RMCP class ${byteHex(h.messageClass)} at byte 3, expected 0x07`);
  needBytes(buf, 16, 'RMCP+ session header');
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  if (b[4] !== AUTH_TYPE.rmcpPlus) throw protocolError('RMCP+ session header', `auth type ${byteHex(b[4] as number)} at byte 4, expected 0x06`);
  const pt = b[5] as number;
  const payloadType = pt & 0x3f;
  if (payloadType === PAYLOAD.oem) throw protocolError('RMCP+ session header', 'OEM explicit payload (type 0x02) at byte 5 is not supported');
  const encrypted = (pt & 0x80) !== 0;
  const authenticated = (pt & 0x40) !== 0;
  const sessionId = b.readUInt32LE(6);
  const sequence = b.readUInt32LE(10);
  const len = b.readUInt16LE(14);
  const end = 16 + len;
  if (b.length < end) throw protocolError('RMCP+ session header', `payload length ${len} at byte 14 but only ${b.length - 16} bytes follow`);
  const payload = Buffer.from(b.subarray(16, end));
  if (!authenticated) return { payloadType, encrypted, authenticated, sessionId, sequence, payload };
  if (authCodeLength <= 0) throw protocolError('RMCP+ trailer', 'authenticated packet but no integrity algorithm is in use');
  const trailer = b.length - end;
  const padLen = trailer - 2 - authCodeLength;
  if (padLen < 0 || padLen > 3) {
    throw protocolError('RMCP+ trailer', `${trailer} bytes after the payload (byte ${end}) do not fit pad + 2 + ${authCodeLength}-byte auth code`);
  }
  for (let i = 0; i < padLen; i++) {
    if (b[end + i] !== 0xff) throw protocolError('RMCP+ trailer', `integrity pad byte ${end + i} is ${byteHex(b[end + i] as number)}, expected 0xff`);
  }
  if (b[end + padLen] !== padLen) throw protocolError('RMCP+ trailer', `pad length byte ${end + padLen} is ${b[end + padLen]}, expected ${padLen}`);
  if (b[end + padLen + 1] !== 0x07) throw protocolError('RMCP+ trailer', `next header byte ${end + padLen + 1} is ${byteHex(b[end + padLen + 1] as number)}, expected 0x07`);
  const macStart = end + padLen + 2;
  return {
    payloadType,
    encrypted,
    authenticated,
    sessionId,
    sequence,
    payload,
    authCode: Buffer.from(b.subarray(macStart)),
    signed: Buffer.from(b.subarray(4, macStart)),
  };
}

/** Which framing a received IPMI-class packet uses, without decoding it further. */
export function packetKind(buf: Uint8Array): 'asf' | 'ipmi15' | 'rmcp+' | undefined {
  if (buf.length < 5 || buf[0] !== RMCP_VERSION) return undefined;
  const cls = (buf[3] as number) & 0x7f;
  if (cls === RMCP_CLASS_ASF) return 'asf';
  if (cls !== RMCP_CLASS_IPMI) return undefined;
  return buf[4] === AUTH_TYPE.rmcpPlus ? 'rmcp+' : 'ipmi15';
}
