/** Command-line option values every command reads the same way, with errors that name the option. */
import { parseDuration } from '../core/duration';
import { BlackstartError } from '../core/errors';

/** A duration such as `500ms` or `2m`; `range` bounds it, with the text the error shows. */
export function durationOption(text: string, option: string, range?: { min: number; max: number; says: string }): number {
  const d = parseDuration(text);
  if ('error' in d) throw new BlackstartError('BAD_REQUEST', `${option}: ${d.error}`);
  if (range && (d.ms < range.min || d.ms > range.max)) throw new BlackstartError('BAD_REQUEST', `${option}: ${range.says}`);
  return d.ms;
}

/** Digits only, so `1e3` or `0x10` are refused rather than read; `range` bounds the value. */
export function wholeNumberOption(text: string, option: string, range?: { min: number; max: number }): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || (range && (n < range.min || n > range.max))) {
    throw new BlackstartError('BAD_REQUEST', `${option}: "${text}" is not a whole number${range ? ` from ${range.min} to ${range.max}` : ''}`);
  }
  return n;
}
