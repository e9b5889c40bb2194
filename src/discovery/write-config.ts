/**
 * Writes scan results into a config file only when the result still loads: through a temp
 * file in the same folder (relative paths resolve the same, rename is atomic), so a failed
 * check leaves the original byte for byte as it was.
 */
import { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ConfigError, loadConfig } from '../config/loader';
import { BlackstartError } from '../core/errors';
import { mergeFoundHosts, type MergeResult } from './merge';
import type { FoundHost } from './scan';

function readIfThere(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new BlackstartError('CONFIG', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

function loadProblem(file: string): string | undefined {
  try {
    loadConfig(file);
    return undefined;
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path || '(top level)'}${i.line ? ` (line ${i.line})` : ''}: ${i.message}`).join('; ');
    throw err;
  }
}

export function writeFoundHosts(file: string, found: readonly FoundHost[], date: string): MergeResult {
  const original = readIfThere(file);
  if (original !== undefined) {
    // Otherwise a failure afterwards could not be told apart from one the scan caused.
    const why = loadProblem(file);
    if (why) throw new BlackstartError('CONFIG', `${file} does not pass blackstart check as it is, so scan leaves it alone: ${why}`);
  }
  const merged = mergeFoundHosts(original ?? '', found, date);
  if (merged.added.length === 0) return merged;
  const temp = join(dirname(file), `.${basename(file)}.scan-${process.pid}.tmp`);
  writeFileSync(temp, merged.text, { mode: original !== undefined ? statSync(file).mode & 0o777 : 0o644 });
  const why = loadProblem(temp);
  if (why) {
    unlinkSync(temp);
    throw new BlackstartError('CONFIG', `not writing ${file}: with the found hosts it would not load: ${why}`);
  }
  renameSync(temp, file);
  return merged;
}
