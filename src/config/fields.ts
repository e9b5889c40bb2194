/**
 * Building blocks for the one config schema. Sections are strict (a typo'd key is an error
 * that suggests the key meant), take snake_case from YAML and give camelCase to TypeScript.
 */
import { z } from 'zod';
import { camelKeys, type CamelCase, type CamelKeys } from '../core/case';
import { parseDuration } from '../core/duration';
import { DEVICE_ID } from '../core/state';
import { FileRef, SecretRef } from './refs';

export function section<S extends z.ZodRawShape>(shape: S) {
  return strict(shape).transform((value) => camelKeys(value));
}

/** An object that refuses unknown keys, one message line per key (the loader splits them). */
function strict<S extends z.ZodRawShape>(shape: S) {
  const allowed = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? iss.keys.map((k) => unknownKeyMessage(k, allowed)).join('\n') : undefined),
  });
}

type SecretKeys<N extends string> = N | `${N}_env` | `${N}_file`;
type SecretOutput<T, N extends string> = CamelKeys<Omit<T, SecretKeys<N>>> & { [K in N as CamelCase<K>]?: SecretRef };

/**
 * A section with secret fields: for a secret `password` the user writes one of `password_env`
 * (an environment variable), `password_file` (a file whose content is the secret) or, discouraged,
 * `password` inline. TypeScript sees `password?: SecretRef`, resolved by the loader.
 */
export function sectionWithSecrets<S extends z.ZodRawShape, const N extends string>(shape: S, secrets: readonly N[]) {
  const secretShape: Record<string, z.ZodOptional<z.ZodString>> = {};
  for (const name of secrets) {
    secretShape[name] = z.string().min(1).optional();
    secretShape[`${name}_env`] = z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not a valid environment variable name')
      .optional();
    secretShape[`${name}_file`] = z.string().min(1).optional();
  }
  return strict({ ...shape, ...secretShape })
    .superRefine((value, ctx) => {
      const v = value as Record<string, unknown>;
      for (const name of secrets) {
        const given = [name, `${name}_env`, `${name}_file`].filter((k) => v[k] !== undefined);
        if (given.length > 1) {
          ctx.addIssue({ code: 'custom', path: [given[1] as string], message: `give only one of ${given.join(', ')}` });
        }
      }
    })
    .transform((value) => {
      const v = { ...(value as Record<string, unknown>) };
      for (const name of secrets) {
        const inline = v[name] as string | undefined;
        const env = v[`${name}_env`] as string | undefined;
        const file = v[`${name}_file`] as string | undefined;
        delete v[`${name}_env`];
        delete v[`${name}_file`];
        v[name] =
          env !== undefined
            ? new SecretRef({ from: 'env', name: env }, `${name}_env`)
            : file !== undefined
              ? new SecretRef({ from: 'file', path: file }, `${name}_file`)
              : inline !== undefined
                ? new SecretRef({ from: 'inline', value: inline }, name)
                : undefined;
      }
      return camelKeys(v) as SecretOutput<z.output<z.ZodObject<S>>, N>;
    });
}

/** A duration written as `90s`, `2m`, `1h30m`, `250ms`; parsed to milliseconds. */
export function duration(limits: { min?: number; max?: number } = {}) {
  return z
    .string({ error: 'expected a duration such as 250ms, 90s, 2m or 1h30m' })
    .transform((text, ctx) => {
      const parsed = parseDuration(text);
      if ('error' in parsed) {
        ctx.addIssue({ code: 'custom', message: parsed.error });
        return z.NEVER;
      }
      if (limits.min !== undefined && parsed.ms < limits.min) {
        ctx.addIssue({ code: 'custom', message: `must be at least ${limits.min} ms (got ${text})` });
        return z.NEVER;
      }
      if (limits.max !== undefined && parsed.ms > limits.max) {
        ctx.addIssue({ code: 'custom', message: `must be at most ${limits.max} ms (got ${text})` });
        return z.NEVER;
      }
      return parsed.ms;
    });
}

export const percent = z.number().min(0).max(100);
export const port = z.number().int().min(1).max(65535);

/** A path to a file that must exist; relative paths are taken from the config file's folder. */
export function filePath() {
  return z
    .string()
    .min(1)
    .transform((p) => new FileRef(p));
}

/** A path to a file Blackstart writes; relative paths are taken from the config file's folder. */
export function writablePath() {
  return z
    .string()
    .min(1)
    .transform((p) => new FileRef(p, true));
}

/** A map of devices keyed by id; ids become MQTT topic segments. */
export function deviceMap<T extends z.ZodType>(value: T) {
  return z.record(
    z.string().regex(DEVICE_ID, 'ids use lowercase letters, digits, "_" and "-", and start with a letter or digit'),
    value,
  );
}

export function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  const near = closest(key, allowed);
  return near ? `unknown key "${key}" (did you mean "${near}"?)` : `unknown key "${key}" (allowed: ${allowed.join(', ')})`;
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c);
    if (d < bestScore) {
      best = c;
      bestScore = d;
    }
  }
  return best !== undefined && bestScore <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      next[j] = Math.min((row[j] as number) + 1, (next[j - 1] as number) + 1, (row[j - 1] as number) + cost);
    }
    row = next;
  }
  return row[b.length] as number;
}
