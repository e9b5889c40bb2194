/** Small helpers for reading overrides from a message and turning results into errors a Catch node sees. */
import { BlackstartError, type CommandResult } from 'blackstart';
import type { NodeMessage } from './red';

/** msg[key] when it is a non-empty string, else the node's setting. */
export function override(msg: NodeMessage, key: string, setting: unknown): string {
  const v = msg[key];
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  return typeof setting === 'string' ? setting.trim() : '';
}

/** Whether `value` is one of `list`: the type guard for the core's action lists. */
export function isOneOf<T extends string>(list: readonly T[], value: string): value is T {
  return (list as readonly string[]).includes(value);
}

/** The action asked for: msg.action, else a string payload (what an inject or dashboard button sends), else the setting. */
export function requestedAction(msg: NodeMessage, setting: unknown): string {
  const fromPayload = typeof msg.payload === 'string' ? msg.payload : '';
  return override(msg, 'action', fromPayload || setting);
}

/** A failed result as the error that goes with the message to a Catch node. */
export function resultError(result: CommandResult, what: string): BlackstartError {
  const code = result.error?.code ?? 'INTERNAL';
  return new BlackstartError(code, `${what} failed (${code}): ${result.error?.message ?? 'no reason given'}`);
}

/** Seconds from a node setting ("", "120", 120); `fallback` when blank or not a number ≥ 0. */
export function seconds(setting: unknown, fallback: number): number {
  const n = typeof setting === 'number' ? setting : typeof setting === 'string' && setting.trim() !== '' ? Number(setting) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}
