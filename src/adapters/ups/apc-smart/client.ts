/**
 * The only I/O of the APC smart source: one serial link, one request in flight, replies matched
 * to the request that asked, alerts handed on the moment they arrive. The port is injected
 * (PortFactory) so tests drive the client without a tty; pauses run on the injected Clock.
 */
import { SerialPort } from 'serialport';
import { sleep, type Clock, type TimerHandle } from '../../../core/clock';
import { BlackstartError } from '../../../core/errors';
import type { Logger } from '../../../core/logger';
import { ApcStreamDecoder, CMD, printable, type DecodeEvent } from './codec';

export interface LineSettings {
  device: string;
  baudRate: number;
  dataBits: 7 | 8;
  parity: 'none' | 'even' | 'odd';
  stopBits: 1 | 2;
  rts: boolean;
  dtr: boolean;
}

export interface LinkHandlers {
  onData(chunk: Uint8Array): void;
  /** The port went away (unplugged, other pty end closed). */
  onClose(reason: string): void;
}

export interface SerialLink {
  write(bytes: string): Promise<void>;
  close(): Promise<void>;
}

export type PortFactory = (settings: LineSettings, handlers: LinkHandlers) => Promise<SerialLink>;

export interface ClientTimings {
  /** Longest wait for one reply. */
  timeoutMs: number;
  /** Pause between the two characters of K K, Z Z, ^N ^N (units want > 1.5 s). */
  pairGapMs: number;
  /** Pause between the characters of `@ddd` (NUT: 50 ms). */
  charGapMs: number;
  /** Y → SM attempts before giving up. */
  handshakeTries: number;
  /** How long to listen for an optional answer (Z Z says nothing; `NA` means unsupported). */
  settleMs: number;
}

export const DEFAULT_TIMINGS: Omit<ClientTimings, 'timeoutMs'> = {
  pairGapMs: 1500,
  charGapMs: 50,
  handshakeTries: 3,
  settleMs: 1000,
};

/** serialport with the configured line settings; RTS/DTR set after opening, tolerated on a pty. */
export function serialPortFactory(log: Logger): PortFactory {
  return async (s, handlers) => {
    const port = new SerialPort({
      path: s.device,
      baudRate: s.baudRate,
      dataBits: s.dataBits,
      parity: s.parity,
      stopBits: s.stopBits,
      autoOpen: false,
    });
    try {
      await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    } catch (err) {
      throw new BlackstartError('UNREACHABLE', `cannot open ${s.device}: ${(err as Error).message}`, { cause: err });
    }
    await new Promise<void>((resolve) =>
      port.set({ rts: s.rts, dtr: s.dtr }, (err) => {
        // A pty (or some USB adapters) has no modem lines: "Inappropriate ioctl". Not fatal.
        if (err) log.debug({ device: s.device, err: err.message }, 'cannot set RTS/DTR; carrying on');
        resolve();
      }),
    );
    port.on('data', (chunk: Buffer) => handlers.onData(chunk));
    port.on('error', (err: Error) => handlers.onClose(err.message));
    port.on('close', () => handlers.onClose('port closed'));
    return {
      write: (bytes) =>
        new Promise<void>((resolve, reject) => {
          // No drain(): tcdrain on a tty nobody reads (the far end of a pty gone) blocks a libuv
          // worker thread for good; one character at 2400 baud leaves within 5 ms anyway.
          port.write(Buffer.from(bytes, 'latin1'), (err) => {
            if (err) reject(new BlackstartError('UNREACHABLE', `write to ${s.device} failed: ${err.message}`));
            else resolve();
          });
        }),
      close: () =>
        new Promise<void>((resolve) => {
          if (!port.isOpen) return resolve();
          // A vanished device can leave close() waiting on the driver; stopping must not wait with it.
          const giveUp = setTimeout(resolve, 2000);
          giveUp.unref();
          port.close(() => {
            clearTimeout(giveUp);
            resolve();
          });
        }),
    };
  };
}

interface Waiter {
  resolve(line: string): void;
  reject(err: BlackstartError): void;
  timer: TimerHandle | undefined;
}

export interface ClientDeps {
  clock: Clock;
  log: Logger;
  portFactory?: PortFactory;
  timings: Partial<ClientTimings> & { timeoutMs: number };
}

export class ApcSmartClient {
  readonly label: string;
  private readonly timings: ClientTimings;
  private readonly factory: PortFactory;
  private link: SerialLink | undefined;
  private opening: Promise<void> | undefined;
  private readonly decoder = new ApcStreamDecoder();
  /** Lines received while a request is active and not yet taken. */
  private inbox: string[] | null = null;
  private waiter: Waiter | undefined;
  /** A shutdown command is out: a bare `*` is its (legacy) acknowledgement, not an alert. */
  private starIsAck = false;
  private chain: Promise<unknown> = Promise.resolve();
  private alertListener: ((char: string) => void) | undefined;

  constructor(
    private readonly settings: LineSettings,
    private readonly deps: ClientDeps,
  ) {
    this.label = `apcsmart://${settings.device}`;
    this.timings = { ...DEFAULT_TIMINGS, ...deps.timings };
    this.factory = deps.portFactory ?? serialPortFactory(deps.log);
  }

  get isOpen(): boolean {
    return this.link !== undefined;
  }

  onAlert(listener: (char: string) => void): void {
    this.alertListener = listener;
  }

  /** Opens the port and enters smart mode; a no-op when already open. */
  open(): Promise<void> {
    if (this.link) return Promise.resolve();
    this.opening ??= this.exclusive(() => this.doOpen()).finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  /** One single-character query; resolves with the reply line (CR, alerts, `|` removed). */
  query(char: string): Promise<string> {
    return this.exclusive(async () => {
      this.begin();
      try {
        await this.send(char);
        return await this.nextLine(this.timings.timeoutMs, `query ${describe(char)}`);
      } finally {
        this.end();
      }
    });
  }

  /**
   * Sends characters with a pause before each but the first, then waits for the reply. With
   * `optional`, silence after settleMs counts as done (null). `shutdown` accepts a bare `*` ack.
   */
  command(chars: string[], gapMs: number, opts: { optional?: boolean; shutdown?: boolean } = {}): Promise<string | null> {
    return this.exclusive(async () => {
      this.begin();
      this.starIsAck = opts.shutdown === true;
      try {
        for (const [i, c] of chars.entries()) {
          if (i > 0) await sleep(this.deps.clock, gapMs);
          await this.send(c);
        }
        const what = `command ${chars.map(describe).join(' ')}`;
        if (!opts.optional) return await this.nextLine(this.timings.timeoutMs, what);
        try {
          return await this.nextLine(Math.min(this.timings.settleMs, this.timings.timeoutMs), what);
        } catch (err) {
          if (err instanceof BlackstartError && err.code === 'TIMEOUT') return null;
          throw err;
        }
      } finally {
        this.starIsAck = false;
        this.end();
      }
    });
  }

  get pairGapMs(): number {
    return this.timings.pairGapMs;
  }

  get charGapMs(): number {
    return this.timings.charGapMs;
  }

  async close(): Promise<void> {
    const link = this.link;
    this.link = undefined;
    this.failWaiter(new BlackstartError('CANCELLED', `${this.label}: link closed`));
    this.decoder.reset();
    if (link) await link.close();
  }

  private async doOpen(): Promise<void> {
    this.decoder.reset();
    const link = await this.factory(this.settings, {
      onData: (chunk) => this.onData(chunk),
      onClose: (reason) => this.onLinkClosed(link, reason),
    });
    this.link = link;
    try {
      await this.handshake();
    } catch (err) {
      this.link = undefined;
      await link.close();
      throw err;
    }
  }

  /** Y → SM, NUT style: on silence or a wrong answer send ESC (leaves any half-typed command), retry. */
  private async handshake(): Promise<void> {
    let last = '';
    for (let i = 0; i < this.timings.handshakeTries; i++) {
      this.begin();
      try {
        await this.send(CMD.smartMode);
        const line = await this.nextLine(this.timings.timeoutMs, 'smart mode (Y)');
        if (line === 'SM') return;
        last = `answered "${printable(line)}"`;
      } catch (err) {
        if (!(err instanceof BlackstartError) || (err.code !== 'TIMEOUT' && err.code !== 'PROTOCOL')) throw err;
        last = err.code === 'TIMEOUT' ? 'no answer' : err.message;
      } finally {
        this.end();
      }
      await this.send(CMD.escape);
      await sleep(this.deps.clock, this.timings.charGapMs);
    }
    throw new BlackstartError(
      last === 'no answer' ? 'TIMEOUT' : 'PROTOCOL',
      `${this.label}: no SM answer to Y after ${this.timings.handshakeTries} tries (${last}); is the UPS on this port and the cable a smart one (940-0024C)?`,
    );
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async send(char: string): Promise<void> {
    const link = this.link;
    if (!link) throw new BlackstartError('UNREACHABLE', `${this.label}: not open`);
    // A port that stops taking bytes must not hang the request: it fails like a silent UPS.
    let timer: TimerHandle | undefined;
    const stuck = new Promise<never>((_, reject) => {
      timer = this.deps.clock.setTimeout(
        () => reject(new BlackstartError('TIMEOUT', `${this.label}: the port took no byte within ${this.timings.timeoutMs} ms`)),
        this.timings.timeoutMs,
      );
    });
    try {
      await Promise.race([link.write(char), stuck]);
    } finally {
      this.deps.clock.clearTimeout(timer);
    }
  }

  /** Starts collecting lines for one request; lines outside a request are stale and dropped. */
  private begin(): void {
    this.inbox = [];
  }

  private end(): void {
    this.inbox = null;
    this.waiter = undefined;
  }

  private nextLine(timeoutMs: number, what: string): Promise<string> {
    const queued = this.inbox?.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise<string>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined };
      waiter.timer = this.deps.clock.setTimeout(() => {
        if (this.waiter !== waiter) return;
        this.waiter = undefined;
        reject(new BlackstartError('TIMEOUT', `${this.label}: no answer to ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = waiter;
    });
  }

  private onData(chunk: Uint8Array): void {
    for (const ev of this.decoder.push(chunk)) this.dispatch(ev);
  }

  private dispatch(ev: DecodeEvent): void {
    if (ev.kind === 'alert') {
      if (ev.char === '*' && this.starIsAck) {
        this.deliver('*');
        return;
      }
      this.deps.log.debug({ source: this.label, alert: ev.char }, 'UPS alert');
      this.alertListener?.(ev.char);
      return;
    }
    if (ev.kind === 'garbage') {
      this.deps.log.debug({ source: this.label, reason: ev.reason }, 'garbage from UPS');
      this.failWaiter(new BlackstartError('PROTOCOL', `${this.label}: ${ev.reason}`));
      return;
    }
    this.deliver(ev.text);
  }

  private deliver(line: string): void {
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      this.deps.clock.clearTimeout(waiter.timer);
      waiter.resolve(line);
      return;
    }
    if (this.inbox) this.inbox.push(line);
    else this.deps.log.debug({ source: this.label, line: printable(line) }, 'reply with no request (late answer), dropped');
  }

  private failWaiter(err: BlackstartError): void {
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = undefined;
    this.deps.clock.clearTimeout(waiter.timer);
    waiter.reject(err);
  }

  private onLinkClosed(link: SerialLink, reason: string): void {
    if (this.link !== link) return;
    this.link = undefined;
    this.failWaiter(new BlackstartError('UNREACHABLE', `${this.label}: ${reason}`));
  }
}

/** A command character as people write it: ^N, DEL, ESC, or the character itself. */
export function describe(char: string): string {
  const code = char.charCodeAt(0);
  if (code === 0x7f) return 'DEL';
  if (code === 0x1b) return 'ESC';
  if (code < 0x20) return `^${String.fromCharCode(code + 0x40)}`;
  return char;
}
