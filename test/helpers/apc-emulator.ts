/**
 * An APC Smart-UPS on one end of a pty (see pty-pair.ts), opened with serialport at 2400 8N1.
 * The reply logic is the pure ApcEmulatorModel; this file only moves bytes and injects faults.
 *
 *   const pty = await openPtyPair(dir);
 *   const ups = await ApcEmulator.open(pty.b, { chargePct: 80 });
 *   ups.set({ onBattery: true });   // sends '!' at once (autoAlerts), Q now answers 10
 *   ups.alert('#');                 // an unsolicited alert
 *   ups.fault = 'mute';             // stop answering; 'garbage' answers noise; null = normal
 *   await ups.close();
 */
import { SerialPort } from 'serialport';
import { ApcEmulatorModel, type ApcUpsState, type CommandRun, type ModelOptions, type ModelOutput } from './apc-emulator-model';

export type { ApcUpsState, CommandRun, ModelOptions } from './apc-emulator-model';

export interface Received {
  /** The byte as a one-character string ('\x0e' for ^N, '\x7f' for DEL). */
  char: string;
  /** Date.now() when it arrived. */
  at: number;
}

export interface EmulatorOptions extends Partial<ModelOptions> {
  /** Delay before each reply, ms (a slow UPS). Default 0. */
  replyDelayMs?: number;
}

/** 'mute': read but never answer. 'garbage': answer every byte with a line of noise. */
export type EmulatorFault = null | 'mute' | 'garbage';

export class ApcEmulator {
  readonly model: ApcEmulatorModel;
  /** Every byte received, in order, with its arrival time. */
  readonly received: Received[] = [];
  fault: EmulatorFault = null;
  private midReplyAlert: string | null = null;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private closed = false;

  private constructor(
    private readonly port: SerialPort,
    initial: Partial<ApcUpsState>,
    private readonly opts: EmulatorOptions,
  ) {
    this.model = new ApcEmulatorModel(initial, opts);
    port.on('data', (chunk: Buffer) => this.onData(chunk));
    // A pty whose other end closes reports EIO; the emulator just stops.
    port.on('error', () => undefined);
  }

  static async open(path: string, initial: Partial<ApcUpsState> = {}, opts: EmulatorOptions = {}): Promise<ApcEmulator> {
    const port = new SerialPort({ path, baudRate: 2400, dataBits: 8, parity: 'none', stopBits: 1, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    return new ApcEmulator(port, initial, opts);
  }

  get state(): ApcUpsState {
    return this.model.state;
  }

  /** Control commands carried out (W, A, S, @ddd, KK, ZZ, ^N^N, DEL, U, D, R). */
  get commandsRun(): readonly CommandRun[] {
    return this.model.commandsRun;
  }

  /** Received bytes as a string, e.g. 'YQfjLPB'. */
  receivedText(): string {
    return this.received.map((r) => r.char).join('');
  }

  /** Changes the UPS state; with autoAlerts the matching alert characters go out at once. */
  set(patch: Partial<ApcUpsState>): void {
    for (const a of this.model.set(patch)) this.write(a);
  }

  /** Sends an unsolicited alert character now. */
  alert(char: string): void {
    this.write(char);
  }

  /** Puts `char` in the middle of the next reply line (e.g. "1!0\r\n"), as real units can. */
  alertInNextReply(char: string): void {
    this.midReplyAlert = char;
  }

  /** Answers 'SM' to the next n Q queries (register not ready). */
  qNotReady(n: number): void {
    this.model.qNotReady = n;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (!this.port.isOpen) return;
    await new Promise<void>((resolve) => this.port.close(() => resolve()));
  }

  private onData(chunk: Buffer): void {
    for (const byte of chunk) {
      const char = String.fromCharCode(byte);
      const at = Date.now();
      this.received.push({ char, at });
      if (this.fault === 'mute') continue;
      if (this.fault === 'garbage') {
        // Bytes no UPS sends, but no alert characters, then a line end: a reply that cannot parse.
        this.write('\x00\xffZq\x13~~\r\n');
        continue;
      }
      this.answer(this.model.receive(char, at));
    }
  }

  private answer(out: ModelOutput): void {
    let text = '';
    if (out.reply !== null) {
      let line = out.reply;
      if (this.midReplyAlert !== null) {
        const cut = Math.ceil(line.length / 2);
        line = line.slice(0, cut) + this.midReplyAlert + line.slice(cut);
        this.midReplyAlert = null;
      }
      text = `${line}\r\n`;
    }
    text += out.alerts.join('');
    if (!text) return;
    const delay = this.opts.replyDelayMs ?? 0;
    if (delay <= 0) {
      this.write(text);
      return;
    }
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.write(text);
    }, delay);
    this.timers.add(t);
  }

  private write(text: string): void {
    if (this.closed || !this.port.isOpen) return;
    this.port.write(Buffer.from(text, 'latin1'));
  }
}
