/**
 * The only I/O of the NUT source: one TCP connection to upsd (optionally upgraded with STARTTLS),
 * one request in flight at a time, each with its own timeout. The socket comes from an injected
 * transport so tests can drive the client over an in-memory stream.
 */
import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Duplex } from 'node:stream';
import { systemClock, type Clock } from '../../../core/clock';
import { tcpConnect } from '../../tcp';
import { BlackstartError, toBlackstartError } from '../../../core/errors';
import {
  LineSplitter,
  ReplyAssembler,
  describeReply,
  encodeCommand,
  getVarOf,
  isOk,
  namesOf,
  numLoginsOf,
  nutError,
  upsListOf,
  varsOf,
  type Decoded,
  type Reply,
  type UpsEntry,
} from './codec';

export interface NutTransport {
  /** A connected stream to host:port. Should give up when `signal` aborts. */
  connect(host: string, port: number, signal: AbortSignal): Promise<Duplex>;
  /** The same connection after a TLS handshake (`ca` given: the server must prove itself with it). */
  startTls(socket: Duplex, opts: { host: string; ca?: string | Buffer; signal: AbortSignal }): Promise<Duplex>;
}

export const netTransport: NutTransport = {
  connect: tcpConnect,
  startTls: (socket, { host, ca, signal }) =>
    new Promise((resolve, reject) => {
      const secure = tlsConnect({
        socket: socket as import('node:net').Socket,
        // No CA: encrypt anyway (upsd's certificates are mostly self-made), but trust nothing.
        rejectUnauthorized: ca !== undefined,
        ...(ca !== undefined ? { ca } : {}),
        ...(isIP(host) === 0 ? { servername: host } : {}),
      });
      const onAbort = (): void => {
        secure.destroy();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      secure.once('secureConnect', () => {
        signal.removeEventListener('abort', onAbort);
        resolve(secure);
      });
      secure.once('error', (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      });
    }),
};

export interface NutClientOptions {
  host: string;
  port: number;
  /** Longest one request (and the connect, and the TLS handshake) may take. */
  timeoutMs: number;
  clock?: Clock;
  transport?: NutTransport;
  /** How errors name the server; default `nut://host:port`. */
  label?: string;
}

export type TlsMode = 'auto' | 'required' | 'off';

interface Pending {
  what: string;
  assembler: ReplyAssembler;
  resolve: (reply: Reply) => void;
  reject: (err: BlackstartError) => void;
  timer: ReturnType<Clock['setTimeout']>;
}

export class NutClient {
  readonly label: string;
  private readonly clock: Clock;
  private readonly transport: NutTransport;
  private socket: Duplex | undefined;
  private splitter = new LineSplitter();
  private pending: Pending | undefined;
  /** Requests wait here for the one before them: upsd answers in order and has no request ids. */
  private tail: Promise<unknown> = Promise.resolve();
  private state: 'new' | 'open' | 'closed' = 'new';
  private closeReason: BlackstartError | undefined;
  private detach: (() => void) | undefined;
  private encrypted = false;

  constructor(private readonly opts: NutClientOptions) {
    this.clock = opts.clock ?? systemClock;
    this.transport = opts.transport ?? netTransport;
    this.label = opts.label ?? `nut://${opts.host}:${opts.port}`;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  get isEncrypted(): boolean {
    return this.encrypted;
  }

  async connect(): Promise<void> {
    if (this.state !== 'new') throw new BlackstartError('INTERNAL', `${this.label}: connect() called twice`);
    this.state = 'open';
    let socket: Duplex;
    try {
      socket = await this.withTimeout('connecting', (signal) => this.transport.connect(this.opts.host, this.opts.port, signal));
    } catch (err) {
      this.state = 'closed';
      throw this.wrapIo(err, 'cannot connect');
    }
    if (this.state !== 'open') {
      socket.destroy();
      throw this.closedError();
    }
    this.attach(socket);
  }

  /**
   * Asks for STARTTLS. Returns whether the link is now encrypted. `auto` goes on in plain text when
   * upsd has no TLS; `required` refuses that. Must come before USERNAME/PASSWORD.
   */
  async startTls(mode: TlsMode, ca?: string | Buffer): Promise<boolean> {
    if (mode === 'off') return false;
    const reply = await this.raw(['STARTTLS'], 'STARTTLS');
    if (reply.kind === 'err') {
      const noTls = reply.code === 'FEATURE-NOT-CONFIGURED' || reply.code === 'FEATURE-NOT-SUPPORTED';
      if (noTls && mode === 'auto') return false;
      const err = nutError(reply.code, reply.extra, this.label, 'STARTTLS');
      if (noTls) {
        throw new BlackstartError('REFUSED', `${err.message}: tls is "required" but this upsd offers no TLS (set CERTFILE or CERTPATH in upsd.conf, or use tls: auto)`);
      }
      throw err;
    }
    if (!isOk(reply)) throw this.unexpected(reply, 'STARTTLS');
    const plain = this.socket;
    if (!plain) throw this.closedError();
    this.detach?.();
    let secure: Duplex;
    try {
      secure = await this.withTimeout('the TLS handshake', (signal) =>
        this.transport.startTls(plain, { host: this.opts.host, ...(ca !== undefined ? { ca } : {}), signal }),
      );
    } catch (err) {
      plain.destroy();
      this.markClosed(this.wrapIo(err, 'TLS handshake failed'));
      throw this.closeReason as BlackstartError;
    }
    if (this.state !== 'open') {
      secure.destroy();
      throw this.closedError();
    }
    this.attach(secure);
    this.encrypted = true;
    return true;
  }

  async authenticate(username: string, password: string): Promise<void> {
    await this.expectOk(['USERNAME', username], `USERNAME ${username}`);
    await this.expectOk(['PASSWORD', password], 'PASSWORD');
  }

  /** Attaches to the UPS as upsmon does; counts in NUMLOGINS. */
  async login(ups: string): Promise<void> {
    await this.expectOk(['LOGIN', ups], `LOGIN ${ups}`);
  }

  /** PRIMARY (NUT ≥ 2.8), or MASTER on older servers that do not know it. */
  async primary(ups: string): Promise<void> {
    const reply = await this.raw(['PRIMARY', ups], `PRIMARY ${ups}`);
    if (isOk(reply)) return;
    if (reply.kind === 'err' && reply.code !== 'UNKNOWN-COMMAND') throw nutError(reply.code, reply.extra, this.label, `PRIMARY ${ups}`);
    await this.expectOk(['MASTER', ups], `MASTER ${ups}`);
  }

  async listUps(): Promise<UpsEntry[]> {
    return this.decode(await this.request(['LIST', 'UPS'], 'LIST UPS'), upsListOf, 'LIST UPS');
  }

  async listVar(ups: string): Promise<Map<string, string>> {
    return this.decode(await this.request(['LIST', 'VAR', ups], `LIST VAR ${ups}`), (r) => varsOf(r, ups), `LIST VAR ${ups}`);
  }

  async getVar(ups: string, name: string): Promise<string> {
    const what = `GET VAR ${ups} ${name}`;
    return this.decode(await this.request(['GET', 'VAR', ups, name], what), (r) => getVarOf(r, ups, name), what);
  }

  async listCmd(ups: string): Promise<string[]> {
    return this.decode(await this.request(['LIST', 'CMD', ups], `LIST CMD ${ups}`), (r) => namesOf(r, 'CMD', ups), `LIST CMD ${ups}`);
  }

  async listClient(ups: string): Promise<string[]> {
    return this.decode(await this.request(['LIST', 'CLIENT', ups], `LIST CLIENT ${ups}`), (r) => namesOf(r, 'CLIENT', ups), `LIST CLIENT ${ups}`);
  }

  async numLogins(ups: string): Promise<number> {
    const what = `GET NUMLOGINS ${ups}`;
    return this.decode(await this.request(['GET', 'NUMLOGINS', ups], what), (r) => numLoginsOf(r, ups), what);
  }

  async instcmd(ups: string, command: string, param?: string): Promise<void> {
    const words = ['INSTCMD', ups, command, ...(param !== undefined ? [param] : [])];
    await this.expectOk(words, `INSTCMD ${ups} ${command}`);
  }

  /** Latches forced shutdown in upsd: every upsmon watching the UPS then shuts down. */
  async fsd(ups: string): Promise<void> {
    await this.expectOk(['FSD', ups], `FSD ${ups}`);
  }

  /** Says goodbye (upsd then closes its side) and closes. Never rejects. */
  async logout(): Promise<void> {
    if (this.state === 'open') {
      // Any answer will do: old servers say `Goodbye...`, newer `OK Goodbye`.
      await this.raw(['LOGOUT'], 'LOGOUT').catch(() => undefined);
    }
    this.close();
  }

  /** Drops the connection at once; whatever is pending or queued is rejected. */
  close(): void {
    if (this.state === 'closed') return;
    this.markClosed(new BlackstartError('UNREACHABLE', `${this.label}: connection closed`));
  }

  /** One exchange; an ERR reply rejects with the mapped error. */
  async request(words: readonly string[], what: string): Promise<Reply> {
    const reply = await this.raw(words, what);
    if (reply.kind === 'err') throw nutError(reply.code, reply.extra, this.label, what);
    return reply;
  }

  /** One exchange, ERR replies included. `what` names the command in errors (never a password). */
  raw(words: readonly string[], what: string): Promise<Reply> {
    const line = encodeCommand(words);
    const run = this.tail.then(() => this.exchange(line, what));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private exchange(line: string, what: string): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const socket = this.socket;
      if (this.state !== 'open' || !socket) {
        reject(this.closedError());
        return;
      }
      const timer = this.clock.setTimeout(() => {
        // A late answer would be taken for the next request's: the connection is no longer usable.
        this.markClosed(new BlackstartError('TIMEOUT', `${this.label}: no answer to ${what} within ${this.opts.timeoutMs} ms`));
      }, this.opts.timeoutMs);
      this.pending = { what, assembler: new ReplyAssembler(), resolve, reject, timer };
      socket.write(line);
    });
  }

  private async expectOk(words: readonly string[], what: string): Promise<void> {
    const reply = await this.request(words, what);
    if (!isOk(reply)) throw this.unexpected(reply, what);
  }

  private decode<T>(reply: Reply, fn: (r: Reply) => Decoded<T>, what: string): T {
    const d = fn(reply);
    if (d.ok) return d.value;
    throw new BlackstartError('PROTOCOL', `${this.label}: bad answer to ${what}: ${d.error}`);
  }

  private unexpected(reply: Reply, what: string): BlackstartError {
    return new BlackstartError('PROTOCOL', `${this.label}: unexpected answer to ${what}: ${describeReply(reply)}`);
  }

  private attach(socket: Duplex): void {
    this.socket = socket;
    this.splitter = new LineSplitter();
    const onData = (chunk: Buffer | string): void => this.onData(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    const onClose = (): void => this.markClosed(new BlackstartError('UNREACHABLE', `${this.label}: connection closed by the server`));
    const onError = (err: Error): void => this.markClosed(this.wrapIo(err, 'connection failed'));
    socket.on('data', onData);
    socket.on('end', onClose);
    socket.on('close', onClose);
    socket.on('error', onError);
    this.detach = () => {
      socket.off('data', onData);
      socket.off('end', onClose);
      socket.off('close', onClose);
      // Keep swallowing errors: a detached socket may still fail, and an unhandled 'error' would crash.
      socket.off('error', onError);
      socket.on('error', () => undefined);
      this.detach = undefined;
    };
  }

  private onData(chunk: Buffer): void {
    const { lines, error } = this.splitter.push(chunk);
    for (const line of lines) {
      if (this.state !== 'open') return;
      const p = this.pending;
      if (!p) {
        this.markClosed(new BlackstartError('PROTOCOL', `${this.label}: the server sent ${JSON.stringify(line.slice(0, 80))} unasked`));
        return;
      }
      const fed = p.assembler.feed(line);
      if (fed.status === 'more') continue;
      if (fed.status === 'garbage') {
        this.markClosed(new BlackstartError('PROTOCOL', `${this.label}: bad answer to ${p.what}: ${fed.error}`));
        return;
      }
      this.pending = undefined;
      this.clock.clearTimeout(p.timer);
      p.resolve(fed.reply);
    }
    if (error && this.state === 'open') {
      const what = this.pending ? ` to ${this.pending.what}` : '';
      this.markClosed(new BlackstartError('PROTOCOL', `${this.label}: bad answer${what}: ${error}`));
    }
  }

  private markClosed(reason: BlackstartError): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = reason;
    const socket = this.socket;
    this.detach?.();
    this.socket = undefined;
    socket?.destroy();
    const p = this.pending;
    this.pending = undefined;
    if (p) {
      this.clock.clearTimeout(p.timer);
      p.reject(reason.code === 'TIMEOUT' || reason.code === 'PROTOCOL' ? reason : this.withWhat(reason, p.what));
    }
  }

  private withWhat(reason: BlackstartError, what: string): BlackstartError {
    return new BlackstartError(reason.code, `${reason.message} (waiting for the answer to ${what})`, { cause: reason });
  }

  private closedError(): BlackstartError {
    return new BlackstartError('UNREACHABLE', `${this.label}: not connected${this.closeReason ? ` (${this.closeReason.message})` : ''}`);
  }

  private wrapIo(err: unknown, doing: string): BlackstartError {
    if (err instanceof BlackstartError) return err;
    const e = toBlackstartError(err);
    const code = e.code === 'INTERNAL' ? 'UNREACHABLE' : e.code;
    return new BlackstartError(code, `${this.label}: ${doing}: ${e.message}`, { cause: err });
  }

  /** Runs `fn` with an abort signal that fires after the request timeout. */
  private withTimeout<T>(doing: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const abort = new AbortController();
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const timer = this.clock.setTimeout(() => {
        if (done) return;
        done = true;
        abort.abort();
        reject(new BlackstartError('TIMEOUT', `${this.label}: ${doing} took more than ${this.opts.timeoutMs} ms`));
      }, this.opts.timeoutMs);
      fn(abort.signal).then(
        (value) => {
          this.clock.clearTimeout(timer);
          if (done) {
            // Arrived too late: nobody will use it.
            (value as { destroy?: () => void }).destroy?.();
            return;
          }
          done = true;
          resolve(value);
        },
        (err: unknown) => {
          this.clock.clearTimeout(timer);
          if (done) return;
          done = true;
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }
}
