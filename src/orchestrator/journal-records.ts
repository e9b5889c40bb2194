/**
 * The journal's record kinds and their line codec. One JSON object per line, each carrying
 * `v` so a controller never misreads a file written by a newer version of itself.
 */
import { BlackstartError } from '../core/errors';
import { NODE_ID, OUTAGE_PHASES, STEP_ACTIONS, type OutagePhase, type StepAction } from '../core/state';

export const JOURNAL_VERSION = 1;

export const OUTAGE_RESULTS = ['restored', 'partial', 'failed', 'aborted'] as const;
export type OutageResult = (typeof OUTAGE_RESULTS)[number];

interface Base {
  v: typeof JOURNAL_VERSION;
  outage_id: string;
  /** Epoch ms. */
  at: number;
}

interface StepFields {
  host: string;
  action: StepAction;
}

interface DoneFields extends StepFields {
  ok: boolean;
  error?: string;
  /** How the outcome was established, e.g. `ping`, `ipmi_power`, `agent`. */
  verified_by?: string;
  took_ms: number;
}

export type JournalRecord =
  | (Base & { kind: 'outage_started'; ups: string; reason: string; running_before: string[] })
  | (Base & { kind: 'step_intent' } & StepFields)
  | (Base & { kind: 'step_done' } & DoneFields)
  | (Base & { kind: 'phase'; phase: OutagePhase })
  | (Base & { kind: 'plan_aborted'; by: string })
  /** Written before the UPS command of `ups_off` leaves: it goes out once per outage. */
  | (Base & { kind: 'ups_off'; action: string })
  | (Base & { kind: 'restore_started' })
  | (Base & { kind: 'restore_step_intent' } & StepFields)
  | (Base & { kind: 'restore_step_done' } & DoneFields)
  | (Base & { kind: 'outage_ended'; result: OutageResult });

export type JournalKind = JournalRecord['kind'];

type Distribute<T> = T extends unknown ? Omit<T, 'v' | 'at'> & { at?: number } : never;
/** What callers hand to `append`: the version is filled in, and `at` defaults to the clock. */
export type JournalInput = Distribute<JournalRecord>;

const KINDS: readonly JournalKind[] = [
  'outage_started',
  'step_intent',
  'step_done',
  'phase',
  'plan_aborted',
  'ups_off',
  'restore_started',
  'restore_step_intent',
  'restore_step_done',
  'outage_ended',
];

export function encodeRecord(rec: JournalRecord): string {
  // Validating on the way out too: a bad record written today is a startup failure tomorrow.
  validateRecord(rec, (what) => new BlackstartError('INTERNAL', `journal: refusing to write a bad record: ${what}`));
  return JSON.stringify(rec) + '\n';
}

/** Parses one complete line; `where` names the file and line for the error message. */
export function decodeRecord(line: string, where: string): JournalRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new BlackstartError('PROTOCOL', `${where}: not JSON (${(err as Error).message})`);
  }
  return validateRecord(value, (what) => new BlackstartError('PROTOCOL', `${where}: ${what}`));
}

function validateRecord(value: unknown, fail: (what: string) => Error): JournalRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail('not a JSON object');
  const o = value as Record<string, unknown>;
  if (o.v !== JOURNAL_VERSION) {
    throw fail(`version ${JSON.stringify(o.v)} is not ${JOURNAL_VERSION} (written by another version of blackstart?)`);
  }
  const kind = o.kind;
  if (typeof kind !== 'string' || !KINDS.includes(kind as JournalKind)) {
    throw fail(`unknown kind ${JSON.stringify(kind)}`);
  }
  const field = (name: string): string => `${kind}.${name}`;
  const str = (name: string): void => {
    if (typeof o[name] !== 'string' || o[name] === '') throw fail(`${field(name)} must be a non-empty string`);
  };
  const optStr = (name: string): void => {
    if (o[name] !== undefined && typeof o[name] !== 'string') throw fail(`${field(name)} must be a string`);
  };
  const num = (name: string): void => {
    const n = o[name];
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw fail(`${field(name)} must be a number >= 0`);
  };
  const hostId = (name: string, h: unknown): void => {
    if (typeof h !== 'string' || !NODE_ID.test(h)) {
      throw fail(`${field(name)} ${JSON.stringify(h)} is not a host id or <host>/<guest>`);
    }
  };
  const oneOf = (name: string, allowed: readonly string[]): void => {
    if (typeof o[name] !== 'string' || !allowed.includes(o[name])) {
      throw fail(`${field(name)} ${JSON.stringify(o[name])} is not one of ${allowed.join(', ')}`);
    }
  };
  str('outage_id');
  num('at');
  switch (kind as JournalKind) {
    case 'outage_started': {
      str('ups');
      str('reason');
      const rb = o.running_before;
      if (!Array.isArray(rb)) throw fail(`${field('running_before')} must be an array`);
      rb.forEach((h) => hostId('running_before', h));
      break;
    }
    case 'step_intent':
    case 'restore_step_intent':
      hostId('host', o.host);
      oneOf('action', STEP_ACTIONS);
      break;
    case 'step_done':
    case 'restore_step_done':
      hostId('host', o.host);
      oneOf('action', STEP_ACTIONS);
      if (typeof o.ok !== 'boolean') throw fail(`${field('ok')} must be true or false`);
      optStr('error');
      optStr('verified_by');
      num('took_ms');
      break;
    case 'phase':
      oneOf('phase', OUTAGE_PHASES);
      break;
    case 'plan_aborted':
      str('by');
      break;
    case 'ups_off':
      str('action');
      break;
    case 'restore_started':
      break;
    case 'outage_ended':
      oneOf('result', OUTAGE_RESULTS);
      break;
  }
  return value as JournalRecord;
}
