/**
 * Session establishment (RMCP+ with RAKP, or IPMI 1.5 challenge/activate) and per-session
 * packet wrap/unwrap. No sockets: the client hands in a Link that sends a packet, retries and
 * waits for the first received packet a matcher accepts.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { BlackstartError } from '../../core/errors';
import {
  AUTH_TYPE,
  CMD,
  NETFN,
  PAYLOAD,
  decodeActivateSession,
  decodeIpmi15,
  decodeOpenSessionResponse,
  decodeRakp2,
  decodeRakp4,
  decodeResponse,
  decodeRmcpPlus,
  decodeSessionChallenge,
  encodeActivateSessionRequest,
  encodeIpmi15,
  encodeOpenSessionRequest,
  encodeRakp1,
  encodeRakp3,
  encodeRequest,
  encodeRmcpPlus,
  encodeSessionChallengeRequest,
  rakpStatusText,
  usernameBytes,
  type Algorithms,
  type IpmiResponse,
} from './codec';
import { completionError } from './completion';
import {
  CIPHER_SUITES,
  authCodeLength,
  decryptPayload,
  encryptPayload,
  integrityCode,
  ipmi15AuthCode,
  rakp2AuthCode,
  rakp3AuthCode,
  rakp4Icv,
  sameBytes,
  sessionKeys,
  type RakpContext,
} from './crypto';

export interface ExchangeOptions {
  timeoutMs?: number;
  attempts?: number;
}

/** What the client offers the session code: a request/response primitive over the transport. */
export interface Link {
  /** host:port, for error messages. */
  readonly where: string;
  /**
   * Sends `build()` (called again for each retransmission) until `accept` returns a value for a
   * received packet. `accept` returns undefined for packets that are not the answer, and throws
   * to end the exchange with that error.
   */
  exchange<T>(what: string, build: () => Buffer, accept: (pkt: Buffer) => T | undefined, opts?: ExchangeOptions): Promise<T>;
  nextRqSeq(): number;
}

/** An active session: turns IPMI messages into packets and back. */
export interface Session {
  readonly kind: 'rmcp+' | 'ipmi15';
  readonly suite: number | 'ipmi15';
  /** The BMC's session ID, which Close Session names. */
  readonly bmcSessionId: number;
  wrap(message: Buffer): Buffer;
  /** The IPMI message inside, or undefined when the packet is not for this session, forged or replayed. */
  unwrap(packet: Buffer): Buffer | undefined;
}

/**
 * Inbound sequence check: accepts numbers up to 32 ahead of the highest seen and unseen ones up
 * to 32 behind it, so reordered packets pass but a replayed or duplicated one is dropped.
 */
export class SequenceWindow {
  private highest: number | undefined;
  private seen = 0;

  accept(seq: number): boolean {
    if (this.highest === undefined) {
      this.highest = seq >>> 0;
      this.seen = 1;
      return true;
    }
    const d = ((seq >>> 0) - this.highest) | 0;
    if (d === 0) return false;
    if (d > 0) {
      if (d > 32) return false;
      this.seen = d >= 32 ? 1 : ((this.seen << d) | 1) >>> 0;
      this.highest = seq >>> 0;
      return true;
    }
    if (-d >= 32) return false;
    const bit = (1 << -d) >>> 0;
    if (this.seen & bit) return false;
    this.seen = (this.seen | bit) >>> 0;
    return true;
  }
}

function nextSeq(n: number): number {
  const v = (n + 1) >>> 0;
  return v === 0 ? 1 : v;
}

export class RmcpPlusSession implements Session {
  readonly kind = 'rmcp+' as const;
  private outSeq = 0;
  private readonly window = new SequenceWindow();
  private readonly authLen: number;

  constructor(
    readonly suite: number,
    private readonly algs: Algorithms,
    readonly consoleSessionId: number,
    readonly bmcSessionId: number,
    private readonly k1: Buffer,
    private readonly k2: Buffer,
  ) {
    this.authLen = authCodeLength(algs.integrity);
  }

  wrap(message: Buffer): Buffer {
    // Starts at 1: there is no initial sequence negotiation in IPMI 2.0.
    this.outSeq = nextSeq(this.outSeq);
    const encrypted = this.algs.confidentiality !== 0;
    const payload = encrypted ? encryptPayload(this.k2, message) : message;
    const sign = this.authLen > 0 ? (covered: Buffer) => integrityCode(this.algs.integrity, this.k1, covered) : undefined;
    return encodeRmcpPlus({ payloadType: PAYLOAD.ipmi, encrypted, sessionId: this.bmcSessionId, sequence: this.outSeq, payload }, sign);
  }

  unwrap(packet: Buffer): Buffer | undefined {
    let p;
    try {
      p = decodeRmcpPlus(packet, this.authLen);
    } catch {
      return undefined;
    }
    if (p.payloadType !== PAYLOAD.ipmi || p.sessionId !== this.consoleSessionId) return undefined;
    if (this.authLen > 0) {
      if (!p.authenticated || !p.authCode || !p.signed) return undefined;
      if (!sameBytes(integrityCode(this.algs.integrity, this.k1, p.signed), p.authCode)) return undefined;
    }
    if (this.algs.confidentiality !== 0 && !p.encrypted) return undefined;
    let message = p.payload;
    if (p.encrypted) {
      try {
        message = decryptPayload(this.k2, p.payload);
      } catch {
        return undefined;
      }
    }
    // Only after the integrity check, so a forged packet cannot advance the window.
    if (!this.window.accept(p.sequence)) return undefined;
    return message;
  }
}

export class Ipmi15Session implements Session {
  readonly kind = 'ipmi15' as const;
  readonly suite = 'ipmi15' as const;
  private readonly window = new SequenceWindow();

  constructor(
    private readonly authType: number,
    readonly bmcSessionId: number,
    private outSeq: number,
    private readonly password: Buffer,
  ) {}

  wrap(message: Buffer): Buffer {
    const sequence = this.outSeq;
    this.outSeq = nextSeq(this.outSeq);
    const authCode = this.authType === AUTH_TYPE.none ? undefined : ipmi15AuthCode(this.authType, this.password, this.bmcSessionId, message, sequence);
    return encodeIpmi15({ authType: this.authType, sequence, sessionId: this.bmcSessionId, message, ...(authCode ? { authCode } : {}) });
  }

  unwrap(packet: Buffer): Buffer | undefined {
    let p;
    try {
      p = decodeIpmi15(packet);
    } catch {
      return undefined;
    }
    if (p.sessionId !== this.bmcSessionId) return undefined;
    if (p.authType !== AUTH_TYPE.none) {
      if (p.authType !== this.authType || !p.authCode) return undefined;
      const want = ipmi15AuthCode(p.authType, this.password, p.sessionId, p.message, p.sequence);
      if (!sameBytes(want, p.authCode)) return undefined;
    }
    if (!this.window.accept(p.sequence)) return undefined;
    return p.message;
  }
}

/** A session-less packet (IPMI 1.5 framing, auth none, session 0) for the commands before login. */
export const SESSIONLESS: Session = {
  kind: 'ipmi15',
  suite: 'ipmi15',
  bmcSessionId: 0,
  wrap: (message) => encodeIpmi15({ authType: AUTH_TYPE.none, sequence: 0, sessionId: 0, message }),
  unwrap: (packet) => {
    try {
      const p = decodeIpmi15(packet);
      return p.sessionId === 0 ? p.message : undefined;
    } catch {
      return undefined;
    }
  },
};

const COMMAND_NAMES: Record<string, string> = {
  '6/1': 'Get Device ID',
  '6/56': 'Get Channel Auth Capabilities',
  '6/57': 'Get Session Challenge',
  '6/58': 'Activate Session',
  '6/59': 'Set Session Privilege Level',
  '6/60': 'Close Session',
  '6/84': 'Get Channel Cipher Suites',
  '0/1': 'Get Chassis Status',
  '0/2': 'Chassis Control',
};

export function commandName(netFn: number, cmd: number): string {
  return COMMAND_NAMES[`${netFn}/${cmd}`] ?? `netFn 0x${netFn.toString(16)} cmd 0x${cmd.toString(16)}`;
}

/** One IPMI request over `session`; resolves with the response whatever its completion code. */
export function sendRequest(
  link: Link,
  session: Session,
  req: { netFn: number; cmd: number; data?: Buffer; lun?: number },
  opts?: ExchangeOptions,
): Promise<IpmiResponse> {
  const rqSeq = link.nextRqSeq();
  const message = encodeRequest({ ...req, rqSeq });
  return link.exchange(
    `${commandName(req.netFn, req.cmd)} at ${link.where}`,
    () => session.wrap(message),
    (pkt) => {
      const inner = session.unwrap(pkt);
      if (!inner) return undefined;
      let r: IpmiResponse;
      try {
        r = decodeResponse(inner);
      } catch {
        return undefined;
      }
      return r.rqSeq === rqSeq && r.cmd === req.cmd && r.netFn === req.netFn ? r : undefined;
    },
    opts,
  );
}

/** Like sendRequest, but a non-zero completion code becomes the matching error. */
export async function command(
  link: Link,
  session: Session,
  req: { netFn: number; cmd: number; data?: Buffer; lun?: number },
  opts?: ExchangeOptions & { specific?: Record<number, string> },
): Promise<Buffer> {
  const r = await sendRequest(link, session, req, opts);
  if (r.completionCode !== 0) throw completionError(r.completionCode, `${commandName(req.netFn, req.cmd)} at ${link.where}`, opts?.specific);
  return r.data;
}

export interface Credentials {
  username: string;
  password: Buffer;
  kg?: Buffer;
  /** 2 user, 3 operator, 4 administrator. */
  privilege: number;
}

const PRIVILEGE_SPECIFIC = {
  0x80: 'requested level not available for this user',
  0x81: 'requested level exceeds the user or channel limit',
  0x82: 'cannot disable user-level authentication',
};

function rakpError(step: string, status: number, where: string): BlackstartError {
  const text = `IPMI ${step} at ${where} refused: ${rakpStatusText(status)} (status 0x${status.toString(16).padStart(2, '0')})`;
  if (status === 0x0d || status === 0x0e || status === 0x0f || status === 0x02) return new BlackstartError('AUTH', text);
  if (status === 0x09 || status === 0x0a || status === 0x0b) return new BlackstartError('REFUSED', text);
  if ([0x03, 0x04, 0x05, 0x06, 0x07, 0x10, 0x11].includes(status)) return new BlackstartError('UNSUPPORTED', text);
  return new BlackstartError('PROTOCOL', text);
}

function rmcpPayload(pkt: Buffer, type: number): Buffer | undefined {
  try {
    const p = decodeRmcpPlus(pkt);
    return p.payloadType === type && p.sessionId === 0 ? p.payload : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Open Session, RAKP 1–4 and Set Session Privilege Level for `suite`. A wrong password shows as
 * a RAKP 2 auth code that does not verify (AUTH, not retried).
 */
export async function openRmcpPlus(link: Link, suite: number, cred: Credentials, opts?: ExchangeOptions): Promise<RmcpPlusSession> {
  const algs = CIPHER_SUITES[suite];
  if (!algs) throw new BlackstartError('UNSUPPORTED', `IPMI cipher suite ${suite} is not supported by this client (use 0, 1, 2, 3 or 17)`);
  const where = link.where;
  const consoleSessionId = randomInt(1, 0xffffffff);
  const tag = randomInt(0, 256);
  const username = usernameBytes(cred.username).subarray(0, Buffer.byteLength(cred.username));
  if (cred.password.length > 20) throw new BlackstartError('BAD_REQUEST', `IPMI password for ${cred.username}@${where} is longer than 20 bytes`);

  const openReq = encodeRmcpPlus({ payloadType: PAYLOAD.openSessionRequest, sessionId: 0, sequence: 0, payload: encodeOpenSessionRequest({ tag, privilege: cred.privilege, consoleSessionId, ...algs }) });
  const open = await link.exchange(
    `Open Session (cipher suite ${suite}) at ${where}`,
    () => openReq,
    (pkt) => {
      const p = rmcpPayload(pkt, PAYLOAD.openSessionResponse);
      if (!p) return undefined;
      const r = decodeOpenSessionResponse(p);
      if (r.tag !== tag || (r.consoleSessionId !== undefined && r.consoleSessionId !== consoleSessionId)) return undefined;
      if (r.status !== 0) throw rakpError(`Open Session (cipher suite ${suite})`, r.status, where);
      return r;
    },
    opts,
  );
  const got = open.algorithms as Algorithms;
  if (got.auth !== algs.auth || got.integrity !== algs.integrity || got.confidentiality !== algs.confidentiality) {
    throw new BlackstartError('PROTOCOL', `IPMI Open Session at ${where}: BMC chose algorithms ${got.auth}/${got.integrity}/${got.confidentiality}, not those of cipher suite ${suite}`);
  }
  const bmcSessionId = open.bmcSessionId as number;

  const consoleRandom = randomBytes(16);
  // 0x10: name-only lookup, as ipmitool does; the requested level is in the low bits.
  const role = 0x10 | cred.privilege;
  const rakp1 = encodeRmcpPlus({ payloadType: PAYLOAD.rakp1, sessionId: 0, sequence: 0, payload: encodeRakp1({ tag, bmcSessionId, consoleRandom, role, username }) });
  const ctx: RakpContext = { auth: algs.auth, password: cred.password, consoleSessionId, bmcSessionId, consoleRandom, role, username, bmcRandom: Buffer.alloc(16), bmcGuid: Buffer.alloc(16), ...(cred.kg ? { kg: cred.kg } : {}) };
  const rakp2 = await link.exchange(
    `RAKP 1 (cipher suite ${suite}) at ${where}`,
    () => rakp1,
    (pkt) => {
      const p = rmcpPayload(pkt, PAYLOAD.rakp2);
      if (!p) return undefined;
      const r = decodeRakp2(p);
      if (r.tag !== tag || (r.consoleSessionId !== undefined && r.consoleSessionId !== consoleSessionId)) return undefined;
      if (r.status !== 0) throw rakpError('RAKP 2', r.status, where);
      return r;
    },
    opts,
  );
  ctx.bmcRandom = rakp2.bmcRandom;
  ctx.bmcGuid = rakp2.bmcGuid;
  if (!sameBytes(rakp2AuthCode(ctx), rakp2.authCode)) {
    // Tell the BMC, so it frees the half-open session now instead of after its timeout.
    const fail = encodeRmcpPlus({ payloadType: PAYLOAD.rakp3, sessionId: 0, sequence: 0, payload: encodeRakp3({ tag, status: 0x0f, bmcSessionId, authCode: Buffer.alloc(0) }) });
    await link.exchange('RAKP 3 (failure notice)', () => fail, () => undefined, { attempts: 1, timeoutMs: 0 }).catch(() => undefined);
    throw new BlackstartError('AUTH', `IPMI login as ${cred.username} at ${where} failed: the BMC's RAKP 2 proof does not match (wrong password, or wrong user name)`);
  }
  const keys = sessionKeys(ctx);
  const rakp3 = encodeRmcpPlus({ payloadType: PAYLOAD.rakp3, sessionId: 0, sequence: 0, payload: encodeRakp3({ tag, status: 0, bmcSessionId, authCode: rakp3AuthCode(ctx) }) });
  await link.exchange(
    `RAKP 3 (cipher suite ${suite}) at ${where}`,
    () => rakp3,
    (pkt) => {
      const p = rmcpPayload(pkt, PAYLOAD.rakp4);
      if (!p) return undefined;
      const r = decodeRakp4(p);
      if (r.tag !== tag || (r.consoleSessionId !== undefined && r.consoleSessionId !== consoleSessionId)) return undefined;
      if (r.status !== 0) throw rakpError('RAKP 4', r.status, where);
      if (!sameBytes(rakp4Icv(ctx, keys.sik), r.integrityCheck)) {
        throw new BlackstartError('AUTH', `IPMI login as ${cred.username} at ${where} failed: the RAKP 4 integrity check value does not match (wrong Kg?)`);
      }
      return r;
    },
    opts,
  );
  const session = new RmcpPlusSession(suite, algs, consoleSessionId, bmcSessionId, keys.k1, keys.k2);
  await setPrivilege(link, session, cred, opts);
  return session;
}

async function setPrivilege(link: Link, session: Session, cred: Credentials, opts?: ExchangeOptions): Promise<void> {
  // Sessions start at User level; anything higher must be asked for.
  if (cred.privilege <= 2) return;
  try {
    await command(link, session, { netFn: NETFN.app, cmd: CMD.setSessionPrivilege, data: Buffer.from([cred.privilege]) }, { ...opts, specific: PRIVILEGE_SPECIFIC });
  } catch (err) {
    if (err instanceof BlackstartError && err.code === 'PROTOCOL' && /0x8[01]/.test(err.message)) {
      throw new BlackstartError('REFUSED', `${err.message}: ${cred.username} may not use this privilege level`);
    }
    throw err;
  }
}

/** IPMI 1.5: Get Session Challenge, Activate Session, Set Session Privilege Level. */
export async function openIpmi15(link: Link, authType: number, cred: Credentials, opts?: ExchangeOptions): Promise<Ipmi15Session> {
  const where = link.where;
  let challenge;
  try {
    challenge = decodeSessionChallenge(
      await command(link, SESSIONLESS, { netFn: NETFN.app, cmd: CMD.getSessionChallenge, data: encodeSessionChallengeRequest(authType, cred.username) }, { ...opts, specific: { 0x81: 'invalid user name', 0x82: 'null user name not enabled' } }),
    );
  } catch (err) {
    if (err instanceof BlackstartError && /0x8[12]/.test(err.message)) throw new BlackstartError('AUTH', `IPMI 1.5 login as ${cred.username} at ${where} failed: ${err.message}`);
    throw err;
  }
  const outSeqForBmc = randomInt(1, 0xffffffff);
  const pre = new Ipmi15Session(authType, challenge.tempSessionId, 0, cred.password);
  // The activation packet itself carries sequence 0 and the temporary session ID.
  const rqSeq = link.nextRqSeq();
  const activateMsg = encodeRequest({ netFn: NETFN.app, cmd: CMD.activateSession, rqSeq, data: encodeActivateSessionRequest(authType, cred.privilege, challenge.challenge, outSeqForBmc) });
  const activatePkt = pre.wrap(activateMsg);
  const accept = (pkt: Buffer): IpmiResponse | undefined => {
    let r;
    try {
      r = decodeResponse(decodeIpmi15(pkt).message);
    } catch {
      return undefined;
    }
    return r.rqSeq === rqSeq && r.cmd === CMD.activateSession ? r : undefined;
  };
  // BMCs drop an Activate Session whose auth code is wrong without a word, so silence right
  // after an answered challenge means a wrong password: do not wait out every retry for it.
  const resp = await link.exchange(`Activate Session at ${where}`, () => activatePkt, accept, { ...opts, attempts: Math.min(2, opts?.attempts ?? 2) }).catch((err: unknown) => {
    if (err instanceof BlackstartError && err.code === 'TIMEOUT') {
      throw new BlackstartError('AUTH', `IPMI 1.5 login as ${cred.username} at ${where} failed: the BMC answered Get Session Challenge but ignored Activate Session, which is how it treats a wrong password`);
    }
    throw err;
  });
  if (resp.completionCode !== 0) {
    const err = completionError(resp.completionCode, `Activate Session at ${where}`, { 0x81: 'no session slot available', 0x82: 'no slot available for the given user', 0x83: 'no slot available to support the user', 0x84: 'session sequence number out of range', 0x85: 'invalid session ID in request', 0x86: 'requested privilege level exceeds the limit' });
    if (resp.completionCode === 0x86) throw new BlackstartError('REFUSED', err.message);
    throw new BlackstartError('AUTH', `IPMI 1.5 login as ${cred.username} at ${where} failed: ${err.message}`);
  }
  const act = decodeActivateSession(resp.data);
  const session = new Ipmi15Session(authType, act.sessionId, act.initialInboundSeq, cred.password);
  await setPrivilege(link, session, cred, opts);
  return session;
}
