/**
 * apcupsd NIS, the server's side: reading requests and writing the `status` and `events` replies
 * as apcupsd 3.14.14 does (shared/reference/protocols.md §1, checked against captures of a real
 * apcupsd in test/fixtures/apcupsd/). Pure: no sockets, no clock; the server passes the time in.
 * The record framing is the client codec's, so both directions share one implementation.
 */
import { encodeRecord, STATFLAG_BITS } from '../../adapters/ups/apcupsd/codec';
import { BlackstartError } from '../../core/errors';
import { isOnBattery, type UpsState, type UpsStatus } from '../../core/state';

/** apcupsd reads a request into a MAXSTRING buffer and drops the connection when it is longer. */
export const MAX_REQUEST_BYTES = 256;
/** apcupsd's `events` sends at most this many of the newest lines (NLE in apcnis.c). */
export const MAX_EVENT_LINES = 50;

const END = Buffer.from([0, 0]);

export type RequestStep =
  | { kind: 'status' }
  | { kind: 'events' }
  /** Anything else that is well framed: apcupsd answers `Invalid command` and keeps the connection. */
  | { kind: 'invalid'; request: Buffer }
  /** A zero-length record: the client's soft EOF, after which apcupsd closes. */
  | { kind: 'end' }
  /** A record longer than MAX_REQUEST_BYTES: apcupsd's read fails and it closes. */
  | { kind: 'garbage'; error: string };

/**
 * Requests from a byte stream. `push` returns every complete request in the chunk; bytes of a
 * request still on its way stay buffered (at most one header and MAX_REQUEST_BYTES), so a slow
 * or hostile client cannot make it grow. After `end` or `garbage` it returns nothing more.
 */
export class RequestDecoder {
  private buf: Buffer = Buffer.alloc(0);
  private closed = false;

  push(chunk: Buffer): RequestStep[] {
    if (this.closed) return [];
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: RequestStep[] = [];
    while (this.buf.length >= 2) {
      const len = this.buf.readUInt16BE(0);
      if (len === 0) return this.close(out, { kind: 'end' });
      if (len > MAX_REQUEST_BYTES) {
        return this.close(out, { kind: 'garbage', error: `request of ${len} bytes (apcupsd reads at most ${MAX_REQUEST_BYTES})` });
      }
      if (this.buf.length < 2 + len) break;
      const body = this.buf.subarray(2, 2 + len);
      this.buf = this.buf.subarray(2 + len);
      out.push(requestOf(body));
    }
    // Keep only what is still needed, not the chunk it arrived in.
    if (this.buf.length > 0) this.buf = Buffer.from(this.buf);
    return out;
  }

  /** Bytes of an unfinished request, for a message when the client goes quiet. */
  get pending(): number {
    return this.buf.length;
  }

  private close(out: RequestStep[], last: RequestStep): RequestStep[] {
    this.closed = true;
    this.buf = Buffer.alloc(0);
    out.push(last);
    return out;
  }
}

/** 3.14.14 compares the whole record: `status\n` or `status\0` is an invalid command there too. */
function requestOf(body: Buffer): RequestStep {
  const text = body.length === 6 ? body.toString('latin1') : '';
  if (text === 'status') return { kind: 'status' };
  if (text === 'events') return { kind: 'events' };
  return { kind: 'invalid', request: Buffer.from(body) };
}

/** apcupsd sends the C string with its NUL, inside the record. */
export function invalidCommandReply(): Buffer {
  return Buffer.concat([encodeRecord(Buffer.from('Invalid command\n\0', 'latin1')), END]);
}

/** What the server has to say about the UPS it serves, beyond its normalized state. */
export interface NisIdentity {
  /** UPSNAME: slaves keep its first word, so it should be one (the UPS id is). */
  upsName: string;
  hostname: string;
  /** VERSION value. */
  version: string;
  /** DRIVER value: where the state comes from. */
  driver: string;
  model: string;
  /** Epoch ms the server started (STARTTIME). */
  startedAt: number;
}

/** Transfers to battery since the server started, as apcupsd counts them since it did. */
export interface NisTransfers {
  count: number;
  /** Epoch ms of the last transfer to battery, or null. */
  lastOn: number | null;
  /** Epoch ms of the last return to mains, or null. */
  lastOff: number | null;
  /** Seconds on battery in outages that are over. */
  completedS: number;
}

export interface StatusInput {
  state: UpsState;
  /**
   * The last status that was neither comm_lost nor off: apcupsd keeps a lost UPS's last bits in
   * STATFLAG, and slaves act on them (protocols.md §1.5; a real COMMLOST shows 0x05000108).
   */
  lastKnown: UpsStatus | null;
  /** Blackstart's controller is about to go down: apcupsd's master then shows SHUTTING DOWN. */
  masterShuttingDown: boolean;
  identity: NisIdentity;
  transfers: NisTransfers;
  /** Epoch ms the reply is made (END APC, TONBATT). */
  now: number;
  /** Minutes east of UTC at a given instant; apcupsd prints local time with its offset. Default UTC. */
  utcOffset?: (ms: number) => number;
}

/** A mask from the apcupsd client's STATFLAG table, so what we send and what we read share one set of bits. */
function bit(name: string): number {
  const entry = STATFLAG_BITS.find(([, n]) => n === name);
  if (!entry) throw new BlackstartError('INTERNAL', `no STATFLAG bit named "${name}"`);
  return entry[0];
}

/** STATFLAG bits (apcupsd defines.h); only those Blackstart has a meaning for. */
export const FLAG = {
  online: bit('ONLINE'),
  onBattery: bit('ONBATT'),
  batteryLow: bit('LOWBATT'),
  commLost: bit('COMMLOST'),
  shutdown: bit('SHUTTING DOWN'),
  onBatteryMsg: bit('ONBATT_MSG'),
  fastPoll: bit('FASTPOLL'),
  plugged: bit('PLUGGED'),
  batteryPresent: bit('BATTPRESENT'),
} as const;

/**
 * The STATFLAG word. Every real master sets "plugged" and "battery present" (a slave that misses
 * the latter reports a detached battery). On battery it also sets the "onbattery sent" and
 * "fast poll" bits, as a captured ONBATT does (0x05060010); a slave copies fast poll and then
 * polls every second. COMMLOST and SHUTTING DOWN keep the last known bits, because slaves act on
 * them: ONBATT LOWBATT still takes them down when the master loses its UPS.
 */
export function statFlag(input: Pick<StatusInput, 'state' | 'lastKnown' | 'masterShuttingDown'>): number {
  const { state, lastKnown, masterShuttingDown } = input;
  let flag = FLAG.plugged | FLAG.batteryPresent;
  const known = state.status === 'online' || isOnBattery(state.status) ? state.status : lastKnown;
  if (known === 'online') flag |= FLAG.online;
  if (known !== null && isOnBattery(known)) flag |= FLAG.onBattery | FLAG.onBatteryMsg | FLAG.fastPoll;
  if (known === 'low_battery') flag |= FLAG.batteryLow;
  if (state.status === 'comm_lost' || state.status === 'off') flag |= FLAG.commLost;
  if (state.status === 'shutting_down' || masterShuttingDown) flag |= FLAG.shutdown;
  return flag >>> 0;
}

/**
 * The STATUS words, built as apcupsd builds them: each word with a trailing space, then COMMLOST
 * and SHUTTING DOWN replacing the whole string. apcupsd has no word for a UPS whose output is off;
 * a real master loses the link to such a UPS (serial ones stop answering, USB ones vanish), so
 * `off` shows as COMMLOST, which makes no slave shut down that is still running on other power.
 */
export function statusWords(input: Pick<StatusInput, 'state' | 'lastKnown' | 'masterShuttingDown'>): string {
  const { state, masterShuttingDown } = input;
  if (state.status === 'shutting_down' || masterShuttingDown) return 'SHUTTING DOWN';
  if (state.status === 'comm_lost' || state.status === 'off') return 'COMMLOST ';
  if (state.status === 'online') return 'ONLINE ';
  return state.status === 'low_battery' ? 'ONBATT LOWBATT ' : 'ONBATT ';
}

/**
 * The lines of a `status` reply after the `APC` header, each `KEY` padded to 9 characters, `: `,
 * the value and a newline. Order and formats follow apcupsd 3.14.14; a value Blackstart does
 * not know is left out, as apcupsd leaves out what its UPS cannot report. Keep LINEV before
 * anything containing "LINEV" and BATTV before anything containing "BATTV": a slave finds each
 * key with strstr over the whole reply.
 */
export function statusLines(input: StatusInput): string[] {
  const { state, identity: id, transfers: t, now } = input;
  const stamp = (ms: number): string => formatStamp(ms, input.utcOffset?.(ms) ?? 0);
  const lines: [string, string][] = [
    ['DATE', stamp(state.updated)],
    ['HOSTNAME', id.hostname],
    ['VERSION', id.version],
    ['UPSNAME', id.upsName],
    ['DRIVER', id.driver],
    ['UPSMODE', 'Stand Alone'],
    ['STARTTIME', stamp(id.startedAt)],
    ['MODEL', id.model],
    ['STATUS', statusWords(input)],
  ];
  const number = (key: string, value: number | null, unit: string, scale = 1): void => {
    if (value !== null && Number.isFinite(value)) lines.push([key, `${(value / scale).toFixed(1)} ${unit}`]);
  };
  number('LINEV', state.inputV, 'Volts');
  number('LOADPCT', state.loadPct, 'Percent');
  number('BCHARGE', state.chargePct, 'Percent');
  number('TIMELEFT', state.runtimeS, 'Minutes', 60);
  number('BATTV', state.batteryV, 'Volts');
  // Blackstart learns that mains failed, not why; "UNKNOWN EVENT" is apcupsd's own wording for that.
  lines.push(['LASTXFER', t.count === 0 ? 'No transfers since turnon' : 'UNKNOWN EVENT']);
  lines.push(['NUMXFERS', String(t.count)]);
  if (t.count > 0 && t.lastOn !== null) lines.push(['XONBATT', stamp(t.lastOn)]);
  const onBatteryS = onBatteryNow(input);
  lines.push(['TONBATT', `${onBatteryS} Seconds`]);
  lines.push(['CUMONBATT', `${t.completedS + onBatteryS} Seconds`]);
  lines.push(['XOFFBATT', t.lastOff === null ? 'N/A' : stamp(t.lastOff)]);
  lines.push(['STATFLAG', `0x${statFlag(input).toString(16).toUpperCase().padStart(8, '0')}`]);
  lines.push(['END APC', stamp(now)]);
  return lines.map(([key, value]) => `${key.padEnd(9)}: ${clean(value)}\n`);
}

/** Seconds on battery now: from the transfer, like apcupsd, so it keeps counting between readings. */
function onBatteryNow(input: StatusInput): number {
  const bits = statFlag(input);
  if ((bits & FLAG.onBattery) === 0 || input.transfers.lastOn === null) return 0;
  return Math.max(0, Math.floor((input.now - input.transfers.lastOn) / 1000));
}

/** The whole `status` reply: header record, one record per line, end marker. */
export function encodeStatus(input: StatusInput): Buffer {
  const lines = statusLines(input);
  const bytes = lines.reduce((n, l) => n + Buffer.byteLength(l, 'latin1'), 0);
  // The header counts the lines after it and their bytes (a real reply: 052 lines, 1150 bytes).
  const header = `APC      : 001,${String(lines.length).padStart(3, '0')},${String(bytes).padStart(4, '0')}\n`;
  return Buffer.concat([...[header, ...lines].map((l) => encodeRecord(l)), END]);
}

/** The `events` reply: the newest MAX_EVENT_LINES lines, oldest first, one record each. */
export function encodeEvents(lines: readonly string[]): Buffer {
  const last = lines.slice(-MAX_EVENT_LINES);
  return Buffer.concat([...last.map((l) => encodeRecord(`${clean(l)}\n`)), END]);
}

/** One events line as apcupsd writes it: timestamp, two spaces, message. */
export function eventLine(at: number, message: string, utcOffsetMin = 0): string {
  return `${formatStamp(at, utcOffsetMin)}${message}`;
}

/**
 * apcupsd 3.14.14's timestamp, `2026-12-01 13:00:00 +0000` and the two spaces it always
 * prints after it (in DATE, STARTTIME, XONBATT, END APC and before an event's message).
 */
export function formatStamp(ms: number, utcOffsetMin = 0): string {
  const d = new Date(ms + utcOffsetMin * 60_000);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const sign = utcOffsetMin < 0 ? '-' : '+';
  const off = Math.abs(utcOffsetMin);
  const date = `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}`;
  const time = `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
  return `${date} ${time} ${sign}${p(Math.floor(off / 60))}${p(off % 60)}  `;
}

/**
 * A value as one printable latin1 line of bounded length: a name from the config or a source
 * label must not break the line framing or apcupsd's 256-byte line buffer.
 */
function clean(value: string): string {
  const printable = value.replace(/[^\x20-\x7e\xa0-\xff]/g, '?');
  return printable.length > 200 ? printable.slice(0, 200) : printable;
}
