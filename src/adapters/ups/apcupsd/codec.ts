/**
 * apcupsd Network Information Server (NIS) codec: pure, no I/O.
 * Framing: every record is a uint16 big-endian length and that many bytes; a zero-length record
 * ends a reply (shared/reference/protocols.md §1). Decoders return results instead of throwing, so
 * one bad reply can never escape into the event loop.
 */

/** apcupsd itself writes lines of at most 256 bytes; a few KiB tolerates odd builds and stays bounded. */
export const MAX_RECORD_BYTES = 4096;
/** The longest reply we accept: a status block is ~1.3 KiB and `events` at most 50 lines. */
export const MAX_REPLY_BYTES = 64 * 1024;
/** More records than this in one reply is not apcupsd (a status block has ~60, events ≤ 50). */
export const MAX_REPLY_RECORDS = 512;

export type NisCommand = 'status' | 'events';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** One record. Exported for tests and for a NIS server (compat) to share the framing. */
export function encodeRecord(payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
  if (body.length > 0xffff) throw new RangeError(`NIS record of ${body.length} bytes does not fit a 16-bit length`);
  const out = Buffer.alloc(2 + body.length);
  out.writeUInt16BE(body.length, 0);
  body.copy(out, 2);
  return out;
}

/**
 * A request: exactly the six command bytes, no NUL or newline, because apcupsd 3.14.14 compares
 * the length with 6 and answers anything longer with `Invalid command`.
 */
export function encodeRequest(command: NisCommand): Buffer {
  return encodeRecord(command);
}

/** A whole reply as the server sends it (records, then the end marker). */
export function encodeReply(records: readonly (Buffer | string)[]): Buffer {
  return Buffer.concat([...records.map((r) => encodeRecord(r)), Buffer.from([0, 0])]);
}

export type DecodeStep =
  | { kind: 'need-more' }
  | { kind: 'reply'; records: Buffer[]; size: number }
  | { kind: 'garbage'; error: string };

/**
 * Collects one reply from chunks as they arrive. `push` says whether the reply is complete,
 * needs more bytes, or is garbage (after which the decoder stays failed: the stream has lost
 * its framing and the connection must be dropped).
 */
export class ReplyDecoder {
  private buf: Buffer = Buffer.alloc(0);
  private records: Buffer[] = [];
  private total = 0;
  private failed: string | null = null;

  constructor(
    private readonly maxRecord = MAX_RECORD_BYTES,
    private readonly maxReply = MAX_REPLY_BYTES,
  ) {}

  /** Bytes of the reply so far (framing included), for messages. */
  get received(): number {
    return this.total + this.buf.length;
  }

  get recordCount(): number {
    return this.records.length;
  }

  push(chunk: Buffer): DecodeStep {
    if (this.failed !== null) return { kind: 'garbage', error: this.failed };
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      if (this.buf.length < 2) return { kind: 'need-more' };
      const len = this.buf.readUInt16BE(0);
      if (len === 0) {
        const records = this.records;
        const size = this.total + 2;
        const extra = this.buf.length - 2;
        this.reset();
        // apcupsd never sends ahead of a request, so bytes after the end marker mean lost framing.
        if (extra > 0) return this.fail(`${extra} unexpected bytes after the end of the reply`);
        return { kind: 'reply', records, size };
      }
      if (len > this.maxRecord) return this.fail(`record of ${len} bytes (limit ${this.maxRecord}) at byte ${this.total}`);
      if (this.records.length >= MAX_REPLY_RECORDS) return this.fail(`more than ${MAX_REPLY_RECORDS} records in one reply`);
      if (this.total + 2 + len > this.maxReply) return this.fail(`reply longer than ${this.maxReply} bytes`);
      if (this.buf.length < 2 + len) return { kind: 'need-more' };
      this.records.push(Buffer.from(this.buf.subarray(2, 2 + len)));
      this.total += 2 + len;
      this.buf = this.buf.subarray(2 + len);
    }
  }

  reset(): void {
    this.buf = Buffer.alloc(0);
    this.records = [];
    this.total = 0;
    this.failed = null;
  }

  private fail(error: string): DecodeStep {
    this.failed = error;
    return { kind: 'garbage', error };
  }
}

/** One record as text: latin1 (apcupsd writes bytes), without the trailing newline and NUL. */
export function recordText(record: Buffer): string {
  return record.toString('latin1').replace(/[\n\0\r]+$/, '');
}

export type ReplyError = { kind: 'invalid-command' | 'not-running'; text: string };

/** The one-line answers apcupsd gives instead of data (3.14.14 and older wordings). */
export function replyError(records: readonly Buffer[]): ReplyError | null {
  if (records.length !== 1 || records[0] === undefined) return null;
  const text = recordText(records[0]).trim();
  if (text === 'Invalid command') return { kind: 'invalid-command', text };
  if (text === 'Apcupsd internal error' || text === 'Apcupsd not running') return { kind: 'not-running', text };
  return null;
}

export interface StatusBlock {
  /** Status format revision from the `APC` header (1 today). */
  revision: number;
  /** KEY → value, trimmed, in the order received (`END APC` included). */
  fields: Map<string, string>;
}

const HEADER = /^(\d{3}),(\d{3}),(\d{4})$/;
const KEY = /^[A-Z0-9 ]{1,16}$/;

/**
 * The `status` reply: `APC : 001,NNN,LLLL`, NNN lines of `KEY : value`, the last one `END APC`.
 * The line count in the header is checked so a reply cut short or padded is caught; the byte
 * count is not, because older builds got it wrong.
 */
export function parseStatus(records: readonly Buffer[]): Parsed<StatusBlock> {
  const err = replyError(records);
  if (err) return { ok: false, error: `apcupsd answered "${err.text}"` };
  if (records.length === 0) return { ok: false, error: 'empty status reply' };
  const fields = new Map<string, string>();
  let revision = 0;
  let expected = 0;
  for (let i = 0; i < records.length; i++) {
    const line = recordText(records[i] as Buffer);
    if (hasControl(line)) return { ok: false, error: `line ${i + 1}: control characters in a status line` };
    const colon = line.indexOf(':');
    if (colon < 0) return { ok: false, error: `line ${i + 1}: no "KEY : value" in ${JSON.stringify(clip(line))}` };
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (!KEY.test(key)) return { ok: false, error: `line ${i + 1}: bad key ${JSON.stringify(clip(key))}` };
    if (i === 0) {
      const m = key === 'APC' ? HEADER.exec(value) : null;
      if (!m) return { ok: false, error: `line 1: expected the "APC : 001,NNN,LLLL" header, got ${JSON.stringify(clip(line))}` };
      revision = Number(m[1]);
      expected = Number(m[2]);
      continue;
    }
    if (fields.has(key)) return { ok: false, error: `line ${i + 1}: ${key} appears twice` };
    fields.set(key, value);
  }
  const got = records.length - 1;
  if (got !== expected) return { ok: false, error: `header announces ${expected} lines, reply has ${got}` };
  if (!fields.has('END APC')) return { ok: false, error: 'no "END APC" line: the status block is incomplete' };
  return { ok: true, value: { revision, fields } };
}

/** The leading number of a value, ignoring the unit words (`41.5 Minutes`, `23.0 Percent Load Capacity`). */
export function leadingNumber(value: string | undefined): number | null {
  if (value === undefined) return null;
  const m = /^[-+]?(?:\d+\.?\d*|\.\d+)(?=$|\s)/.exec(value.trim());
  if (!m) return null;
  const n = Number(m[0]);
  return Number.isFinite(n) ? n : null;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** Zone names older builds print with %Z; anything else is refused rather than guessed. */
const ZONES: Record<string, number> = {
  UTC: 0, GMT: 0, UT: 0, Z: 0, WET: 0, BST: 60, CET: 60, CEST: 120, EET: 120, EEST: 180,
  EST: -300, EDT: -240, CST: -360, CDT: -300, MST: -420, MDT: -360, PST: -480, PDT: -420,
};
const ISO_STAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})/;
const OLD_STAMP = /^(?:Sun|Mon|Tue|Wed|Thu|Fri|Sat) ([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) ([A-Z]{1,5}) (\d{4})/;

export interface Timestamp {
  /** Epoch milliseconds. */
  at: number;
  /** How many characters of the input the timestamp took. */
  length: number;
}

/**
 * A timestamp at the start of `text`: 3.14.14 `2024-05-01 10:00:00 +0000` (followed by two spaces)
 * or older `Mon Jan 01 12:00:00 UTC 2024`. Null when neither matches or the date is impossible.
 */
export function parseTimestamp(text: string): Timestamp | null {
  let m = ISO_STAMP.exec(text);
  if (m) {
    const [, y, mo, d, h, mi, s, sign, zh, zm] = m;
    const offset = (sign === '-' ? -1 : 1) * (Number(zh) * 60 + Number(zm));
    const at = utc(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), offset);
    return at === null ? null : { at, length: m[0].length };
  }
  m = OLD_STAMP.exec(text);
  if (m) {
    const [, mon, d, h, mi, s, zone, y] = m;
    const month = MONTHS.indexOf(mon as string);
    const offset = ZONES[zone as string];
    if (month < 0 || offset === undefined) return null;
    const at = utc(Number(y), month, Number(d), Number(h), Number(mi), Number(s), offset);
    return at === null ? null : { at, length: m[0].length };
  }
  return null;
}

function utc(y: number, mo: number, d: number, h: number, mi: number, s: number, offsetMin: number): number | null {
  if (mo < 0 || mo > 11 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return null;
  const t = Date.UTC(y, mo, d, h, mi, s);
  if (new Date(t).getUTCDate() !== d) return null;
  return t - offsetMin * 60_000;
}

export const STATUS_WORDS = [
  'CAL', 'TRIM', 'BOOST', 'ONLINE', 'ONBATT', 'OVERLOAD', 'LOWBATT', 'REPLACEBATT', 'NOBATT', 'SLAVE', 'SLAVEDOWN', 'COMMLOST', 'SHUTTING DOWN',
] as const;
export type StatusWord = (typeof STATUS_WORDS)[number];

/**
 * The STATUS value as words. `SHUTTING DOWN` is one token (it replaces the whole string); words
 * we do not know are kept, so a newer apcupsd's flags still reach the raw flag list.
 */
export function statusWords(value: string): string[] {
  const words = value.trim().split(/\s+/).filter((w) => w.length > 0);
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    if (words[i] === 'SHUTTING' && words[i + 1] === 'DOWN') {
      out.push('SHUTTING DOWN');
      i++;
    } else {
      out.push(words[i] as string);
    }
  }
  return out;
}

/** STATFLAG bits (apcupsd defines.h, protocols.md §1.5) by the STATUS word or name they stand for. */
export const STATFLAG_BITS: readonly [mask: number, name: string][] = [
  [0x1, 'CAL'], [0x2, 'TRIM'], [0x4, 'BOOST'], [0x8, 'ONLINE'], [0x10, 'ONBATT'], [0x20, 'OVERLOAD'], [0x40, 'LOWBATT'],
  [0x80, 'REPLACEBATT'], [0x100, 'COMMLOST'], [0x200, 'SHUTTING DOWN'], [0x400, 'SLAVE'], [0x800, 'SLAVEDOWN'],
  [0x20000, 'ONBATT_MSG'], [0x40000, 'FASTPOLL'], [0x80000, 'SHUT_LOAD'], [0x100000, 'SHUT_BTIME'],
  [0x200000, 'SHUT_LTIME'], [0x400000, 'SHUT_EMERG'], [0x800000, 'SHUT_REMOTE'], [0x1000000, 'PLUGGED'],
  [0x4000000, 'BATTPRESENT'],
];

/** `0x05000008` (older: `0x05000008 Status Flag`) → the number, or null. */
export function parseStatFlag(value: string | undefined): number | null {
  if (value === undefined) return null;
  const m = /^0x([0-9a-fA-F]{1,8})(?:$|\s)/.exec(value.trim());
  return m ? parseInt(m[1] as string, 16) : null;
}

export function statFlagNames(flag: number): string[] {
  return STATFLAG_BITS.filter(([mask]) => (flag & mask) !== 0).map(([, name]) => name);
}

export interface NisEvent {
  /** Epoch ms, or null when the line does not start with a timestamp we can read. */
  at: number | null;
  message: string;
}

/**
 * The `events` reply: one `<timestamp>  <message>` line per record, oldest first, or the single
 * record `Not available` when apcupsd keeps no events file (an empty list then).
 */
export function parseEvents(records: readonly Buffer[]): Parsed<NisEvent[]> {
  const err = replyError(records);
  if (err) return { ok: false, error: `apcupsd answered "${err.text}"` };
  if (records.length === 1 && recordText(records[0] as Buffer).trim() === 'Not available') return { ok: true, value: [] };
  const out: NisEvent[] = [];
  for (let i = 0; i < records.length; i++) {
    const line = recordText(records[i] as Buffer);
    if (hasControl(line)) return { ok: false, error: `event line ${i + 1}: control characters` };
    if (line.trim() === '') continue;
    const stamp = parseTimestamp(line);
    out.push(stamp ? { at: stamp.at, message: line.slice(stamp.length).trim() } : { at: null, message: line.trim() });
  }
  return { ok: true, value: out };
}

/** Control characters other than tab: a text line never holds them, framing noise often does. */
function hasControl(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}
