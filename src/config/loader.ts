import { accessSync, constants, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, isMap, isPair, isScalar, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { snakeCase } from '../core/case';
import { BlackstartError } from '../core/errors';
import { Secret } from '../core/secret';
import { FileRef, SecretRef } from './refs';
import { configSchema, type Config } from './schema';

export interface ConfigIssue {
  /** Dotted path as written in YAML, e.g. `hosts.nas.simulated.wake_takes`; empty for the whole file. */
  path: string;
  line?: number;
  column?: number;
  message: string;
}

export class ConfigError extends BlackstartError {
  constructor(
    readonly file: string,
    readonly issues: ConfigIssue[],
  ) {
    super('CONFIG', `${file}: ${issues.length} error${issues.length === 1 ? '' : 's'}\n${issues.map(formatIssue).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line ? ` (line ${issue.line})` : '';
  return `  ${issue.path || '(top level)'}${where}: ${issue.message}`;
}

export interface LoadedConfig<C = Config> {
  config: C;
  /** Things that work but deserve a second look (inline secrets, …). */
  warnings: ConfigIssue[];
  file: string;
}

export interface ParseOptions {
  /** Name used in messages. */
  file?: string;
  /** Folder relative paths in the config are taken from. */
  baseDir?: string;
  env?: NodeJS.ProcessEnv;
}

export function loadConfig(file: string, opts: Omit<ParseOptions, 'file' | 'baseDir'> = {}): LoadedConfig {
  return loadConfigWith(configSchema, file, opts);
}

/** Validates YAML text against the schema; every problem is reported at once, with path and line. */
export function parseConfig(text: string, opts: ParseOptions = {}): LoadedConfig {
  return parseConfigWith(configSchema, text, opts);
}

/** Like loadConfig, for another schema with the same conventions (the agent's own file). */
export function loadConfigWith<S extends z.ZodType>(schema: S, file: string, opts: Omit<ParseOptions, 'file' | 'baseDir'> = {}): LoadedConfig<z.output<S>> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `cannot read the config file: ${(err as Error).message}` }]);
  }
  return parseConfigWith(schema, text, { ...opts, file, baseDir: dirname(resolve(file)) });
}

export function parseConfigWith<S extends z.ZodType>(schema: S, text: string, opts: ParseOptions = {}): LoadedConfig<z.output<S>> {
  const file = opts.file ?? '<config>';
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { path: '', line: pos.line, column: pos.col, message: `YAML: ${e.message.split('\n')[0]}` };
      }),
    );
  }
  const raw: unknown = doc.toJS() ?? {};
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(file, zodIssues(parsed.error.issues, doc, lines));

  const issues: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const locate = (segments: (string | number)[]): Omit<ConfigIssue, 'message'> => {
    const yamlPath = segments.map((s) => (typeof s === 'string' ? snakeCase(s) : s));
    return { path: formatPath(yamlPath), ...position(doc, lines, yamlPath) };
  };
  resolveRefs(parsed.data, [], {
    baseDir: opts.baseDir ?? process.cwd(),
    env: opts.env ?? process.env,
    fail: (segments, message) => issues.push({ ...locate(segments), message }),
    warn: (segments, message) => warnings.push({ ...locate(segments), message }),
  });
  if (issues.length) throw new ConfigError(file, issues);
  return { config: parsed.data as z.output<S>, warnings, file };
}

interface RefContext {
  baseDir: string;
  env: NodeJS.ProcessEnv;
  fail(path: (string | number)[], message: string): void;
  warn(path: (string | number)[], message: string): void;
}

/** Walks the parsed config, reading every secret and checking every file it names. */
function resolveRefs(value: unknown, path: (string | number)[], ctx: RefContext): void {
  if (value instanceof SecretRef) {
    const at = [...path.slice(0, -1), value.field];
    const src = value.source;
    if (src.from === 'env') {
      const v = ctx.env[src.name];
      if (v === undefined || v === '') ctx.fail(at, `environment variable ${src.name} is not set`);
      else value.resolve(new Secret(v, `env ${src.name}`));
    } else if (src.from === 'file') {
      const abs = resolve(ctx.baseDir, src.path);
      try {
        const v = readFileSync(abs, 'utf8').replace(/\r?\n$/, '');
        if (v === '') ctx.fail(at, `secret file ${abs} is empty`);
        else value.resolve(new Secret(v, `file ${abs}`));
      } catch (err) {
        ctx.fail(at, `cannot read secret file ${abs}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    } else {
      value.resolve(new Secret(src.value, 'inline'));
      ctx.warn(at, `secret written inline: prefer ${value.field}_env or ${value.field}_file`);
    }
    return;
  }
  if (value instanceof FileRef) {
    const abs = resolve(ctx.baseDir, value.written);
    if (value.mayCreate) {
      value.resolve(abs);
      return;
    }
    try {
      accessSync(abs, constants.R_OK);
      value.resolve(abs);
    } catch (err) {
      ctx.fail(path, `cannot read ${abs}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => resolveRefs(v, [...path, i], ctx));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) resolveRefs(v, [...path, k], ctx);
  }
}

function zodIssues(zIssues: z.core.$ZodIssue[], doc: Document, lines: LineCounter): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const iss of zIssues) {
    const path = iss.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    if (iss.code === 'unrecognized_keys') {
      const messages = iss.message.split('\n');
      iss.keys.forEach((key, i) => {
        const at = [...path, key];
        out.push({ path: formatPath(at), ...position(doc, lines, at, true), message: messages[i] ?? `unknown key "${key}"` });
      });
      continue;
    }
    if (iss.code === 'invalid_key') {
      out.push({ path: formatPath(path), ...position(doc, lines, path, true), message: `invalid id: ${iss.issues.map((i) => i.message).join('; ')}` });
      continue;
    }
    // zod does not say whether a value was missing or of the wrong type; the document does.
    const message = iss.code === 'invalid_type' && !doc.hasIn(path) ? 'required' : iss.message;
    out.push({ path: formatPath(path), ...position(doc, lines, path), message });
  }
  return out;
}

/** YAML line of the value at `path`, or of its key; falls back to the nearest ancestor that exists. */
function position(doc: Document, lines: LineCounter, path: (string | number)[], atKey = false): { line?: number; column?: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = nodeAt(doc, path.slice(0, n), atKey && n === path.length);
    const offset = node?.range?.[0];
    if (offset !== undefined) {
      const pos = lines.linePos(offset);
      return { line: pos.line, column: pos.col };
    }
  }
  return {};
}

function nodeAt(doc: Document, path: (string | number)[], keyNode: boolean): Node | undefined {
  if (path.length === 0) return doc.contents ?? undefined;
  if (keyNode) {
    const parent = doc.getIn(path.slice(0, -1), true);
    if (isMap(parent)) {
      const last = path[path.length - 1];
      const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === last);
      if (pair && isScalar(pair.key)) return pair.key;
    }
    return undefined;
  }
  const node = doc.getIn(path, true);
  return node && typeof node === 'object' && 'range' in node ? (node as Node) : undefined;
}

function formatPath(path: (string | number)[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}
