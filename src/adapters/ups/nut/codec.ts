/**
 * The NUT network protocol as pure functions: encoding command lines, splitting the byte stream
 * into lines, assembling replies (one line, or a BEGIN LIST … END LIST block) and reading the
 * values out of them. Nothing here touches a socket; decoders return results, never throw.
 */
import { BlackstartError, type ErrorCode } from '../../../core/errors';
import type { UpsReading } from '../source';

/** upsd's own lines are far shorter (its buffer is 512 bytes); more is a stream out of sync. */
export const MAX_LINE_BYTES = 4096;
/** A real UPS has a few hundred variables; a list this long is not one. */
export const MAX_LIST_ITEMS = 10_000;

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: string };

const ok = <T>(value: T): Decoded<T> => ({ ok: true, value });
const fail = <T>(error: string): Decoded<T> => ({ ok: false, error });

// ---------------------------------------------------------------------------------------------
// Encoding

/** Words that need no quotes: upsd splits on blanks and treats `"` and `\` specially. */
const BARE = /^[^\s"\\]+$/;

/** One argument as upsd reads it: bare when it can be, else quoted with `"` and `\` escaped. */
export function quote(arg: string): string {
  if (BARE.test(arg)) return arg;
  return `"${arg.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * A command line. Line breaks and NUL cannot be carried in any form (upsd ends a command at the
 * first one), so an argument holding one is refused rather than silently split into two commands.
 */
export function encodeCommand(words: readonly string[]): string {
  if (words.length === 0) throw new BlackstartError('INTERNAL', 'NUT: empty command');
  for (const w of words) {
    if (/[\r\n\0]/.test(w)) throw new BlackstartError('BAD_REQUEST', 'NUT: a command argument may not contain a line break or NUL');
  }
  const line = `${words.map(quote).join(' ')}\n`;
  if (Buffer.byteLength(line) > MAX_LINE_BYTES) throw new BlackstartError('BAD_REQUEST', `NUT: command longer than ${MAX_LINE_BYTES} bytes`);
  return line;
}

// ---------------------------------------------------------------------------------------------
// Lines

export type SplitItem = { kind: 'line'; line: string } | { kind: 'too_long' };

export interface LineSplitterOptions {
  /** Longest line kept, without its `\n`. */
  maxBytes?: number;
  /** upsd sends UTF-8; upsd itself reads requests byte for byte, hence latin1 on the server side. */
  encoding?: BufferEncoding;
  /**
   * After a line over the limit: `fail` stays failed (a client cannot trust the rest of the
   * stream to be in step); `skip` drops it up to its end and goes on (a server answers one ERR
   * for it, not by closing the connection).
   */
  overLong?: 'fail' | 'skip';
}

/** Cuts a byte stream into `\n`-terminated lines, whatever the chunking; a trailing `\r` is dropped. */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private skipping = false;
  private failure: string | undefined;
  private readonly maxBytes: number;
  private readonly encoding: BufferEncoding;
  private readonly overLong: 'fail' | 'skip';

  constructor(opts: LineSplitterOptions = {}) {
    this.maxBytes = opts.maxBytes ?? MAX_LINE_BYTES;
    this.encoding = opts.encoding ?? 'utf8';
    this.overLong = opts.overLong ?? 'fail';
  }

  /** Lines, and where a line was over the limit, in stream order. */
  split(chunk: Buffer): SplitItem[] {
    const out: SplitItem[] = [];
    if (this.failure) return out;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      if (!this.skipping && this.size + (end - start) > this.maxBytes) {
        out.push({ kind: 'too_long' });
        this.parts = [];
        this.size = 0;
        if (this.overLong === 'fail') {
          this.failure = this.tooLong();
          return out;
        }
        this.skipping = true;
      }
      if (nl === -1) {
        if (!this.skipping && end > start) {
          this.parts.push(chunk.subarray(start, end));
          this.size += end - start;
        }
        return out;
      }
      if (this.skipping) {
        this.skipping = false;
      } else {
        this.parts.push(chunk.subarray(start, nl));
        let line = Buffer.concat(this.parts).toString(this.encoding);
        if (line.endsWith('\r')) line = line.slice(0, -1);
        out.push({ kind: 'line', line });
      }
      this.parts = [];
      this.size = 0;
      start = nl + 1;
    }
  }

  /** The lines only; `error` once a line was over the limit (and from then on, when failed). */
  push(chunk: Buffer): { lines: string[]; error?: string } {
    if (this.failure) return { lines: [], error: this.failure };
    const lines: string[] = [];
    let error: string | undefined;
    for (const item of this.split(chunk)) {
      if (item.kind === 'line') lines.push(item.line);
      else error = this.tooLong();
    }
    return error === undefined ? { lines } : { lines, error };
  }

  /** Bytes held of a line not yet ended. */
  get pending(): number {
    return this.size;
  }

  private tooLong(): string {
    return `line longer than ${this.maxBytes} bytes`;
  }
}

/** Splits a line into words the way upsd does: blanks separate, `"…"` groups, `\` escapes. */
export function tokenize(line: string): Decoded<string[]> {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i] as string;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    let word = '';
    let quoted = false;
    let closed = false;
    if (c === '"') {
      quoted = true;
      i++;
    }
    while (i < line.length) {
      const d = line[i] as string;
      if (d === '\\') {
        if (i + 1 >= line.length) return fail(`dangling backslash at column ${i + 1}`);
        word += line[i + 1];
        i += 2;
        continue;
      }
      if (quoted && d === '"') {
        closed = true;
        i++;
        break;
      }
      if (!quoted && (d === ' ' || d === '\t')) break;
      if (!quoted && d === '"') return fail(`quote inside a bare word at column ${i + 1}`);
      word += d;
      i++;
    }
    if (quoted && !closed) return fail('unterminated quoted string');
    if (quoted && i < line.length && line[i] !== ' ' && line[i] !== '\t') return fail(`text right after a closing quote at column ${i + 1}`);
    words.push(word);
  }
  return ok(words);
}

// ---------------------------------------------------------------------------------------------
// Replies

export type Reply =
  /** Any single line that is not ERR: `OK …`, `VAR …`, `NUMLOGINS …`, `1.3`. */
  | { kind: 'line'; words: string[]; raw: string }
  | { kind: 'err'; code: string; extra: string }
  /** `BEGIN LIST <args>` … `END LIST <args>`: the args and each item line's words. */
  | { kind: 'list'; args: string[]; items: string[][] };

export type Feed = { status: 'more' } | { status: 'done'; reply: Reply } | { status: 'garbage'; error: string };

/** Collects the line(s) of one reply. One assembler per request. */
export class ReplyAssembler {
  private list: { args: string[]; items: string[][] } | undefined;

  constructor(private readonly maxItems = MAX_LIST_ITEMS) {}

  feed(line: string): Feed {
    const t = tokenize(line);
    if (!t.ok) return { status: 'garbage', error: `${t.error} in ${show(line)}` };
    const words = t.value;
    if (this.list) {
      if (words[0] === 'END' && words[1] === 'LIST') {
        const args = words.slice(2);
        if (!sameWords(args, this.list.args)) {
          return { status: 'garbage', error: `list ended with ${show(line)} after BEGIN LIST ${this.list.args.join(' ')}` };
        }
        const reply: Reply = { kind: 'list', args, items: this.list.items };
        this.list = undefined;
        return { status: 'done', reply };
      }
      if (words.length === 0) return { status: 'garbage', error: 'empty line inside a list' };
      if (words[0] === 'BEGIN' || words[0] === 'ERR') return { status: 'garbage', error: `${show(line)} inside a list` };
      if (this.list.items.length >= this.maxItems) return { status: 'garbage', error: `list of more than ${this.maxItems} items` };
      this.list.items.push(words);
      return { status: 'more' };
    }
    if (words.length === 0) return { status: 'garbage', error: 'empty reply line' };
    if (words[0] === 'ERR') {
      if (words.length < 2) return { status: 'garbage', error: 'ERR without a code' };
      return { status: 'done', reply: { kind: 'err', code: words[1] as string, extra: words.slice(2).join(' ') } };
    }
    if (words[0] === 'BEGIN') {
      if (words[1] !== 'LIST' || words.length < 3) return { status: 'garbage', error: `malformed list start ${show(line)}` };
      this.list = { args: words.slice(2), items: [] };
      return { status: 'more' };
    }
    if (words[0] === 'END') return { status: 'garbage', error: `${show(line)} outside a list` };
    return { status: 'done', reply: { kind: 'line', words, raw: line } };
  }

  /** True while inside a list block. */
  get open(): boolean {
    return this.list !== undefined;
  }
}

function sameWords(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((w, i) => w.toUpperCase() === (b[i] as string).toUpperCase());
}

/** A line for an error message: bounded and without control characters. */
export function show(line: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = line.replace(/[\x00-\x1f\x7f]/g, '?');
  return JSON.stringify(clean.length > 80 ? `${clean.slice(0, 80)}…` : clean);
}

// ---------------------------------------------------------------------------------------------
// Reading replies

/** `VAR <ups> <name> "<value>"` items of LIST VAR (or RW) into a map. */
export function varsOf(reply: Reply, ups: string, kind: 'VAR' | 'RW' = 'VAR'): Decoded<Map<string, string>> {
  if (reply.kind !== 'list' || reply.args[0] !== kind) return fail(`expected LIST ${kind}, got ${describeReply(reply)}`);
  const vars = new Map<string, string>();
  for (const item of reply.items) {
    if (item.length !== 4 || item[0] !== kind) return fail(`malformed ${kind} item ${show(item.join(' '))}`);
    if (item[1] !== ups) return fail(`${kind} item for UPS "${item[1]}" in the list of "${ups}"`);
    vars.set(item[2] as string, item[3] as string);
  }
  return ok(vars);
}

export interface UpsEntry {
  name: string;
  description: string;
}

export function upsListOf(reply: Reply): Decoded<UpsEntry[]> {
  if (reply.kind !== 'list' || reply.args[0] !== 'UPS') return fail(`expected LIST UPS, got ${describeReply(reply)}`);
  const out: UpsEntry[] = [];
  for (const item of reply.items) {
    if (item.length !== 3 || item[0] !== 'UPS') return fail(`malformed UPS item ${show(item.join(' '))}`);
    out.push({ name: item[1] as string, description: item[2] as string });
  }
  return ok(out);
}

/** `CMD <ups> <cmd>` or `CLIENT <ups> <address>` items: the last word of each. */
export function namesOf(reply: Reply, kind: 'CMD' | 'CLIENT', ups: string): Decoded<string[]> {
  if (reply.kind !== 'list' || reply.args[0] !== kind) return fail(`expected LIST ${kind}, got ${describeReply(reply)}`);
  const out: string[] = [];
  for (const item of reply.items) {
    if (item.length !== 3 || item[0] !== kind || item[1] !== ups) return fail(`malformed ${kind} item ${show(item.join(' '))}`);
    out.push(item[2] as string);
  }
  return ok(out);
}

/** `VAR <ups> <name> "<value>"` answering GET VAR. */
export function getVarOf(reply: Reply, ups: string, name: string): Decoded<string> {
  if (reply.kind === 'line' && reply.words.length === 4 && reply.words[0] === 'VAR' && reply.words[1] === ups && reply.words[2] === name) {
    return ok(reply.words[3] as string);
  }
  return fail(`expected VAR ${ups} ${name} "…", got ${describeReply(reply)}`);
}

/** `NUMLOGINS <ups> <n>`. */
export function numLoginsOf(reply: Reply, ups: string): Decoded<number> {
  if (reply.kind === 'line' && reply.words.length === 3 && reply.words[0] === 'NUMLOGINS' && reply.words[1] === ups && /^\d{1,9}$/.test(reply.words[2] as string)) {
    return ok(Number(reply.words[2]));
  }
  return fail(`expected NUMLOGINS ${ups} <n>, got ${describeReply(reply)}`);
}

/** upsmon's own test: a reply is a success when it starts with OK. */
export function isOk(reply: Reply): boolean {
  return reply.kind === 'line' && reply.words[0] === 'OK';
}

export function describeReply(reply: Reply): string {
  if (reply.kind === 'err') return `ERR ${reply.code}${reply.extra ? ` ${reply.extra}` : ''}`;
  if (reply.kind === 'list') return `a LIST ${reply.args.join(' ')} block`;
  return show(reply.raw);
}

// ---------------------------------------------------------------------------------------------
// Errors

const AUTH_CODES = new Set(['ACCESS-DENIED', 'INVALID-PASSWORD', 'INVALID-USERNAME', 'USERNAME-REQUIRED', 'PASSWORD-REQUIRED']);
const CODE_MAP: Record<string, ErrorCode> = {
  'UNKNOWN-UPS': 'NOT_FOUND',
  'VAR-UNKNOWN': 'NOT_FOUND',
  'VAR-NOT-SUPPORTED': 'UNSUPPORTED',
  'CMD-NOT-SUPPORTED': 'UNSUPPORTED',
  'UNKNOWN-INSTCMD': 'UNSUPPORTED',
  'FEATURE-NOT-SUPPORTED': 'UNSUPPORTED',
  'FEATURE-NOT-CONFIGURED': 'REFUSED',
  'DRIVER-NOT-CONNECTED': 'UNREACHABLE',
  'DATA-STALE': 'UNREACHABLE',
  'INSTCMD-FAILED': 'REFUSED',
  'SET-FAILED': 'REFUSED',
  READONLY: 'REFUSED',
  'INVALID-VALUE': 'REFUSED',
  'ALREADY-LOGGED-IN': 'REFUSED',
  'ALREADY-SET-USERNAME': 'REFUSED',
  'ALREADY-SET-PASSWORD': 'REFUSED',
  'ALREADY-SSL-MODE': 'REFUSED',
};

const LOST_UPS: Record<string, string> = {
  'DRIVER-NOT-CONNECTED': 'the NUT driver lost the UPS (upsd has no connection to its driver)',
  'DATA-STALE': 'the NUT driver lost the UPS (its data is stale)',
};

export function errorCodeFor(nutCode: string): ErrorCode {
  if (AUTH_CODES.has(nutCode)) return 'AUTH';
  return CODE_MAP[nutCode] ?? 'PROTOCOL';
}

/**
 * An `ERR` reply as a BlackstartError. `where` names the server (`nut://127.0.0.1:3493/labups`),
 * `what` the command (never a password). The server's code stays in the message.
 */
export function nutError(code: string, extra: string, where: string, what: string): BlackstartError {
  const lost = LOST_UPS[code];
  const text = `${where}: ERR ${code}${extra ? ` ${extra}` : ''} on ${what}${lost ? `: ${lost}` : ''}`;
  return new BlackstartError(errorCodeFor(code), text);
}

// ---------------------------------------------------------------------------------------------
// Status and readings

export type NutStatus = UpsReading['status'];

/** `ups.status` tokens to the normalized status; unknown tokens are accepted and kept as flags. */
export function statusOf(value: string): Decoded<{ status: NutStatus; flags: string[] }> {
  const flags = value.split(/\s+/).filter((t) => t.length > 0);
  const has = (t: string): boolean => flags.includes(t);
  let status: NutStatus;
  if (has('FSD')) status = 'shutting_down';
  else if (has('OFF')) status = 'off';
  else if (has('OB') && has('LB')) status = 'low_battery';
  else if (has('OB')) status = 'on_battery';
  else if (has('OL')) status = 'online';
  else return fail(`no status yet (ups.status is ${show(value)})`);
  return ok({ status, flags });
}

/** A NUT number (`023.4`, `230.0`); anything else, or a missing variable, is null. */
export function numberOf(value: string | undefined): number | null {
  if (value === undefined) return null;
  const v = value.trim();
  if (!/^[-+]?(\d+\.?\d*|\.\d+)$/.test(v)) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** The variables of LIST VAR as a reading. */
export function readingOf(vars: ReadonlyMap<string, string>): Decoded<UpsReading> {
  const statusVar = vars.get('ups.status');
  if (statusVar === undefined) return fail('no status yet (ups.status is missing)');
  const s = statusOf(statusVar);
  if (!s.ok) return s;
  return ok({
    status: s.value.status,
    flags: s.value.flags,
    chargePct: numberOf(vars.get('battery.charge')),
    runtimeS: numberOf(vars.get('battery.runtime')),
    loadPct: numberOf(vars.get('ups.load')),
    inputV: numberOf(vars.get('input.voltage')),
    batteryV: numberOf(vars.get('battery.voltage')),
  });
}
