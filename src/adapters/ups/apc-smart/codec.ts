/**
 * APC smart (UPS-Link) serial protocol, pure: a stream decoder that splits raw bytes into reply
 * lines and alert characters, and parsers for the replies we map (protocols.md §3).
 */
import type { UpsPush, UpsReading } from '../source';

/** Longest reply line we accept; real replies are under 32 bytes (model names, dates). */
export const MAX_LINE = 64;

/** Unsolicited characters a UPS may send at any time, even inside a reply line (§3.6). */
export const ALERT_CHARS = '!$%+?=*#&';
/** EEPROM-changed notice: dropped wherever it appears, as apcupsd does. */
const EEPROM_CHANGED = 0x7c;

export type DecodeEvent =
  | { kind: 'line'; text: string }
  | { kind: 'alert'; char: string }
  | { kind: 'garbage'; reason: string };

/**
 * Feeds raw bytes, yields events in arrival order. A partial line is kept until its LF comes
 * ("need more bytes"); a line with bytes no UPS sends, or one longer than MAX_LINE, is reported
 * once as garbage and the decoder resyncs at the next LF. Never throws.
 */
export class ApcStreamDecoder {
  private line = '';
  private bad: string | null = null;
  private badReported = false;

  /** Bytes of the line being assembled (0 when between lines). */
  get pending(): number {
    return this.line.length;
  }

  push(chunk: Uint8Array): DecodeEvent[] {
    const out: DecodeEvent[] = [];
    for (const byte of chunk) {
      if (byte === 0x0a) {
        if (this.bad === null) out.push({ kind: 'line', text: this.line });
        else if (!this.badReported) out.push({ kind: 'garbage', reason: this.bad });
        this.reset();
        continue;
      }
      if (byte === 0x0d || byte === EEPROM_CHANGED) continue;
      const char = String.fromCharCode(byte);
      if (ALERT_CHARS.includes(char)) {
        out.push({ kind: 'alert', char });
        continue;
      }
      if (this.bad !== null) continue;
      if (byte < 0x20 || byte > 0x7e) {
        this.bad = `unexpected byte 0x${byte.toString(16).padStart(2, '0')} in a reply`;
        this.line = '';
        continue;
      }
      if (this.line.length >= MAX_LINE) {
        this.bad = `reply longer than ${MAX_LINE} bytes without LF`;
        this.line = '';
        // Reported now, so a stream that never sends LF cannot grow or stay silent.
        out.push({ kind: 'garbage', reason: this.bad });
        this.badReported = true;
        continue;
      }
      this.line += char;
    }
    return out;
  }

  reset(): void {
    this.line = '';
    this.bad = null;
    this.badReported = false;
  }
}

/** A parsed reply: a value, `NA` (not supported by this unit), or an error naming what was wrong. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; na: true } | { ok: false; na: false; error: string };

const na = { ok: false, na: true } as const;
const bad = (error: string): { ok: false; na: false; error: string } => ({ ok: false, na: false, error });

export const STATUS_BITS: readonly (readonly [number, string])[] = [
  [0x01, 'CAL'],
  [0x02, 'TRIM'],
  [0x04, 'BOOST'],
  [0x08, 'OL'],
  [0x10, 'OB'],
  [0x20, 'OVER'],
  [0x40, 'LB'],
  [0x80, 'RB'],
];

export interface StatusWord {
  bits: number;
  flags: string[];
  status: UpsReading['status'];
}

/** Q reply. `notReady` is the `SM` answer: the register is being updated, ask again. */
export function parseStatus(text: string): Parsed<StatusWord> | { ok: false; na: false; notReady: true; error: string } {
  if (text === 'NA') return na;
  if (text === 'SM') return { ok: false, na: false, notReady: true, error: 'status register not ready (SM)' };
  if (!/^[0-9A-Fa-f]{2}$/.test(text)) return bad(`status "${printable(text)}" is not 2 hex digits`);
  const bits = parseInt(text, 16);
  return { ok: true, value: statusFromBits(bits) };
}

export function statusFromBits(bits: number): StatusWord {
  const flags = STATUS_BITS.filter(([mask]) => (bits & mask) !== 0).map(([, name]) => name);
  return { bits, flags, status: statusOfFlags(flags) };
}

export function statusOfFlags(flags: readonly string[]): UpsReading['status'] {
  if (flags.includes('OB')) return flags.includes('LB') ? 'low_battery' : 'on_battery';
  if (flags.includes('OL')) return 'online';
  // Neither on line nor on battery: the output is off (after Z Z, or a shutdown).
  return 'off';
}

/** f, L, O, P, B, C, F: a decimal number such as `099.0` or `27.87`. */
export function parseDecimal(text: string, what: string): Parsed<number> {
  if (text === 'NA') return na;
  if (!/^\d{1,4}(\.\d{1,3})?$/.test(text)) return bad(`${what} "${printable(text)}" is not a decimal number`);
  return { ok: true, value: Number(text) };
}

/** j: runtime in minutes, usually with a trailing `:` (`0327:`), returned in seconds. */
export function parseRuntime(text: string): Parsed<number> {
  if (text === 'NA') return na;
  const m = /^(\d{1,5}(?:\.\d{1,2})?):?$/.exec(text);
  if (!m?.[1]) return bad(`runtime "${printable(text)}" is not minutes (like 0327:)`);
  return { ok: true, value: Math.round(Number(m[1]) * 60) };
}

/** Shows control bytes in error messages without putting them in logs raw. */
export function printable(text: string): string {
  const shown = text.length > MAX_LINE ? `${text.slice(0, MAX_LINE)}…` : text;
  return shown.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Host → UPS bytes. Pair commands go out twice with a pause; `@ddd` char by char. */
export const CMD = {
  smartMode: 'Y',
  escape: '\x1b',
  status: 'Q',
  charge: 'f',
  runtime: 'j',
  inputV: 'L',
  load: 'P',
  batteryV: 'B',
  selfTest: 'W',
  panelTest: 'A',
  softShutdown: 'S',
  abortShutdown: '\x7f',
  stayOff: 'K',
  loadOff: 'Z',
  loadOn: '\x0e',
} as const;

/** `@ddd`: shut down after the grace delay, wake `ddd` × 6 min after mains returns. */
export function encodeShutdownReturn(tenthsOfHour: number): string {
  const n = Math.max(0, Math.min(999, Math.floor(tenthsOfHour)));
  return `@${String(n).padStart(3, '0')}`;
}

/** What an alert means for the state, given the flags last known; null when it changes nothing. */
export function pushForAlert(char: string, lastFlags: readonly string[]): UpsPush | null {
  const without = (...drop: string[]) => lastFlags.filter((f) => !drop.includes(f));
  const withFlags = (base: string[], ...add: string[]) => [...base, ...add.filter((f) => !base.includes(f))];
  let flags: string[];
  switch (char) {
    case '!':
      flags = withFlags(without('OL'), 'OB');
      break;
    case '$':
      flags = withFlags(without('OB', 'LB'), 'OL');
      break;
    case '%':
      flags = withFlags(lastFlags.includes('OL') ? [...lastFlags] : withFlags(without('OL'), 'OB'), 'LB');
      break;
    case '+':
      flags = without('LB');
      break;
    case '?':
      flags = withFlags([...lastFlags], 'ALARM');
      break;
    case '=':
      flags = without('ALARM');
      break;
    case '#':
      flags = withFlags([...lastFlags], 'RB');
      break;
    case '*':
      return { status: 'shutting_down', flags: withFlags([...lastFlags], 'SD') };
    default:
      return null;
  }
  return { status: statusOfFlags(flags), flags };
}
