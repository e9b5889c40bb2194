/**
 * The IPMI LAN client: one persistent session per BMC, requests serialized through a queue,
 * retransmission with a per-attempt timeout, keep-alive while idle and transparent re-open when
 * the session is lost (for example the BMC restarted).
 *
 * Re-send policy after a re-open: a request whose every attempt timed out may still have been
 * carried out (only the answers were lost). Reads and idempotent commands (chassis power on/off)
 * are sent again in the new session; power cycle, hard reset and soft shutdown are not, and fail
 * with TIMEOUT saying the outcome is unknown, so a host is never reset twice.
 */
import { systemClock, type Clock, type TimerHandle } from '../../core/clock';
import { BlackstartError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import {
  AUTH_TYPE,
  CHASSIS_ACTION,
  CMD,
  NETFN,
  PRIVILEGE,
  cipherSuitePage,
  decodeAuthCaps,
  decodeChassisStatus,
  decodeCipherSuites,
  decodeDeviceId,
  encodeAuthCapsRequest,
  encodeCipherSuitesRequest,
  toBuffer,
  type ChannelAuthCaps,
  type ChassisAction,
  type ChassisStatus,
  type DeviceId,
} from './codec';
import { IpmiCompletionError } from './completion';
import { CIPHER_SUITES } from './crypto';
import { SESSIONLESS, command, openIpmi15, openRmcpPlus, type Credentials, type ExchangeOptions, type Link, type Session } from './session';
import { udpTransport, type IpmiTransport } from './transport';

export type { IpmiTransport } from './transport';
export type { ChassisStatus, DeviceId } from './codec';

export type CipherSuiteChoice = 'auto' | 0 | 1 | 2 | 3 | 17 | 'ipmi15';
export type IpmiPrivilege = 'user' | 'operator' | 'administrator';

export interface IpmiClientOptions {
  host: string;
  port?: number;
  username: string;
  password: string;
  privilege?: IpmiPrivilege;
  cipherSuite?: CipherSuiteChoice;
  timeoutMs?: number;
  retries?: number;
  keepAliveMs?: number;
  kg?: Buffer;
  clock?: Clock;
  log?: Logger;
  transport?: (host: string, port: number) => IpmiTransport;
}

/** Preference for 'auto': strongest first; 0 (no authentication) only when asked for by number. */
const AUTO_ORDER = [17, 3, 2, 1] as const;
/** How long 'auto' waits for Get Channel Cipher Suites before assuming suite 3 (ipmitool waits 10 s). */
const CIPHER_SUITES_WAIT_MS = 250;

interface Pending {
  accept: (pkt: Buffer) => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class IpmiClient implements Link {
  readonly label: string;
  readonly where: string;
  private readonly host: string;
  private readonly port: number;
  private readonly cred: Credentials;
  private readonly choice: CipherSuiteChoice;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly keepAliveMs: number;
  private readonly clock: Clock;
  private readonly log: Logger | undefined;
  private readonly makeTransport: (host: string, port: number) => IpmiTransport;

  private transport: IpmiTransport | undefined;
  private session: Session | undefined;
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private queued = 0;
  private rqSeq = 0;
  private keepAliveTimer: TimerHandle | undefined;

  constructor(opts: IpmiClientOptions) {
    this.host = opts.host;
    this.port = opts.port ?? 623;
    this.where = `${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
    this.label = `${opts.username}@${this.where}`;
    this.cred = {
      username: opts.username,
      password: Buffer.from(opts.password, 'utf8'),
      privilege: PRIVILEGE[opts.privilege ?? 'operator'],
      ...(opts.kg ? { kg: Buffer.from(opts.kg) } : {}),
    };
    this.choice = opts.cipherSuite ?? 'auto';
    this.timeoutMs = opts.timeoutMs ?? 1000;
    this.retries = opts.retries ?? 4;
    this.keepAliveMs = opts.keepAliveMs ?? 30_000;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log?.child({ ipmi: this.label });
    this.makeTransport = opts.transport ?? udpTransport;
    if (Buffer.byteLength(opts.username) > 16) throw new BlackstartError('CONFIG', `IPMI user name for ${this.where} is longer than 16 bytes`);
    if (this.cred.password.length > 20) throw new BlackstartError('CONFIG', `IPMI password for ${this.label} is longer than 20 bytes`);
  }

  get activeCipherSuite(): number | 'ipmi15' | undefined {
    return this.session?.suite;
  }

  get sessionKind(): 'rmcp+' | 'ipmi15' | undefined {
    return this.session?.kind;
  }

  open(): Promise<void> {
    return this.enqueue(async () => {
      await this.ensureOpen();
    });
  }

  /** Response data after the completion code; a non-zero completion code throws. */
  request(netFn: number, cmd: number, data?: Uint8Array | number[], opts?: { lun?: number }): Promise<Buffer> {
    const buf = toBuffer(data);
    return this.enqueue(() => this.inSession({ netFn, cmd, data: buf, lun: opts?.lun ?? 0 }, true));
  }

  async deviceId(): Promise<DeviceId> {
    return decodeDeviceId(await this.request(NETFN.app, CMD.getDeviceId));
  }

  async chassisStatus(): Promise<ChassisStatus> {
    return decodeChassisStatus(await this.request(NETFN.chassis, CMD.getChassisStatus));
  }

  async chassisControl(action: ChassisAction): Promise<void> {
    if (!Object.hasOwn(CHASSIS_ACTION, action)) throw new BlackstartError('BAD_REQUEST', `unknown chassis action "${String(action)}" for ${this.label}`);
    const idempotent = action === 'on' || action === 'off';
    await this.enqueue(() => this.inSession({ netFn: NETFN.chassis, cmd: CMD.chassisControl, data: Buffer.from([CHASSIS_ACTION[action]]), lun: 0 }, idempotent));
  }

  /** Sends Close Session when a session is open; safe to call any number of times. */
  close(): Promise<void> {
    this.stopKeepAlive();
    return this.enqueue(async () => {
      this.stopKeepAlive();
      const session = this.session;
      this.session = undefined;
      if (session && session !== SESSIONLESS) {
        const id = Buffer.alloc(4);
        id.writeUInt32LE(session.bmcSessionId >>> 0, 0);
        await command(this, session, { netFn: NETFN.app, cmd: CMD.closeSession, data: id }, { attempts: 1, timeoutMs: Math.min(this.timeoutMs, 500) }).catch(
          (err: unknown) => this.log?.debug({ err: String(err) }, 'IPMI Close Session got no clean answer'),
        );
        this.log?.debug('IPMI session closed');
      }
      const t = this.transport;
      this.transport = undefined;
      await t?.close();
    }, false);
  }

  // ------------------------------------------------------------------ Link

  nextRqSeq(): number {
    this.rqSeq = (this.rqSeq + 1) & 0x3f;
    return this.rqSeq;
  }

  async exchange<T>(what: string, build: () => Buffer, accept: (pkt: Buffer) => T | undefined, opts?: ExchangeOptions): Promise<T> {
    const attempts = opts?.attempts ?? this.retries + 1;
    const timeoutMs = opts?.timeoutMs ?? this.timeoutMs;
    const transport = this.ensureTransport();
    const started = this.clock.now();
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let timer: TimerHandle | undefined;
      const answer = new Promise<{ value: T } | undefined>((resolve, reject) => {
        this.pending = { accept, resolve: (v) => resolve({ value: v as T }), reject };
        timer = this.clock.setTimeout(() => resolve(undefined), timeoutMs);
      });
      try {
        await transport.send(build());
      } catch (err) {
        this.clock.clearTimeout(timer);
        this.pending = undefined;
        throw new BlackstartError('UNREACHABLE', `IPMI ${what}: cannot send to ${this.where}: ${(err as Error).message}`, { cause: err });
      }
      try {
        const got = await answer;
        if (got) return got.value;
      } finally {
        this.clock.clearTimeout(timer);
        this.pending = undefined;
      }
      if (attempt < attempts) this.log?.debug({ what, attempt }, 'IPMI no answer, retransmitting');
    }
    throw new BlackstartError(
      'TIMEOUT',
      `IPMI ${what}: no answer from ${this.where} after ${attempts} attempt${attempts === 1 ? '' : 's'} of ${timeoutMs} ms (${this.clock.now() - started} ms)`,
    );
  }

  // ------------------------------------------------------------------ internals

  private ensureTransport(): IpmiTransport {
    if (this.transport) return this.transport;
    const t = this.makeTransport(this.host, this.port);
    t.onMessage((pkt) => this.onPacket(pkt));
    this.transport = t;
    return t;
  }

  private onPacket(pkt: Buffer): void {
    const p = this.pending;
    if (!p) return;
    let v: unknown;
    try {
      v = p.accept(pkt);
    } catch (err) {
      this.pending = undefined;
      p.reject(err);
      return;
    }
    if (v !== undefined) {
      this.pending = undefined;
      p.resolve(v);
    }
  }

  private enqueue<T>(job: () => Promise<T>, touch = true): Promise<T> {
    this.queued++;
    this.stopKeepAlive();
    const run = this.queue.then(job, job);
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    const done = (): void => {
      this.queued--;
      if (touch && this.queued === 0) this.armKeepAlive();
    };
    run.then(done, done);
    return run;
  }

  private async inSession(req: { netFn: number; cmd: number; data: Buffer; lun: number }, replayable: boolean): Promise<Buffer> {
    const fresh = !this.session;
    const session = await this.ensureOpen();
    try {
      return await command(this, session, req);
    } catch (err) {
      // Only a silent BMC suggests a lost session; any real answer (even an error) means it lives.
      if (fresh || !(err instanceof BlackstartError) || err.code !== 'TIMEOUT' || err instanceof IpmiCompletionError) throw err;
      this.log?.info({ err: err.message }, 'IPMI session lost, opening a new one');
      this.session = undefined;
      const again = await this.ensureOpen();
      if (!replayable) {
        throw new BlackstartError('TIMEOUT', `${err.message}; the session was re-opened but the command was not sent again, because it may already have been carried out`);
      }
      return command(this, again, req);
    }
  }

  private async ensureOpen(): Promise<Session> {
    if (this.session) return this.session;
    const started = this.clock.now();
    const session = await this.negotiate();
    this.session = session;
    this.log?.debug({ suite: session.suite, kind: session.kind, ms: this.clock.now() - started }, 'IPMI session open');
    return session;
  }

  private async negotiate(): Promise<Session> {
    const choice = this.choice;
    if (typeof choice === 'number') return openRmcpPlus(this, choice, this.cred);
    const caps = await this.authCaps();
    if (choice === 'ipmi15' || !caps.ipmi20) return this.openV15(caps);
    const listed = await this.listCipherSuites();
    let candidates: number[];
    if (listed) {
      candidates = AUTO_ORDER.filter((s) => listed.includes(s));
      if (candidates.length === 0) {
        throw new BlackstartError('UNSUPPORTED', `IPMI BMC ${this.where} offers cipher suites [${listed.join(', ')}], none of 17, 3, 2, 1 (set cipher_suite explicitly to use another)`);
      }
    } else {
      candidates = [3, 17, 2, 1];
    }
    let last: unknown;
    for (const suite of candidates) {
      try {
        return await openRmcpPlus(this, suite, this.cred);
      } catch (err) {
        // Only "the BMC does not do these algorithms" moves on; AUTH, TIMEOUT and the rest stop here.
        if (!(err instanceof BlackstartError) || err.code !== 'UNSUPPORTED') throw err;
        this.log?.debug({ suite, err: err.message }, 'IPMI cipher suite refused, trying the next');
        last = err;
      }
    }
    throw last;
  }

  private async authCaps(): Promise<ChannelAuthCaps> {
    const req = (v20: boolean): Promise<Buffer> =>
      command(this, SESSIONLESS, { netFn: NETFN.app, cmd: CMD.getChannelAuthCaps, data: encodeAuthCapsRequest(this.cred.privilege, v20) });
    try {
      return decodeAuthCaps(await req(true));
    } catch (err) {
      // A pre-2.0 BMC rejects the "extended data" bit with a completion code; ask the 1.5 way.
      if (err instanceof IpmiCompletionError) return decodeAuthCaps(await req(false));
      throw err;
    }
  }

  /** The suite IDs the BMC lists, or undefined when it does not answer Get Channel Cipher Suites. */
  private async listCipherSuites(): Promise<number[] | undefined> {
    const opts = { attempts: 1, timeoutMs: Math.min(this.timeoutMs, CIPHER_SUITES_WAIT_MS) };
    const chunks: Buffer[] = [];
    try {
      for (let index = 0; index < 64; index++) {
        const data = await command(this, SESSIONLESS, { netFn: NETFN.app, cmd: CMD.getChannelCipherSuites, data: encodeCipherSuitesRequest(index) }, opts);
        const page = cipherSuitePage(data);
        chunks.push(page.bytes);
        if (page.last) break;
      }
      const suites = decodeCipherSuites(Buffer.concat(chunks)).filter((r) => r.oemIana === undefined).map((r) => r.id);
      this.log?.debug({ suites }, 'IPMI BMC cipher suites');
      return suites;
    } catch (err) {
      if (err instanceof BlackstartError && (err.code === 'TIMEOUT' || err.code === 'UNSUPPORTED' || err.code === 'PROTOCOL')) {
        this.log?.debug({ err: err.message }, 'IPMI no cipher suite list, trying suite 3');
        return undefined;
      }
      throw err;
    }
  }

  private openV15(caps: ChannelAuthCaps): Promise<Session> {
    const authType = caps.authTypes.md5 ? AUTH_TYPE.md5 : caps.authTypes.password ? AUTH_TYPE.password : undefined;
    if (authType === undefined) {
      throw new BlackstartError('UNSUPPORTED', `IPMI BMC ${this.where} offers neither MD5 nor straight-password IPMI 1.5 login, and no IPMI 2.0`);
    }
    return openIpmi15(this, authType, this.cred);
  }

  private armKeepAlive(): void {
    if (this.keepAliveMs <= 0 || !this.session) return;
    this.stopKeepAlive();
    const t = this.clock.setTimeout(() => {
      this.keepAliveTimer = undefined;
      if (!this.session || this.queued > 0) return;
      this.enqueue(async () => {
        const s = this.session;
        if (!s) return;
        try {
          await command(this, s, { netFn: NETFN.app, cmd: CMD.getDeviceId });
        } catch (err) {
          // Next request opens a fresh session instead of waiting out a dead one.
          this.log?.debug({ err: String(err) }, 'IPMI keep-alive failed, dropping the session');
          if (this.session === s) this.session = undefined;
        }
      }).catch(() => undefined);
    }, this.keepAliveMs);
    (t as unknown as { unref?: () => void }).unref?.();
    this.keepAliveTimer = t;
  }

  private stopKeepAlive(): void {
    if (this.keepAliveTimer) this.clock.clearTimeout(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
  }

  /** For tests: whether a keep-alive is scheduled. */
  get keepAliveArmed(): boolean {
    return this.keepAliveTimer !== undefined;
  }
}

export { CIPHER_SUITES };
