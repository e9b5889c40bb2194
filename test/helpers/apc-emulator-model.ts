/**
 * The reply logic of an APC Smart-UPS (protocols.md §3, plus the queries apcupsd 3.14.14 sends
 * per real-peers.md §4), pure so it can be unit-tested without a pty. The I/O wrapper is
 * apc-emulator.ts. Written from the protocol description, not from any UPS firmware.
 */

export interface ApcUpsState {
  /** Mains present (Q bit 3). */
  online: boolean;
  /** Running from the battery (Q bit 4). */
  onBattery: boolean;
  lowBattery: boolean;
  replaceBattery: boolean;
  overload: boolean;
  trim: boolean;
  boost: boolean;
  calibrating: boolean;
  /** Output powered; Z Z turns it off, ^N ^N on. With the load off neither OL nor OB is set. */
  loadOn: boolean;
  chargePct: number;
  runtimeMin: number;
  loadPct: number;
  inputV: number;
  outputV: number;
  batteryV: number;
  tempC: number;
  freqHz: number;
  model: string;
  serial: string;
  firmware: string;
  /** Last self-test result for X: OK, BT, NG, NO. */
  testResult: string;
}

export const DEFAULT_UPS_STATE: ApcUpsState = {
  online: true,
  onBattery: false,
  lowBattery: false,
  replaceBattery: false,
  overload: false,
  trim: false,
  boost: false,
  calibrating: false,
  loadOn: true,
  chargePct: 100,
  runtimeMin: 45,
  loadPct: 23.4,
  inputV: 230.4,
  outputV: 230.4,
  batteryV: 27.3,
  tempC: 29.2,
  freqHz: 50,
  model: 'Smart-UPS 1500',
  serial: 'LAB0123456789',
  firmware: '601.3.I',
  testResult: 'NO',
};

export interface ModelOptions {
  /** set() emits the alert a real UPS would send (! $ % + # ? =). Default true. */
  autoAlerts: boolean;
  /**
   * Shortest and longest pause between the two characters of K K, Z Z and ^N ^N. Real units
   * want more than 1.5 s (NUT uses 1.3 s); a faster second character starts a new pair.
   */
  minPairGapMs: number;
  maxPairGapMs: number;
  /** Ignore everything but Y until smart mode is entered, as a real unit does. Default true. */
  requireSmartMode: boolean;
  /** Command characters this unit lacks: each is answered `NA` (e.g. 'W' for a unit without self-test). */
  unsupported: string;
}

export const DEFAULT_MODEL_OPTIONS: ModelOptions = {
  autoAlerts: true,
  minPairGapMs: 1300,
  maxPairGapMs: 5000,
  requireSmartMode: true,
  unsupported: '',
};

/** A control command the UPS carried out (or was asked for), for tests to assert on. */
export interface CommandRun {
  /** W, A, S, @ddd, KK, ZZ, ^N^N, DEL, U, D, R */
  command: string;
  at: number;
  /** What the UPS answered ('' when nothing). */
  reply: string;
}

/** What one received byte produces: a reply line (sent with CR LF) and/or bare alert characters. */
export interface ModelOutput {
  /** Reply text without CR LF, or null when the UPS stays silent. */
  reply: string | null;
  /** Alert characters to send right after the reply (or alone). */
  alerts: string[];
}

const SILENT: ModelOutput = { reply: null, alerts: [] };
const say = (reply: string, alerts: string[] = []): ModelOutput => ({ reply, alerts });

const fixed = (value: number, width: number, decimals: number): string => {
  const text = Math.max(0, value).toFixed(decimals);
  return text.padStart(width, '0');
};

/** Pair commands: the first character arms, the same character again within the window fires. */
const PAIRS: Record<string, string> = { K: 'KK', Z: 'ZZ', '\x0e': '^N^N' };

export class ApcEmulatorModel {
  state: ApcUpsState;
  readonly opts: ModelOptions;
  smartMode = false;
  /** Pending delayed shutdown set by S / @ddd / K K, cleared by DEL. */
  pendingShutdown: string | null = null;
  readonly commandsRun: CommandRun[] = [];
  /** Fault injection: answer `SM` to the next n Q queries (register not ready). */
  qNotReady = 0;
  private armed: { char: string; at: number } | null = null;
  private atDigits: string | null = null;

  constructor(initial: Partial<ApcUpsState> = {}, opts: Partial<ModelOptions> = {}) {
    this.state = { ...DEFAULT_UPS_STATE, ...initial };
    this.opts = { ...DEFAULT_MODEL_OPTIONS, ...opts };
  }

  /** Q register value. */
  statusByte(): number {
    const s = this.state;
    let v = 0;
    if (s.calibrating) v |= 0x01;
    if (s.trim) v |= 0x02;
    if (s.boost) v |= 0x04;
    if (s.loadOn && s.online && !s.onBattery) v |= 0x08;
    if (s.loadOn && s.onBattery) v |= 0x10;
    if (s.overload) v |= 0x20;
    if (s.lowBattery) v |= 0x40;
    if (s.replaceBattery) v |= 0x80;
    return v;
  }

  /**
   * Changes the state; returns the alert characters a real UPS sends for that change
   * (empty when autoAlerts is off).
   */
  set(patch: Partial<ApcUpsState>): string[] {
    const before = this.state;
    const next = { ...before, ...patch };
    // Keep the two mains bits consistent unless the caller set both on purpose.
    if (patch.onBattery !== undefined && patch.online === undefined) next.online = !patch.onBattery;
    if (patch.online !== undefined && patch.onBattery === undefined) next.onBattery = !patch.online;
    this.state = next;
    if (!this.opts.autoAlerts) return [];
    const alerts: string[] = [];
    if (!before.onBattery && next.onBattery) alerts.push('!');
    if (before.lowBattery && !next.lowBattery) alerts.push('+');
    if (before.onBattery && !next.onBattery) alerts.push('$');
    if (!before.lowBattery && next.lowBattery) alerts.push('%');
    if (!before.replaceBattery && next.replaceBattery) alerts.push('#');
    if (!before.overload && next.overload) alerts.push('?');
    if (before.overload && !next.overload) alerts.push('=');
    return alerts;
  }

  /** One byte from the host at time `now` (ms). */
  receive(char: string, now: number): ModelOutput {
    if (this.opts.requireSmartMode && !this.smartMode && char !== 'Y') return SILENT;

    if (this.atDigits !== null) return this.atDigit(char, now);
    if (this.opts.unsupported.includes(char)) {
      this.armed = null;
      return say('NA');
    }

    const pairName = PAIRS[char];
    if (pairName) return this.pair(char, pairName, now);
    this.armed = null;

    switch (char) {
      case 'Y':
        this.smartMode = true;
        return say('SM');
      case 'R':
        this.smartMode = false;
        return this.run('R', now, 'BYE');
      case '\x1b':
        return SILENT;
      case 'Q':
        if (this.qNotReady > 0) {
          this.qNotReady--;
          return say('SM');
        }
        return say(this.statusByte().toString(16).toUpperCase().padStart(2, '0'));
      case 'W':
        this.state = { ...this.state, testResult: 'OK' };
        return this.run('W', now, 'OK');
      case 'A':
        return this.run('A', now, 'OK');
      case 'S':
        // Soft shutdown only works on battery; on line the unit refuses it.
        if (!this.state.onBattery) return this.run('S', now, 'NA');
        this.pendingShutdown = 'S';
        return this.run('S', now, 'OK');
      case '@':
        this.atDigits = '';
        return SILENT;
      case '\x7f':
        this.pendingShutdown = null;
        return this.run('DEL', now, 'OK');
      case 'U':
      case 'D':
        this.commandsRun.push({ command: char, at: now, reply: '' });
        return { reply: null, alerts: ['!', '$'] };
    }
    const value = this.query(char);
    return say(value ?? 'NA');
  }

  private run(command: string, now: number, reply: string): ModelOutput {
    this.commandsRun.push({ command, at: now, reply });
    return say(reply);
  }

  private pair(char: string, name: string, now: number): ModelOutput {
    const armed = this.armed;
    this.armed = { char, at: now };
    if (!armed || armed.char !== char) return SILENT;
    const gap = now - armed.at;
    if (gap < this.opts.minPairGapMs || gap > this.opts.maxPairGapMs) return SILENT;
    this.armed = null;
    if (char === 'K') {
      this.pendingShutdown = 'KK';
      return this.run(name, now, 'OK');
    }
    if (char === 'Z') {
      this.state = { ...this.state, loadOn: false };
      // Z Z cuts the load at once and says nothing.
      this.commandsRun.push({ command: name, at: now, reply: '' });
      return SILENT;
    }
    this.state = { ...this.state, loadOn: true };
    return this.run(name, now, 'OK');
  }

  private atDigit(char: string, now: number): ModelOutput {
    if (!/^[0-9]$/.test(char)) {
      this.atDigits = null;
      return this.receive(char, now);
    }
    const digits = this.atDigits + char;
    this.atDigits = digits;
    if (digits.length < 3) return SILENT;
    const command = `@${digits}`;
    this.atDigits = null;
    this.pendingShutdown = command;
    return this.run(command, now, 'OK');
  }

  private query(char: string): string | null {
    const s = this.state;
    switch (char) {
      case 'f':
        return fixed(s.chargePct, 5, 1);
      case 'j':
        return `${fixed(Math.round(s.runtimeMin), 4, 0)}:`;
      case 'L':
        return fixed(s.onBattery ? 0 : s.inputV, 5, 1);
      case 'M':
      case 'N':
        return fixed(s.onBattery ? 0 : s.inputV, 5, 1);
      case 'O':
        return fixed(s.loadOn ? s.outputV : 0, 5, 1);
      case 'P':
        return fixed(s.loadOn ? s.loadPct : 0, 5, 1);
      case 'B':
        return fixed(s.batteryV, 5, 2);
      case 'C':
        return fixed(s.tempC, 5, 1);
      case 'F':
        return fixed(s.freqHz, 5, 2);
      case '9':
        return s.onBattery ? '00' : 'FF';
      case 'G':
        return s.onBattery ? 'L' : 'O';
      case 'X':
        return s.testResult;
      case '\x01':
        return s.model;
      case 'n':
        return s.serial;
      case 'b':
        return s.firmware;
      case 'm':
      case 'x':
        return '01/01/20';
      case 'c':
        return 'LABUPS';
      case 'g':
        return '024';
      case 'o':
        return '230';
      case 'l':
        return '196';
      case 'u':
        return '253';
      case 'e':
        return '00';
      case 'k':
        return '0';
      case 'p':
        return '020';
      case 'q':
        return '02';
      case 'r':
        return '000';
      case 's':
        return 'H';
      case 'E':
        return '336';
      case '7':
        return '0F';
      case '8':
      case '~':
      case "'":
        return '00';
      case '>':
      case '<':
        return '000';
      case 'y':
        return '(C) APCC';
      default:
        return null;
    }
  }
}
