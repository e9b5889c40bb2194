/**
 * The apcupsd source: reads an apcupsd Network Information Server (NETSERVER on, TCP 3551) and
 * turns its status block into a normalized reading. Read-only: NIS takes no commands.
 */
import { BlackstartError } from '../../../core/errors';
import type { SourceDeps, UpsReading, UpsSource } from '../source';
import { NisClient, type NisConnector } from './client';
import { leadingNumber, parseEvents, parseStatFlag, parseStatus, replyError, statFlagNames, STATUS_WORDS, statusWords, type NisEvent, type StatusBlock } from './codec';
import type { ApcupsdConfig } from './config';

export { apcupsdSchema, type ApcupsdConfig } from './config';
export type { NisEvent } from './codec';
export type { NisConnector } from './client';

/**
 * The normalized reading of one status block. Throws a BlackstartError when the block says the
 * state is unknown: COMMLOST (apcupsd lost its UPS) is UNREACHABLE, so the adapter declares
 * comm_lost instead of repeating the last values apcupsd still prints.
 */
export function readingFromStatus(block: StatusBlock, label: string): UpsReading {
  const f = block.fields;
  const statusValue = f.get('STATUS');
  let words: string[];
  if (statusValue !== undefined) {
    words = statusWords(statusValue);
  } else {
    // Only a very old or trimmed block lacks STATUS; the flag word carries the same bits.
    const flag = parseStatFlag(f.get('STATFLAG'));
    if (flag === null) throw new BlackstartError('PROTOCOL', `${label}: status block has neither STATUS nor STATFLAG`);
    words = statFlagNames(flag).filter((w) => (STATUS_WORDS as readonly string[]).includes(w));
  }
  const has = (w: string): boolean => words.includes(w);
  let status: UpsReading['status'];
  if (has('SHUTTING DOWN')) status = 'shutting_down';
  else if (has('COMMLOST')) throw new BlackstartError('UNREACHABLE', `${label}: apcupsd lost its UPS (STATUS COMMLOST)`);
  else if (has('SLAVEDOWN')) throw new BlackstartError('UNREACHABLE', `${label}: apcupsd lost its master (STATUS SLAVEDOWN)`);
  else if (has('ONBATT')) status = has('LOWBATT') ? 'low_battery' : 'on_battery';
  else if (has('ONLINE')) status = 'online';
  else throw new BlackstartError('PROTOCOL', `${label}: STATUS ${JSON.stringify(statusValue ?? '')} says neither ONLINE nor ONBATT`);

  const minutes = leadingNumber(f.get('TIMELEFT'));
  return {
    status,
    flags: words,
    chargePct: leadingNumber(f.get('BCHARGE')),
    runtimeS: minutes === null ? null : Math.round(minutes * 60),
    loadPct: leadingNumber(f.get('LOADPCT')),
    inputV: leadingNumber(f.get('LINEV')),
    batteryV: leadingNumber(f.get('BATTV')),
    onBatteryS: leadingNumber(f.get('TONBATT')),
  };
}

export interface ApcupsdSource extends UpsSource {
  /** apcupsd's event log (at most its last 50 lines, oldest first); empty when it keeps none. */
  events(): Promise<NisEvent[]>;
}

export interface ApcupsdSourceOptions {
  /** How to open the connection; tests inject an in-memory stream. Default: TCP. */
  connect?: NisConnector;
}

export function apcupsdLabel(host: string, port: number): string {
  return `apcupsd://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export function createApcupsdSource(cfg: ApcupsdConfig, deps: SourceDeps, opts: ApcupsdSourceOptions = {}): ApcupsdSource {
  const label = apcupsdLabel(cfg.host, cfg.port);
  const client = new NisClient({ host: cfg.host, port: cfg.port, timeoutMs: cfg.timeout, clock: deps.clock, connect: opts.connect, label });

  const ask = async (command: 'status' | 'events'): Promise<Buffer[]> => {
    const records = await client.request(command);
    const err = replyError(records);
    if (!err) return records;
    // apcupsd closes after these, so the next poll reconnects on its own.
    if (err.kind === 'not-running') {
      throw new BlackstartError('UNREACHABLE', `${label}: apcupsd answered "${err.text}" (its UPS driver is not running)`);
    }
    throw new BlackstartError('PROTOCOL', `${label}: apcupsd answered "${err.text}" to "${command}"`);
  };

  /** apcupsd's DATE as last seen, and when (our clock) it last moved. */
  let lastDate: string | undefined;
  let dateMovedAt = 0;
  const checkFresh = (block: StatusBlock): void => {
    const date = block.fields.get('DATE');
    const now = deps.clock.now();
    if (date === undefined || date !== lastDate) {
      lastDate = date;
      dateMovedAt = now;
      return;
    }
    if (cfg.staleAfter > 0 && now - dateMovedAt > cfg.staleAfter) {
      throw new BlackstartError('UNREACHABLE', `${label}: apcupsd has not heard from its UPS since ${date.trim()} (DATE unchanged for more than stale_after)`);
    }
  };

  return {
    label,
    async read() {
      const parsed = parseStatus(await ask('status'));
      if (!parsed.ok) throw new BlackstartError('PROTOCOL', `${label}: bad status reply: ${parsed.error}`);
      const reading = readingFromStatus(parsed.value, label);
      checkFresh(parsed.value);
      return reading;
    },
    async events() {
      const parsed = parseEvents(await ask('events'));
      if (!parsed.ok) throw new BlackstartError('PROTOCOL', `${label}: bad events reply: ${parsed.error}`);
      return parsed.value;
    },
    async close() {
      await client.close();
      deps.log.debug({ source: label }, 'apcupsd connection closed');
    },
  };
}
