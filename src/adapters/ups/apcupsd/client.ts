/**
 * The only I/O of the apcupsd source: one TCP connection to a NIS server, one request at a time.
 * The connection stays open between polls (apcupsd serves many rounds per connection) and is
 * opened again when the server or a failure closed it.
 */
import type { Duplex } from 'node:stream';
import { tcpConnect, type TcpConnector } from '../../tcp';
import type { Clock } from '../../../core/clock';
import { BlackstartError, type ErrorCode } from '../../../core/errors';
import { encodeRequest, ReplyDecoder, type NisCommand } from './codec';

/** How the client opens its connection; tests inject an in-memory stream. */
export type NisConnector = TcpConnector;

export interface NisClientOptions {
  host: string;
  port: number;
  /** Longest a connect, and separately each request, may take. */
  timeoutMs: number;
  clock: Clock;
  connect?: NisConnector;
  /** Prefix for error messages, e.g. `apcupsd://127.0.0.1:3551`. */
  label: string;
}

interface Pending {
  decoder: ReplyDecoder;
  resolve: (records: Buffer[]) => void;
  reject: (err: Error) => void;
}

export class NisClient {
  private socket: Duplex | null = null;
  private pending: Pending | null = null;
  /** Requests run one after another: each waits for the one before. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly connector: NisConnector;

  constructor(private readonly opts: NisClientOptions) {
    this.connector = opts.connect ?? tcpConnect;
  }

  get connected(): boolean {
    return this.socket !== null;
  }

  /** Sends one request and resolves with the records of its reply (end marker excluded). */
  request(command: NisCommand): Promise<Buffer[]> {
    this.closed = false;
    const run = this.queue.then(() => this.exchange(command));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Drops the connection; a later request opens a new one. */
  async close(): Promise<void> {
    this.closed = true;
    this.drop(this.error('UNREACHABLE', 'connection closed by us'));
    await this.queue;
  }

  private async exchange(command: NisCommand): Promise<Buffer[]> {
    const reused = this.socket !== null;
    try {
      return await this.roundTrip(command);
    } catch (err) {
      if (!(err instanceof StaleConnection)) throw err;
      // A kept-open connection the server dropped while idle fails at once with nothing read:
      // that says nothing about the server, so try once more on a fresh connection.
      if (!reused || this.closed) throw err.cause;
    }
    try {
      return await this.roundTrip(command);
    } catch (err) {
      throw err instanceof StaleConnection ? err.cause : err;
    }
  }

  private async roundTrip(command: NisCommand): Promise<Buffer[]> {
    const socket = this.socket ?? (await this.open());
    return new Promise<Buffer[]>((resolve, reject) => {
      const { clock, timeoutMs } = this.opts;
      const timer = clock.setTimeout(() => {
        this.drop(this.error('TIMEOUT', `no complete reply to "${command}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending = {
        decoder: new ReplyDecoder(),
        resolve: (records) => {
          clock.clearTimeout(timer);
          resolve(records);
        },
        reject: (err) => {
          clock.clearTimeout(timer);
          reject(err);
        },
      };
      socket.write(encodeRequest(command));
    });
  }

  private async open(): Promise<Duplex> {
    if (this.closed) throw this.error('CANCELLED', 'client is closed');
    const { clock, timeoutMs, host, port } = this.opts;
    const abort = new AbortController();
    const timer = clock.setTimeout(() => abort.abort(), timeoutMs);
    let socket: Duplex;
    try {
      socket = await this.connector(host, port, abort.signal);
    } catch (err) {
      if (abort.signal.aborted) throw this.error('TIMEOUT', `connect timed out after ${timeoutMs} ms`);
      throw this.connectError(err);
    } finally {
      clock.clearTimeout(timer);
    }
    if (abort.signal.aborted || this.closed) {
      socket.destroy();
      throw this.error(this.closed ? 'CANCELLED' : 'TIMEOUT', this.closed ? 'client closed while connecting' : `connect timed out after ${timeoutMs} ms`);
    }
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onData(socket, chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (this.socket === socket) this.lost(socket, `connection failed: ${err.code ?? err.message}`);
    });
    socket.on('close', () => {
      if (this.socket === socket) this.lost(socket, 'server closed the connection');
    });
    return socket;
  }

  private onData(socket: Duplex, chunk: Buffer): void {
    if (this.socket !== socket) return;
    const p = this.pending;
    if (!p) {
      this.drop(this.error('PROTOCOL', `${chunk.length} bytes arrived with no request outstanding`));
      return;
    }
    const step = p.decoder.push(chunk);
    if (step.kind === 'need-more') return;
    if (step.kind === 'garbage') {
      this.drop(this.error('PROTOCOL', `bad reply framing: ${step.error}`));
      return;
    }
    this.pending = null;
    p.resolve(step.records);
  }

  /** The connection ended on its own: fail the request in flight, if any. */
  private lost(socket: Duplex, why: string): void {
    const p = this.pending;
    this.socket = null;
    this.pending = null;
    socket.destroy();
    if (!p) return;
    const err = this.error('UNREACHABLE', p.decoder.received > 0 ? `${why} in the middle of a reply (${p.decoder.recordCount} records read)` : why);
    p.reject(p.decoder.received === 0 ? new StaleConnection(err) : err);
  }

  /** We end the connection (timeout, bad framing, close): the stream can no longer be trusted. */
  private drop(err: BlackstartError): void {
    const socket = this.socket;
    const p = this.pending;
    this.socket = null;
    this.pending = null;
    socket?.destroy();
    p?.reject(err);
  }

  private connectError(err: unknown): BlackstartError {
    if (err instanceof BlackstartError) return this.error(err.code, err.message);
    const e = err as NodeJS.ErrnoException;
    const code = e?.code;
    if (code === 'ECONNREFUSED') return this.error('UNREACHABLE', 'connection refused (is apcupsd running with NETSERVER on?)');
    if (code === 'ETIMEDOUT') return this.error('TIMEOUT', 'connect timed out');
    return this.error('UNREACHABLE', `cannot connect: ${code ?? e?.message ?? String(err)}`);
  }

  private error(code: ErrorCode, message: string): BlackstartError {
    return new BlackstartError(code, `${this.opts.label}: ${message}`);
  }
}

/** A failure on a reused connection before any byte of the reply; `exchange` retries it once. */
class StaleConnection extends Error {
  constructor(override readonly cause: BlackstartError) {
    super(cause.message);
  }
}
