/**
 * The server side of the NUT network protocol as pure functions: how the client codec's
 * LineSplitter cuts the client's byte stream into request lines, reading a request, writing
 * replies (single lines, LIST blocks, ERR) and turning a Blackstart UPS state into NUT variables. Words are split by the client codec's
 * tokenizer, so both sides read quotes and escapes the same way. Nothing here touches a socket.
 */
import { tokenize, type LineSplitterOptions } from '../../adapters/ups/nut/codec';
import type { UpsState } from '../../core/state';

/** upsd keeps 512 bytes of a word; a request line this long is not a NUT client talking. */
export const MAX_REQUEST_BYTES = 1024;
/** upsd's parser stops at 32 words. */
export const MAX_REQUEST_WORDS = 32;

/** The ERR codes this server sends (neterr.h). */
export type NutErrorCode =
  | 'ACCESS-DENIED'
  | 'UNKNOWN-UPS'
  | 'VAR-NOT-SUPPORTED'
  | 'CMD-NOT-SUPPORTED'
  | 'INVALID-ARGUMENT'
  | 'INSTCMD-FAILED'
  | 'READONLY'
  | 'TOO-LONG'
  | 'FEATURE-NOT-CONFIGURED'
  | 'FEATURE-NOT-SUPPORTED'
  | 'DATA-STALE'
  | 'ALREADY-LOGGED-IN'
  | 'ALREADY-SET-PASSWORD'
  | 'ALREADY-SET-USERNAME'
  | 'USERNAME-REQUIRED'
  | 'PASSWORD-REQUIRED'
  | 'UNKNOWN-COMMAND';

// ---------------------------------------------------------------------------------------------
// Requests

/**
 * How requests are cut into lines: a line over the limit is reported once and skipped up to its
 * end, so one bad request costs one ERR, not the connection.
 */
export const REQUEST_SPLITTING: LineSplitterOptions = { maxBytes: MAX_REQUEST_BYTES, encoding: 'latin1', overLong: 'skip' };

export interface Request {
  /** The command word upper-cased (upsd matches commands case-insensitively). */
  command: string;
  /** The words after it, unquoted and unescaped. */
  args: string[];
}

export type Parsed = { ok: true; request: Request } | { ok: false; error: NutErrorCode; why: string };

/**
 * One request line. Printable ASCII only (upsd drops anything else): a control character or a
 * byte above 0x7e is refused here rather than silently dropped, so nothing reaches a name or a log
 * that the client did not visibly send.
 */
export function parseRequest(line: string): Parsed {
  const bad = /[^\x20-\x7e\t]/.exec(line);
  if (bad) return { ok: false, error: 'INVALID-ARGUMENT', why: `byte 0x${bad[0].charCodeAt(0).toString(16).padStart(2, '0')} at column ${bad.index + 1}` };
  const t = tokenize(line);
  if (!t.ok) return { ok: false, error: 'INVALID-ARGUMENT', why: t.error };
  const words = t.value;
  if (words.length === 0) return { ok: false, error: 'UNKNOWN-COMMAND', why: 'empty line' };
  if (words.length > MAX_REQUEST_WORDS) return { ok: false, error: 'INVALID-ARGUMENT', why: `more than ${MAX_REQUEST_WORDS} words` };
  return { ok: true, request: { command: (words[0] as string).toUpperCase(), args: words.slice(1) } };
}

// ---------------------------------------------------------------------------------------------
// Replies

/** A value as upsd writes it: always in quotes, `"` and `\` escaped. */
export function quoted(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export function errLine(code: NutErrorCode): string {
  return `ERR ${code}\n`;
}

/** `VAR <ups> <name> "<value>"`, for GET VAR and inside LIST VAR. */
export function varLine(ups: string, name: string, value: string): string {
  return `VAR ${ups} ${name} ${quoted(value)}\n`;
}

/** `BEGIN LIST <args>`, the items, `END LIST <args>`: the args repeat the query as the client wrote it. */
export function listBlock(args: readonly string[], items: readonly string[]): string {
  const head = args.join(' ');
  return `BEGIN LIST ${head}\n${items.join('')}END LIST ${head}\n`;
}

// ---------------------------------------------------------------------------------------------
// Blackstart state as NUT variables

/** Status tokens that mean the same in NUT, with apcupsd's spelling of two of them. */
const EXTRA_TOKENS: Readonly<Record<string, string>> = {
  CHRG: 'CHRG',
  DISCHRG: 'DISCHRG',
  RB: 'RB',
  REPLACEBATT: 'RB',
  HB: 'HB',
  BYPASS: 'BYPASS',
  CAL: 'CAL',
  OVER: 'OVER',
  OVERLOAD: 'OVER',
  TRIM: 'TRIM',
  BOOST: 'BOOST',
};

/**
 * `ups.status` for a state: the line tokens from the normalized status, then the source's own
 * flags where they have a NUT meaning (CHRG, DISCHRG, RB, …), FSD first when the latch is set or
 * the UPS itself is shutting down. Null while contact is lost: upsd serves nothing from a stale driver.
 */
export function nutStatus(state: Pick<UpsState, 'status' | 'flags'>, fsd: boolean): string | null {
  const has = (t: string): boolean => state.flags.includes(t);
  let line: string[];
  switch (state.status) {
    case 'comm_lost':
      return fsd ? 'FSD' : null;
    case 'online':
      line = ['OL'];
      break;
    case 'on_battery':
      line = ['OB'];
      break;
    case 'low_battery':
      line = ['OB', 'LB'];
      break;
    case 'off':
      line = ['OFF', ...(has('OL') ? ['OL'] : has('OB') ? ['OB'] : [])];
      break;
    case 'shutting_down':
      // The UPS is about to cut its output: as critical as it gets, whatever the line does.
      line = has('OL') ? ['OL'] : ['OB', 'LB'];
      break;
  }
  const extra = new Set<string>();
  for (const f of state.flags) {
    const t = EXTRA_TOKENS[f];
    if (t) extra.add(t);
  }
  // A charger cannot charge from a battery; a source that says so is out of date, not the UPS.
  if (line.includes('OB')) extra.delete('CHRG');
  const tokens = [...line, ...extra];
  if (fsd || state.status === 'shutting_down') tokens.unshift('FSD');
  return tokens.join(' ');
}

/** A number as NUT writes one: `.` decimal point, no exponent, at most two decimals. */
export function nutNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  const s = n.toFixed(2).replace(/0+$/, '').replace(/\.$/, '');
  return s === '-0' ? '0' : s;
}

export interface UpsIdentity {
  /** The Blackstart UPS name (config `name`, else its id). */
  name: string;
  /** Blackstart's version, for driver.version. */
  version: string;
}

/** A UPS's variables now; `stale` while contact is lost, when only an FSD status is left to serve. */
export interface NutVars {
  stale: boolean;
  vars: ReadonlyMap<string, string>;
}

/**
 * Every variable the UPS has now, sorted by name as upsd lists them; variables the source does not
 * report are left out (GET then says VAR-NOT-SUPPORTED). While contact is lost upsd serves nothing
 * (DATA-STALE); a latched FSD is still served as `ups.status`, so a secondary polling a UPS we
 * lost during the outage still learns that it must shut down.
 */
export function nutVariables(state: UpsState, who: UpsIdentity, fsd: boolean): NutVars {
  const status = nutStatus(state, fsd);
  if (state.status === 'comm_lost') return { stale: true, vars: new Map(status === null ? [] : [['ups.status', status]]) };
  const vars: [string, string | number | null][] = [
    ['battery.charge', state.chargePct],
    ['battery.runtime', state.runtimeS === null ? null : Math.round(state.runtimeS)],
    ['battery.voltage', state.batteryV],
    ['device.mfr', 'Blackstart'],
    ['device.model', who.name],
    ['device.type', 'ups'],
    ['driver.name', 'blackstart'],
    ['driver.version', who.version],
    ['input.voltage', state.inputV],
    ['ups.load', state.loadPct],
    ['ups.mfr', 'Blackstart'],
    ['ups.model', who.name],
    ['ups.status', status],
  ];
  const out = new Map<string, string>();
  for (const [k, v] of vars) {
    if (v === null) continue;
    out.set(k, typeof v === 'number' ? nutNumber(v) : v);
  }
  return { stale: false, vars: out };
}

/** What GET DESC answers for the variables above: upsd's own texts, from NUT's cmdvartab. */
export const VAR_DESCRIPTIONS: Readonly<Record<string, string>> = {
  'battery.charge': 'Battery charge (percent of full)',
  'battery.runtime': 'Battery runtime (seconds)',
  'battery.voltage': 'Battery voltage (V)',
  'driver.name': 'Driver name',
  'driver.version': 'Driver version - NUT release',
  'input.voltage': 'Input voltage (V)',
  'ups.load': 'Load on UPS (percent of full)',
  'ups.mfr': 'UPS manufacturer',
  'ups.model': 'UPS model',
  'ups.status': 'UPS status',
};

/** Variables whose values are numbers (GET TYPE says NUMBER; the rest are STRING). */
export const NUMERIC_VARS: ReadonlySet<string> = new Set(['battery.charge', 'battery.runtime', 'battery.voltage', 'input.voltage', 'ups.load']);

/** What GET CMDDESC answers for common instant commands, from the same cmdvartab. */
export const CMD_DESCRIPTIONS: Readonly<Record<string, string>> = {
  'load.off': 'Turn off the load immediately',
  'load.on': 'Turn on the load immediately',
  'shutdown.return': 'Turn off the load and return when power is back',
  'shutdown.stayoff': 'Turn off the load and remain off',
  'shutdown.stop': 'Stop a shutdown in progress',
  'shutdown.reboot': 'Shut down the load briefly while rebooting the UPS',
  'test.panel.start': 'Start testing the UPS panel',
  'test.battery.start': 'Start a battery test',
  'test.battery.start.quick': 'Start a quick battery test',
  'test.battery.start.deep': 'Start a deep battery test',
  'test.battery.stop': 'Stop the battery test',
  'calibrate.start': 'Start run time calibration',
  'calibrate.stop': 'Stop run time calibration',
  'beeper.enable': 'Enable the UPS beeper',
  'beeper.disable': 'Disable the UPS beeper',
  'beeper.mute': 'Temporarily mute the UPS beeper',
};
