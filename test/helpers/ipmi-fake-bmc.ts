/**
 * An in-process BMC behind an IpmiTransport, for the cases a real simulator cannot provoke on
 * demand (silence, lost sessions, counting retransmissions). It speaks cipher suite 1 only:
 * RAKP with HMAC-SHA1, then plain IPMI messages, so it stays small.
 */
import { randomBytes } from 'node:crypto';
import {
  PAYLOAD,
  decodeIpmi15,
  decodeRakp1,
  decodeRakp3,
  decodeRequest,
  decodeRmcpPlus,
  encodeIpmi15,
  encodeRakp2,
  encodeRakp4,
  encodeResponse,
  encodeRmcpPlus,
} from '../../src/adapters/ipmi/codec';
import type { IpmiTransport } from '../../src/adapters/ipmi/transport';
import { rakp2AuthCode, rakp3AuthCode, rakp4Icv, sameBytes, sessionKeys, type RakpContext } from '../../src/adapters/ipmi/crypto';

export interface FakeRequest {
  netFn: number;
  cmd: number;
  data: Buffer;
}

export type FakeAnswer = { cc?: number; data?: number[] } | 'drop';

export class FakeBmc {
  password = 'secret';
  /** The BMC key for two-key login, when set. */
  kg: Buffer | undefined;
  /** Per-command override; return undefined for the default answer. */
  handler: (req: FakeRequest) => FakeAnswer | undefined = () => undefined;
  /** Every packet the client sent, in order. */
  readonly received: Buffer[] = [];
  /** Requests handled inside active sessions. */
  readonly requests: FakeRequest[] = [];
  opens = 0;
  rakp1s = 0;
  silent = false;
  /** Answer after this many ms (0: on the next event-loop turn). */
  delayMs = 0;
  inFlight = 0;
  maxInFlight = 0;
  private sessions = new Map<number, number>();
  private pending = new Map<number, RakpContext>();
  private seq = 0;
  private listener: ((b: Buffer) => void) | undefined;

  transport = (): IpmiTransport => ({
    send: (buf) => this.onPacket(buf),
    onMessage: (cb) => {
      this.listener = cb;
    },
    close: () => undefined,
  });

  /** As after a BMC restart: active sessions are gone and their packets go unanswered. */
  forgetSessions(): void {
    this.sessions.clear();
  }

  private reply(buf: Buffer): void {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const deliver = (): void => {
      this.inFlight--;
      this.listener?.(buf);
    };
    if (this.delayMs > 0) setTimeout(deliver, this.delayMs);
    else setImmediate(deliver);
  }

  private onPacket(buf: Buffer): void {
    this.received.push(Buffer.from(buf));
    if (this.silent) return;
    if (buf[4] !== 0x06) return this.onIpmi15(buf);
    const p = decodeRmcpPlus(buf);
    const out = (type: number, payload: Buffer): void => this.reply(encodeRmcpPlus({ payloadType: type, sessionId: 0, sequence: 0, payload }));
    if (p.payloadType === PAYLOAD.openSessionRequest) {
      this.opens++;
      const bmcSid = 0x1000 + this.opens;
      const consoleSid = p.payload.readUInt32LE(4);
      this.pending.set(bmcSid, { auth: p.payload[12] as number } as RakpContext);
      const rsp = Buffer.alloc(36);
      rsp[0] = p.payload[0] as number;
      rsp[2] = 4;
      rsp.writeUInt32LE(consoleSid, 4);
      rsp.writeUInt32LE(bmcSid, 8);
      p.payload.copy(rsp, 12, 8, 32);
      this.pending.get(bmcSid)!.consoleSessionId = consoleSid;
      return out(PAYLOAD.openSessionResponse, rsp);
    }
    if (p.payloadType === PAYLOAD.rakp1) {
      this.rakp1s++;
      const r = decodeRakp1(p.payload);
      const ctx = this.pending.get(r.bmcSessionId);
      if (!ctx) return;
      Object.assign(ctx, {
        password: Buffer.from(this.password), bmcSessionId: r.bmcSessionId, consoleRandom: r.consoleRandom, bmcRandom: randomBytes(16),
        bmcGuid: Buffer.alloc(16, 0xab), role: r.role, username: r.username,
        ...(this.kg ? { kg: this.kg } : {}),
      });
      return out(PAYLOAD.rakp2, encodeRakp2({ tag: r.tag, status: 0, consoleSessionId: ctx.consoleSessionId, bmcRandom: ctx.bmcRandom, bmcGuid: ctx.bmcGuid, authCode: rakp2AuthCode(ctx) }));
    }
    if (p.payloadType === PAYLOAD.rakp3) {
      const r = decodeRakp3(p.payload);
      const ctx = this.pending.get(r.bmcSessionId);
      if (!ctx || r.status !== 0) return;
      const ok = sameBytes(rakp3AuthCode(ctx), r.authCode);
      const icv = rakp4Icv(ctx, sessionKeys(ctx).sik);
      if (ok) this.sessions.set(r.bmcSessionId, ctx.consoleSessionId);
      return out(PAYLOAD.rakp4, encodeRakp4({ tag: r.tag, status: ok ? 0 : 0x0f, consoleSessionId: ctx.consoleSessionId, integrityCheck: ok ? icv : Buffer.alloc(0) }));
    }
    if (p.payloadType === PAYLOAD.ipmi) {
      const consoleSid = this.sessions.get(p.sessionId);
      if (consoleSid === undefined) return;
      const msg = this.answer(p.payload);
      if (msg) this.reply(encodeRmcpPlus({ payloadType: PAYLOAD.ipmi, sessionId: consoleSid, sequence: ++this.seq, payload: msg }));
    }
  }

  private onIpmi15(buf: Buffer): void {
    const p = decodeIpmi15(buf);
    const req = decodeRequest(p.message);
    if (req.cmd === 0x38) {
      const data = [0x01, 0x97, 0x04, 0x02, 0, 0, 0, 0];
      this.reply(encodeIpmi15({ authType: 0, sequence: 0, sessionId: 0, message: encodeResponse({ ...req, completionCode: 0, data: Buffer.from(data) }) }));
    }
    if (req.cmd === 0x54) {
      // Lists suites 0 and 1 only, so 'auto' lands on 1, the one suite this fake speaks.
      const data = [0x01, 0xc0, 0x00, 0x00, 0x40, 0x80, 0xc0, 0x01, 0x01, 0x40, 0x80];
      this.reply(encodeIpmi15({ authType: 0, sequence: 0, sessionId: 0, message: encodeResponse({ ...req, completionCode: 0, data: Buffer.from(data) }) }));
    }
  }

  private answer(message: Buffer): Buffer | undefined {
    const req = decodeRequest(message);
    this.requests.push({ netFn: req.netFn, cmd: req.cmd, data: req.data });
    const custom = this.handler({ netFn: req.netFn, cmd: req.cmd, data: req.data });
    if (custom === 'drop') return undefined;
    let data: number[] = [];
    if (!custom) {
      if (req.netFn === 6 && req.cmd === 0x3b) data = [req.data[0] as number];
      if (req.netFn === 6 && req.cmd === 0x01) data = [0x20, 0x81, 0x02, 0x11, 0x02, 0xbf, 0x57, 0x01, 0x00, 0x34, 0x12];
      if (req.netFn === 0 && req.cmd === 0x01) data = [0x01, 0x00, 0x00];
    }
    return encodeResponse({ netFn: req.netFn, cmd: req.cmd, rqSeq: req.rqSeq, lun: req.lun, completionCode: custom?.cc ?? 0, data: Buffer.from(custom?.data ?? data) });
  }
}
