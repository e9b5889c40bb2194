/**
 * The IPMI message inside a session packet (request and response, with both checksums) and the
 * commands the client core needs: channel authentication capabilities, cipher suites, session
 * challenge/activation, device ID and chassis status/control.
 */
import { byteHex, checksum, hex, needBytes, protocolError } from './codec-bytes';

export const BMC_ADDR = 0x20;
export const CONSOLE_ADDR = 0x81;

export const NETFN = { chassis: 0x00, sensor: 0x04, app: 0x06, storage: 0x0a, transport: 0x0c } as const;

export const CMD = {
  getDeviceId: 0x01,
  getChannelAuthCaps: 0x38,
  getSessionChallenge: 0x39,
  activateSession: 0x3a,
  setSessionPrivilege: 0x3b,
  closeSession: 0x3c,
  getChannelCipherSuites: 0x54,
  getChassisStatus: 0x01,
  chassisControl: 0x02,
} as const;

export interface IpmiRequest {
  netFn: number;
  cmd: number;
  rqSeq: number;
  lun?: number;
  data?: Buffer;
}

export interface IpmiResponse {
  netFn: number;
  cmd: number;
  rqSeq: number;
  lun: number;
  completionCode: number;
  data: Buffer;
}

export function encodeRequest(r: IpmiRequest): Buffer {
  const data = r.data ?? Buffer.alloc(0);
  const b = Buffer.alloc(7 + data.length);
  b[0] = BMC_ADDR;
  b[1] = ((r.netFn & 0x3f) << 2) | ((r.lun ?? 0) & 0x03);
  b[2] = checksum(b, 0, 2);
  b[3] = CONSOLE_ADDR;
  b[4] = (r.rqSeq & 0x3f) << 2;
  b[5] = r.cmd & 0xff;
  data.copy(b, 6);
  b[b.length - 1] = checksum(b, 3, b.length - 1);
  return b;
}

export function decodeResponse(buf: Uint8Array): IpmiResponse {
  needBytes(buf, 8, 'response message');
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  if (checksum(b, 0, 3) !== 0) throw protocolError('response message', `header checksum byte 2 (${byteHex(b[2] as number)}) is wrong in ${hex(b)}`);
  if (checksum(b, 3, b.length) !== 0) throw protocolError('response message', `body checksum (last byte ${byteHex(b[b.length - 1] as number)}) is wrong in ${hex(b)}`);
  const netFn = (b[1] as number) >> 2;
  if ((netFn & 1) === 0) throw protocolError('response message', `netFn ${byteHex(netFn)} at byte 1 is a request netFn`);
  return {
    netFn: netFn & ~1,
    lun: (b[4] as number) & 0x03,
    rqSeq: (b[4] as number) >> 2,
    cmd: b[5] as number,
    completionCode: b[6] as number,
    data: Buffer.from(b.subarray(7, b.length - 1)),
  };
}

/** The request side, used by the fake BMC in tests and by fixtures' decoding. */
export function decodeRequest(buf: Uint8Array): Required<IpmiRequest> {
  needBytes(buf, 7, 'request message');
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  if (checksum(b, 0, 3) !== 0) throw protocolError('request message', 'header checksum at byte 2 is wrong');
  if (checksum(b, 3, b.length) !== 0) throw protocolError('request message', 'body checksum (last byte) is wrong');
  return { netFn: (b[1] as number) >> 2, lun: (b[1] as number) & 3, rqSeq: (b[4] as number) >> 2, cmd: b[5] as number, data: Buffer.from(b.subarray(6, b.length - 1)) };
}

/** A response message as a BMC builds it (fake BMC, tests). */
export function encodeResponse(r: IpmiResponse): Buffer {
  const b = Buffer.alloc(8 + r.data.length);
  b[0] = CONSOLE_ADDR;
  b[1] = (((r.netFn | 1) & 0x3f) << 2) | (r.lun & 3);
  b[2] = checksum(b, 0, 2);
  b[3] = BMC_ADDR;
  b[4] = ((r.rqSeq & 0x3f) << 2) | (r.lun & 3);
  b[5] = r.cmd;
  b[6] = r.completionCode;
  r.data.copy(b, 7);
  b[b.length - 1] = checksum(b, 3, b.length - 1);
  return b;
}

// ---------------------------------------------------------------- Get Channel Auth Capabilities

export interface ChannelAuthCaps {
  channel: number;
  /** IPMI 1.5 auth types offered. */
  authTypes: { none: boolean; md2: boolean; md5: boolean; password: boolean; oem: boolean };
  kgSet: boolean;
  perMessageAuthDisabled: boolean;
  userLevelAuthDisabled: boolean;
  nonNullUsers: boolean;
  nullUserNonNullPassword: boolean;
  anonymous: boolean;
  ipmi15: boolean;
  ipmi20: boolean;
  oemIana: number;
  oemAux: number;
}

export function encodeAuthCapsRequest(privilege: number, ipmi20 = true): Buffer {
  return Buffer.from([0x0e | (ipmi20 ? 0x80 : 0), privilege & 0x0f]);
}

export function decodeAuthCaps(data: Buffer): ChannelAuthCaps {
  needBytes(data, 8, 'Get Channel Auth Capabilities response');
  const t = data[1] as number;
  const ext = (t & 0x80) !== 0;
  const s = data[2] as number;
  const v = ext ? (data[3] as number) : 0x01;
  return {
    channel: data[0] as number,
    authTypes: { none: (t & 1) !== 0, md2: (t & 2) !== 0, md5: (t & 4) !== 0, password: (t & 0x10) !== 0, oem: (t & 0x20) !== 0 },
    kgSet: (s & 0x20) !== 0,
    perMessageAuthDisabled: (s & 0x10) !== 0,
    userLevelAuthDisabled: (s & 0x08) !== 0,
    nonNullUsers: (s & 0x04) !== 0,
    nullUserNonNullPassword: (s & 0x02) !== 0,
    anonymous: (s & 0x01) !== 0,
    // Without extended data the BMC predates IPMI 2.0 and can only do 1.5.
    ipmi15: !ext || (v & 0x01) !== 0,
    ipmi20: ext && (v & 0x02) !== 0,
    oemIana: (data[4] as number) | ((data[5] as number) << 8) | ((data[6] as number) << 16),
    oemAux: data[7] as number,
  };
}

// ---------------------------------------------------------------- Get Channel Cipher Suites

/** Request for one 16-byte page of the suite list (by cipher suite, payload type IPMI). */
export function encodeCipherSuitesRequest(index: number): Buffer {
  if (!Number.isInteger(index) || index < 0 || index > 63) throw protocolError('Get Channel Cipher Suites', `list index ${index} is not 0..63`);
  return Buffer.from([0x0e, 0x00, 0x80 | index]);
}

/** One page's record bytes (after the channel byte); a page shorter than 16 bytes is the last. */
export function cipherSuitePage(data: Buffer): { channel: number; bytes: Buffer; last: boolean } {
  needBytes(data, 1, 'Get Channel Cipher Suites response');
  if (data.length > 17) throw protocolError('Get Channel Cipher Suites response', `${data.length - 1} record bytes, at most 16 per page`);
  return { channel: data[0] as number, bytes: Buffer.from(data.subarray(1)), last: data.length < 17 };
}

export interface CipherSuiteRecord {
  id: number;
  /** Set for OEM records (start byte 0xC1). */
  oemIana?: number;
  auth: number[];
  integrity: number[];
  confidentiality: number[];
}

/** Parses the concatenated record bytes of all pages into suites. */
export function decodeCipherSuites(bytes: Buffer): CipherSuiteRecord[] {
  const out: CipherSuiteRecord[] = [];
  let i = 0;
  while (i < bytes.length) {
    const start = bytes[i] as number;
    if (start !== 0xc0 && start !== 0xc1) throw protocolError('cipher suite records', `byte ${i} is ${byteHex(start)}, expected a record start 0xc0 or 0xc1`);
    if (i + 1 >= bytes.length) throw protocolError('cipher suite records', `record at byte ${i} has no suite ID`);
    const rec: CipherSuiteRecord = { id: bytes[i + 1] as number, auth: [], integrity: [], confidentiality: [] };
    i += 2;
    if (start === 0xc1) {
      if (i + 3 > bytes.length) throw protocolError('cipher suite records', `OEM record at byte ${i - 2} lacks its 3-byte IANA`);
      rec.oemIana = (bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16);
      i += 3;
    }
    while (i < bytes.length && (bytes[i] as number) < 0xc0) {
      const tag = (bytes[i] as number) >> 6;
      const alg = (bytes[i] as number) & 0x3f;
      if (tag === 0) rec.auth.push(alg);
      else if (tag === 1) rec.integrity.push(alg);
      else rec.confidentiality.push(alg);
      i++;
    }
    out.push(rec);
  }
  return out;
}

// ---------------------------------------------------------------- IPMI 1.5 session commands

export function encodeSessionChallengeRequest(authType: number, username: string): Buffer {
  const b = Buffer.alloc(17);
  b[0] = authType;
  usernameBytes(username).copy(b, 1);
  return b;
}

export function decodeSessionChallenge(data: Buffer): { tempSessionId: number; challenge: Buffer } {
  needBytes(data, 20, 'Get Session Challenge response');
  return { tempSessionId: data.readUInt32LE(0), challenge: Buffer.from(data.subarray(4, 20)) };
}

export function encodeActivateSessionRequest(authType: number, privilege: number, challenge: Buffer, initialOutboundSeq: number): Buffer {
  const b = Buffer.alloc(22);
  b[0] = authType;
  b[1] = privilege;
  challenge.copy(b, 2, 0, 16);
  b.writeUInt32LE(initialOutboundSeq >>> 0, 18);
  return b;
}

export function decodeActivateSession(data: Buffer): { authType: number; sessionId: number; initialInboundSeq: number; maxPrivilege: number } {
  needBytes(data, 10, 'Activate Session response');
  return { authType: (data[0] as number) & 0x0f, sessionId: data.readUInt32LE(1), initialInboundSeq: data.readUInt32LE(5), maxPrivilege: (data[9] as number) & 0x0f };
}

export function usernameBytes(username: string): Buffer {
  const raw = Buffer.from(username, 'utf8');
  if (raw.length > 16) throw protocolError('username', `${raw.length} bytes, IPMI allows at most 16`);
  const b = Buffer.alloc(16);
  raw.copy(b);
  return b;
}

// ---------------------------------------------------------------- Device ID, chassis

export interface DeviceId {
  deviceId: number;
  deviceRevision: number;
  firmware: string;
  ipmiVersion: string;
  manufacturerId: number;
  productId: number;
}

export function decodeDeviceId(data: Buffer): DeviceId {
  needBytes(data, 11, 'Get Device ID response');
  const minor = data[3] as number;
  const ver = data[4] as number;
  return {
    deviceId: data[0] as number,
    deviceRevision: (data[1] as number) & 0x0f,
    // Minor revision is BCD, as ipmitool prints it ("9.08").
    firmware: `${(data[2] as number) & 0x7f}.${minor.toString(16).padStart(2, '0')}`,
    ipmiVersion: `${ver & 0x0f}.${ver >> 4}`,
    manufacturerId: (data[6] as number) | ((data[7] as number) << 8) | ((data[8] as number) << 16),
    productId: data.readUInt16LE(9),
  };
}

export interface ChassisStatus {
  power: 'on' | 'off';
  powerOverload: boolean;
  interlock: boolean;
  powerFault: boolean;
  controlFault: boolean;
  restorePolicy: 'always-off' | 'previous' | 'always-on' | 'unknown';
  lastPowerEvent: string[];
  intrusion: boolean;
  frontPanelLockout: boolean;
  driveFault: boolean;
  coolingFault: boolean;
}

const RESTORE = ['always-off', 'previous', 'always-on', 'unknown'] as const;
const LAST_EVENT = ['ac-failed', 'overload', 'interlock', 'fault', 'ipmi-command'] as const;

export function decodeChassisStatus(data: Buffer): ChassisStatus {
  needBytes(data, 3, 'Get Chassis Status response');
  const a = data[0] as number;
  const e = data[1] as number;
  const m = data[2] as number;
  return {
    power: a & 1 ? 'on' : 'off',
    powerOverload: (a & 2) !== 0,
    interlock: (a & 4) !== 0,
    powerFault: (a & 8) !== 0,
    controlFault: (a & 0x10) !== 0,
    restorePolicy: RESTORE[(a >> 5) & 3] as ChassisStatus['restorePolicy'],
    lastPowerEvent: LAST_EVENT.filter((_, i) => (e & (1 << i)) !== 0),
    intrusion: (m & 1) !== 0,
    frontPanelLockout: (m & 2) !== 0,
    driveFault: (m & 4) !== 0,
    coolingFault: (m & 8) !== 0,
  };
}

export const CHASSIS_ACTION = { off: 0, on: 1, cycle: 2, reset: 3, soft: 5 } as const;
export type ChassisAction = keyof typeof CHASSIS_ACTION;

export const PRIVILEGE = { callback: 1, user: 2, operator: 3, administrator: 4 } as const;
