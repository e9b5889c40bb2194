/**
 * JSON shapes on the wire (snake_case, ISO times) and the parsing of incoming commands.
 * The bridge and remote-mode clients use these; nothing else formats MQTT payloads.
 */
import { z } from 'zod';
import { camelKeys, snakeKeys } from '../core/case';
import { BlackstartError, isErrorCode, type ErrorCode } from '../core/errors';
import { EVENT_TYPES, type BlackstartEvent } from '../core/events';
import type { CommandResult, VmInfo } from '../core/hub';
import { HOST_PHASES, OUTAGE_PHASES, POWER_STATES, STEP_STATES, UPS_STATUSES, type HostState, type OutageState, type SensorMap, type UpsState, VM_STATES, type VmState } from '../core/state';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function upsPayload(s: UpsState): Record<string, unknown> {
  return snakeKeys({ ...s, flags: [...s.flags], updated: iso(s.updated) });
}

export function hostPayload(s: HostState): Record<string, unknown> {
  return snakeKeys({ ...s, since: iso(s.since) });
}

/** A guest: its state as the hypervisor reports it, and the name the hypervisor knows it by. */
export function vmPayload(s: VmState, info: VmInfo): Record<string, unknown> {
  return snakeKeys({ ...s, since: iso(s.since), name: info.name });
}

export function sensorsPayload(s: SensorMap): Record<string, unknown> {
  // Already snake-free ({value, unit, status}) and already a copy from the hub.
  return s;
}

export function outagePayload(s: OutageState): Record<string, unknown> {
  return snakeKeys({
    ...s,
    plan: s.plan.map((step) => snakeKeys({ ...step, deadline: iso(step.deadline), started: iso(step.started), finished: iso(step.finished) })),
    started: iso(s.started),
    deadline: iso(s.deadline),
    budget: s.budget && snakeKeys({ ...s.budget, criticalPath: [...s.budget.criticalPath] }),
    planned: s.planned && snakeKeys({ ...s.planned, shutdownAt: iso(s.planned.shutdownAt), start: iso(s.planned.start), end: iso(s.planned.end) }),
  });
}

export function eventPayload(e: BlackstartEvent): Record<string, unknown> {
  return { ...e, at: iso(e.at) };
}

export function resultPayload(r: CommandResult): Record<string, unknown> {
  return { id: r.id, action: r.action, ok: r.ok, ...(r.error ? { error: r.error } : {}), took_ms: r.tookMs, ...(r.detail ? { detail: snakeKeys(r.detail) } : {}) };
}

export function encode(payload: unknown): string {
  return JSON.stringify(payload);
}

/** Biggest command payload accepted; commands are a few dozen bytes. */
export const MAX_COMMAND_BYTES = 4096;

const commandSchema = z.strictObject({
  action: z.string().min(1).max(64),
  id: z.union([z.string().max(200), z.number()]).optional(),
  args: z.record(z.string(), z.unknown()).optional(),
});

export interface ParsedCommand {
  action: string;
  id: string | null;
  args?: Record<string, unknown>;
}

/**
 * Reads a command payload: JSON `{"action": ..., "id"?: ...}` or the plain words `ON` / `OFF`
 * (wake / shutdown). Throws BAD_REQUEST naming what is wrong; `partial` carries the action and id
 * when they could be read, so the result can echo them.
 */
export function parseCommand(payload: Buffer | string): ParsedCommand {
  const text = (typeof payload === 'string' ? payload : payload.toString('utf8')).trim();
  if (Buffer.byteLength(text) > MAX_COMMAND_BYTES) {
    throw new CommandParseError(`payload is ${Buffer.byteLength(text)} bytes; commands are at most ${MAX_COMMAND_BYTES}`);
  }
  const word = text.toUpperCase();
  if (word === 'ON') return { action: 'wake', id: null };
  if (word === 'OFF') return { action: 'shutdown', id: null };
  if (text === '') throw new CommandParseError('empty payload: send {"action": "..."} or ON / OFF');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CommandParseError(`payload is not valid JSON (${(err as Error).message}); send {"action": "..."} or ON / OFF`);
  }
  const parsed = commandSchema.safeParse(json);
  if (!parsed.success) {
    const partial = json && typeof json === 'object' ? (json as Record<string, unknown>) : {};
    const detail = parsed.error.issues
      .map((i) => (i.code === 'unrecognized_keys' ? `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}` : `${i.path.join('.') || 'payload'}: ${i.message}`))
      .join('; ');
    throw new CommandParseError(`invalid command: ${detail}`, {
      action: typeof partial.action === 'string' ? partial.action : null,
      id: typeof partial.id === 'string' || typeof partial.id === 'number' ? String(partial.id) : null,
    });
  }
  const cmd: ParsedCommand = { action: parsed.data.action, id: parsed.data.id === undefined ? null : String(parsed.data.id) };
  if (parsed.data.args) cmd.args = parsed.data.args;
  return cmd;
}

export class CommandParseError extends BlackstartError {
  constructor(
    message: string,
    readonly partial: { action: string | null; id: string | null } = { action: null, id: null },
  ) {
    super('BAD_REQUEST', message);
    this.name = 'CommandParseError';
  }
}

/** What a `blackstart agent` answers on `<base>/agent/<id>/result`. */
export interface AgentResult {
  id: string | null;
  action: string | null;
  ok: boolean;
  error?: { code: ErrorCode; message: string };
  tookMs: number;
  /** snake_case already: it goes on the wire as it is. */
  detail?: Record<string, unknown>;
}

export function agentResultPayload(r: AgentResult): Record<string, unknown> {
  return {
    id: r.id,
    action: r.action,
    ok: r.ok,
    ...(r.error ? { error: r.error } : {}),
    took_ms: r.tookMs,
    ...(r.detail ? { detail: r.detail } : {}),
  };
}

const resultSchema = z.object({
  id: z.string().nullable(),
  action: z.string().nullable(),
  ok: z.boolean(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  took_ms: z.number(),
  detail: z.record(z.string(), z.unknown()).optional(),
});

/** A result as an agent or the daemon sends it; `detail` stays snake_case, as it came. Throws PROTOCOL. */
function parseResult(payload: Buffer | string, what: string): AgentResult {
  const d = checked(resultSchema, readJson(payload, what), what);
  const out: AgentResult = { id: d.id, action: d.action, ok: d.ok, tookMs: d.took_ms };
  if (d.error) out.error = { code: isErrorCode(d.error.code) ? d.error.code : 'PROTOCOL', message: d.error.message };
  if (d.detail) out.detail = d.detail;
  return out;
}

/** Reads an agent's result; throws PROTOCOL naming what is wrong. */
export function parseAgentResult(payload: Buffer | string): AgentResult {
  return parseResult(payload, 'agent result');
}

// Reading the retained state back, for remote-mode clients (Homebridge, Node-RED). Each throws
// PROTOCOL naming what is wrong; unknown extra keys are tolerated so a newer daemon stays readable.

function readJson(payload: Buffer | string, what: string): unknown {
  const text = typeof payload === 'string' ? payload : payload.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BlackstartError('PROTOCOL', `${what} is not valid JSON (${(err as Error).message})`);
  }
}

function checked<T>(schema: z.ZodType<T>, json: unknown, what: string): T {
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new BlackstartError('PROTOCOL', `${what}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

const isoMs = z.string().transform((s, ctx) => {
  const ms = Date.parse(s);
  if (Number.isNaN(ms)) ctx.addIssue({ code: 'custom', message: `"${s}" is not an ISO time` });
  return ms;
});
const num = z.number().nullable();

const upsStateSchema = z.object({
  status: z.enum(UPS_STATUSES),
  flags: z.array(z.string()),
  charge_pct: num,
  runtime_s: num,
  load_pct: num,
  input_v: num,
  battery_v: num,
  on_battery_s: z.number(),
  source: z.string(),
  updated: isoMs,
});

export function parseUpsPayload(payload: Buffer | string): UpsState {
  const d = checked(upsStateSchema, readJson(payload, 'UPS state'), 'UPS state');
  return camelKeys(d);
}

const hostStateSchema = z.object({
  reachable: z.boolean().nullable(),
  latency_ms: num,
  power: z.enum(POWER_STATES),
  phase: z.enum(HOST_PHASES),
  since: isoMs,
  last_error: z.string().nullable(),
});

export function parseHostPayload(payload: Buffer | string): HostState {
  return camelKeys(checked(hostStateSchema, readJson(payload, 'host state'), 'host state'));
}

const vmStateSchema = z.object({
  state: z.enum(VM_STATES),
  since: isoMs,
  last_error: z.string().nullable(),
  name: z.string(),
});

/** A guest's retained state, with the name its hypervisor knows it by. */
export function parseVmPayload(payload: Buffer | string): VmState & { name: string } {
  return camelKeys(checked(vmStateSchema, readJson(payload, 'guest state'), 'guest state'));
}

const sensorsSchema = z.record(z.string(), z.object({ value: num, unit: z.string(), status: z.string() }));

export function parseSensorsPayload(payload: Buffer | string): SensorMap {
  return checked(sensorsSchema, readJson(payload, 'host sensors'), 'host sensors');
}

/** A device's command result; `detail` stays snake_case, as it came. */
export function parseResultPayload(payload: Buffer | string): CommandResult {
  return parseResult(payload, 'command result') as CommandResult;
}

const isoOrNull = isoMs.nullable();

const planStepSchema = z.object({
  host: z.string(),
  action: z.string(),
  stage: z.enum(['shutdown', 'restore']),
  wave: z.number(),
  deadline: isoOrNull,
  state: z.enum(STEP_STATES),
  started: isoOrNull,
  finished: isoOrNull,
  error: z.string().nullable(),
});

const budgetSchema = z.object({
  runtime_s: num,
  reserve_s: z.number(),
  needed_s: z.number(),
  worst_case_s: z.number(),
  slack_s: num,
  critical_path: z.array(z.string()),
});

const plannedSchema = z.object({ name: z.string(), shutdown_at: isoMs, start: isoMs, end: isoMs });

// Older daemons may lack the later keys (id, reason, budget, planned): they read as null.
const outageStateSchema = z.object({
  phase: z.enum(OUTAGE_PHASES),
  ups: z.string().nullable(),
  plan: z.array(planStepSchema),
  started: isoOrNull,
  deadline: isoOrNull,
  id: z.string().nullable().default(null),
  reason: z.string().nullable().default(null),
  budget: budgetSchema.nullable().default(null),
  planned: plannedSchema.nullable().default(null),
});

export function parseOutagePayload(payload: Buffer | string): OutageState {
  const d = checked(outageStateSchema, readJson(payload, 'outage state'), 'outage state');
  return {
    ...camelKeys(d),
    plan: d.plan.map((step) => camelKeys(step)),
    budget: d.budget && camelKeys(d.budget),
    planned: d.planned && camelKeys(d.planned),
  };
}

const eventSchema = z.object({
  type: z.enum(EVENT_TYPES),
  at: isoMs,
  ups: z.string().optional(),
  host: z.string().optional(),
  message: z.string().optional(),
  detail: z.record(z.string(), z.unknown()).optional(),
});

/** An event from `<base>/event`; `detail` stays as it came. */
export function parseEventPayload(payload: Buffer | string): BlackstartEvent {
  const d = checked(eventSchema, readJson(payload, 'event'), 'event');
  const e: BlackstartEvent = { type: d.type, at: d.at };
  if (d.ups !== undefined) e.ups = d.ups;
  if (d.host !== undefined) e.host = d.host;
  if (d.message !== undefined) e.message = d.message;
  if (d.detail !== undefined) e.detail = d.detail;
  return e;
}
