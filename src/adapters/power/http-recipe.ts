/**
 * The HTTP recipe shutdown method: a NAS with no UPS support and no SSH is shut down the way its
 * owner would do it by hand, by logging in to its admin page and pressing "shut down". A recipe is
 * data (a list of steps), so a new device needs YAML, not code.
 */
import { BlackstartError, toBlackstartError } from '../../core/errors';
import { silentLogger, type Logger } from '../../core/logger';
import type { Secret } from '../../core/secret';
import { CookieJar } from './cookie-jar';
import { BodyTooLargeError, httpRequest, type HttpAnswer } from './http-exchange';
import type { ShutdownMethod, ShutdownOutcome, ShutdownRunOptions, ShutdownStep } from './method';
import { compileExtractor, compileMatcher, extract, pageTitle, placeholders, substitute, type Extractor, type Matcher } from './recipe-text';

export interface RecipeStep {
  /** Named in every error and in the outcome; defaults to `step <n>` in config. */
  readonly name: string;
  readonly method: 'GET' | 'POST';
  /** Relative to the base URL; may hold `${var}` placeholders (URL-encoded when filled in). */
  readonly url: string;
  /** Sent as application/x-www-form-urlencoded, in the order written. */
  readonly form?: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly expect?: Readonly<{ status?: readonly number[]; contains?: string; notContains?: string }>;
  /** Variable name → `input:<name>`, `/regex/flags` or a bare regex with one capture group. */
  readonly extract?: Readonly<Record<string, string>>;
  /** The answer means the credentials (or the session) were refused, e.g. the login form shown again. */
  readonly failIf?: string;
  /** Only reads or logs in, so a dry run sends it too (and thereby checks the password and patterns). */
  readonly safe?: boolean;
}

export interface Recipe {
  readonly name: string;
  readonly steps: readonly RecipeStep[];
}

export interface HttpRecipeOptions {
  /** Base URL (http or https) the step URLs are relative to. */
  readonly url: string;
  readonly recipe: Recipe;
  readonly username?: string;
  readonly password?: Secret;
  /** Per step, redirects included. */
  readonly timeoutMs?: number;
  readonly insecure?: boolean;
  readonly log?: Logger;
  /** The one I/O function; tests give a scripted one. */
  readonly request?: typeof httpRequest;
}

export const BUILTIN_VARIABLES = ['host', 'username', 'password'] as const;
const MASK = '***';
const MAX_REDIRECTS = 5;
const TLS_CERT_ERRORS = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;

export interface RecipeIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/**
 * Everything about a recipe that can be known before sending a byte: patterns compile, every
 * `${var}` is a built-in or was extracted by an earlier step. Paths are relative to the steps list.
 */
export function checkRecipe(steps: readonly RecipeStep[], given: { username: boolean; password: boolean }): RecipeIssue[] {
  const issues: RecipeIssue[] = [];
  const known = new Set<string>(['host']);
  if (given.username) known.add('username');
  if (given.password) known.add('password');
  const builtins: readonly string[] = BUILTIN_VARIABLES;
  steps.forEach((step, i) => {
    const uses: [readonly (string | number)[], string][] = [[['url'], step.url]];
    for (const [k, v] of Object.entries(step.form ?? {})) uses.push([['form', k], v]);
    for (const [k, v] of Object.entries(step.headers ?? {})) uses.push([['headers', k], v]);
    for (const [path, template] of uses) {
      for (const name of placeholders(template)) {
        if (known.has(name)) continue;
        const why = builtins.includes(name)
          ? `\${${name}} is used but no ${name} is configured`
          : `\${${name}} is not extracted by an earlier step (known: ${[...known].join(', ')})`;
        issues.push({ path: [i, ...path], message: why });
      }
    }
    for (const [key, text] of [['fail_if', step.failIf], ['contains', step.expect?.contains], ['not_contains', step.expect?.notContains]] as const) {
      if (text === undefined) continue;
      const m = compileMatcher(text);
      if ('error' in m) issues.push({ path: key === 'fail_if' ? [i, key] : [i, 'expect', key], message: m.error });
    }
    for (const [name, pattern] of Object.entries(step.extract ?? {})) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) issues.push({ path: [i, 'extract', name], message: 'a variable name: letters, digits and "_", not starting with a digit' });
      else if (builtins.includes(name)) issues.push({ path: [i, 'extract', name], message: `${name} is a built-in variable and cannot be extracted` });
      const e = compileExtractor(pattern);
      if ('error' in e) issues.push({ path: [i, 'extract', name], message: e.error });
      known.add(name);
    }
  });
  return issues;
}

interface RenderedStep {
  readonly url: string;
  readonly parsedUrl: URL;
  readonly form: readonly (readonly [string, string])[];
  readonly headers: Readonly<Record<string, string>>;
  /** The variables the step's templates refer to. */
  readonly uses: ReadonlySet<string>;
}

interface CompiledStep {
  readonly step: RecipeStep;
  readonly extractors: readonly [string, Extractor][];
  readonly failIf?: Matcher;
  readonly contains?: Matcher;
  readonly notContains?: Matcher;
}

export class HttpRecipeMethod implements ShutdownMethod {
  readonly kind = 'http';
  readonly #base: URL;
  readonly #recipe: Recipe;
  readonly #steps: readonly CompiledStep[];
  readonly #username: string | undefined;
  readonly #password: Secret | undefined;
  readonly #timeoutMs: number;
  readonly #insecure: boolean;
  readonly #log: Logger;
  readonly #request: typeof httpRequest;
  /** Variable → the step that extracts it. */
  readonly #extractedAt: ReadonlyMap<string, string>;

  constructor(opts: HttpRecipeOptions) {
    let base: URL;
    try {
      base = new URL(opts.url);
    } catch {
      throw new BlackstartError('CONFIG', `http recipe ${opts.recipe.name}: ${opts.url} is not a URL`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new BlackstartError('CONFIG', `http recipe ${opts.recipe.name}: ${base.protocol} is not http: or https:`);
    }
    if (base.username || base.password) {
      throw new BlackstartError('CONFIG', `http recipe ${opts.recipe.name}: put credentials in username and password_env/password_file, not in the URL`);
    }
    const issues = checkRecipe(opts.recipe.steps, { username: opts.username !== undefined, password: opts.password !== undefined });
    if (issues.length) {
      const first = issues[0] as RecipeIssue;
      const stepName = opts.recipe.steps[first.path[0] as number]?.name ?? String(first.path[0]);
      throw new BlackstartError('CONFIG', `http recipe ${opts.recipe.name}, step ${stepName}: ${first.message}`);
    }
    this.#base = base;
    this.#recipe = opts.recipe;
    this.#steps = opts.recipe.steps.map(compile);
    this.#username = opts.username;
    this.#password = opts.password;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#insecure = opts.insecure ?? false;
    this.#log = opts.log ?? silentLogger();
    this.#request = opts.request ?? httpRequest;
    this.#extractedAt = new Map(opts.recipe.steps.flatMap((st) => Object.keys(st.extract ?? {}).map((v) => [v, st.name] as const)));
  }

  describe(): string {
    const user = this.#username !== undefined ? ` as ${this.#username}` : '';
    return `http recipe ${this.#recipe.name} at ${this.#base.href}${user} (${this.#steps.length} steps${this.#insecure ? ', certificate not checked' : ''})`;
  }

  async run(opts: ShutdownRunOptions = {}): Promise<ShutdownOutcome> {
    const dryRun = opts.dryRun ?? false;
    const started = performance.now();
    const vars = new Map<string, string>([['host', this.#base.hostname]]);
    if (this.#username !== undefined) vars.set('username', this.#username);
    const jar = new CookieJar();
    const steps: ShutdownStep[] = [];
    const lines: string[] = [];
    let skipping = false;
    let lastTitle: string | undefined;
    try {
      for (const compiled of this.#steps) {
        const { step } = compiled;
        // Once one step is held back, later ones would run on a session that never reached that point.
        skipping ||= dryRun && !step.safe;
        // Extracted values are session tokens: shown by name, never by value.
        const shown = this.#render(step, (name) => (name === 'password' ? { as: MASK } : this.#extractedAt.has(name) ? { as: `\${${name}}` } : vars.get(name)));
        if (dryRun) {
          lines.push(`step ${step.name}: ${step.method} ${shown.url} [${skipping ? 'not sent: dry run' : 'sent: only reads or logs in'}]`);
          for (const [k, v] of shown.form) lines.push(`  ${k}=${v}`);
          for (const [k, v] of Object.entries(shown.headers)) lines.push(`  ${k}: ${v}`);
          const cookies = jar.names(shown.parsedUrl);
          if (cookies.length) lines.push(`  Cookie: ${cookies.map((c) => `${c}=${MASK}`).join('; ')}`);
          for (const name of shown.uses) {
            const from = this.#extractedAt.get(name);
            if (from !== undefined) lines.push(`  (\${${name}}: extracted at step ${from})`);
          }
        }
        if (skipping) {
          steps.push({ name: step.name, tookMs: 0 });
          continue;
        }
        const stepStarted = performance.now();
        const real = this.#render(step, (name) => (name === 'password' ? this.#password?.reveal() : vars.get(name)));
        const answer = await this.#exchange(step, real, shown.url, jar, opts.signal);
        this.#check(compiled, answer);
        for (const [name, extractor] of compiled.extractors) {
          const value = extract(answer.body, extractor);
          if (value === undefined) {
            const title = pageTitle(answer.body);
            throw new BlackstartError(
              'PROTOCOL',
              `step ${step.name}: the answer has no ${name} (pattern ${step.extract?.[name]}; HTTP ${answer.status}${title ? `, page "${title}"` : ''})`,
            );
          }
          vars.set(name, value);
        }
        lastTitle = pageTitle(answer.body);
        const tookMs = Math.round(performance.now() - stepStarted);
        steps.push({ name: step.name, status: answer.status, tookMs });
        this.#log.debug({ recipe: this.#recipe.name, step: step.name, method: step.method, url: shown.url, status: answer.status, tookMs }, 'http recipe step');
      }
    } catch (err) {
      throw this.#scrub(toBlackstartError(err));
    }
    const outcome: ShutdownOutcome = { method: this.kind, dryRun, steps, tookMs: Math.round(performance.now() - started) };
    const output = dryRun ? lines.join('\n') : lastTitle !== undefined ? `last page: "${lastTitle}"` : undefined;
    return output !== undefined ? { ...outcome, output: this.#scrubText(output) } : outcome;
  }

  /** `lookup` gives a value, or `{ as }` for text a dry run shows as it is (a mask or a placeholder). */
  #render(step: RecipeStep, lookup: (name: string) => string | { as: string } | undefined): RenderedStep {
    const fill = (template: string, where: string, encode: boolean): string => {
      const r = substitute(template, (name) => {
        const v = lookup(name);
        if (v === undefined || typeof v === 'object') return v?.as;
        return encode ? encodeURIComponent(v) : v;
      });
      if (r.missing !== undefined) throw new BlackstartError('CONFIG', `step ${step.name}: ${where} uses \${${r.missing}}, which has no value`);
      return r.text;
    };
    const relative = fill(step.url, 'url', true);
    const parsedUrl = new URL(relative, this.#base);
    const form = Object.entries(step.form ?? {}).map(([k, v]) => [k, fill(v, `form field ${k}`, false)] as const);
    const headers = Object.fromEntries(Object.entries(step.headers ?? {}).map(([k, v]) => [k, fill(v, `header ${k}`, false)]));
    const uses = new Set([step.url, ...Object.values(step.form ?? {}), ...Object.values(step.headers ?? {})].flatMap(placeholders));
    // The URL parser escapes the braces of a shown placeholder; a reader wants to see ${name}.
    const url = parsedUrl.href.replace(/\$%7B([A-Za-z0-9_]+)%7D/g, '${$1}');
    return { url, parsedUrl, form, headers, uses };
  }

  async #exchange(
    step: RecipeStep,
    req: RenderedStep,
    shownUrl: string,
    jar: CookieJar,
    outer: AbortSignal | undefined,
  ): Promise<HttpAnswer> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = outer ? AbortSignal.any([outer, timeout]) : timeout;
    let url = req.parsedUrl;
    let method = step.method;
    let body: string | undefined = method === 'POST' ? new URLSearchParams(req.form as [string, string][]).toString() : undefined;
    let where = shownUrl;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'user-agent': 'blackstart', accept: 'text/html,*/*', ...lowerKeys(req.headers) };
      if (body !== undefined) headers['content-type'] ??= 'application/x-www-form-urlencoded';
      const cookie = jar.header(url);
      if (cookie !== undefined) headers.cookie = cookie;
      let answer: HttpAnswer;
      try {
        answer = await this.#request(url, { method, headers, ...(body !== undefined ? { body } : {}), insecure: this.#insecure, signal });
      } catch (err) {
        throw this.#transportError(step, where, err, timeout, outer);
      }
      jar.store(url, answer.setCookies);
      const redirect = answer.location !== undefined && [301, 302, 303, 307, 308].includes(answer.status);
      if (!redirect) return answer;
      if (hop >= MAX_REDIRECTS) throw new BlackstartError('PROTOCOL', `step ${step.name}: more than ${MAX_REDIRECTS} redirects from ${shownUrl}`);
      const next = new URL(answer.location as string, url);
      // The form may carry the password: it only ever goes to the device the recipe was written for.
      if (next.hostname !== this.#base.hostname) {
        throw new BlackstartError('REFUSED', `step ${step.name}: ${where} redirects to another host (${next.host}); not followed`);
      }
      // Browsers turn a redirected POST into a GET except for 307/308, and recipes are written against browsers.
      if (method === 'POST' && answer.status !== 307 && answer.status !== 308) {
        method = 'GET';
        body = undefined;
      }
      url = next;
      where = next.href;
    }
  }

  #check(compiled: CompiledStep, answer: HttpAnswer): void {
    const { step } = compiled;
    const title = pageTitle(answer.body);
    const page = `HTTP ${answer.status}${title ? `, page "${title}"` : ''}`;
    if (answer.status === 401 || answer.status === 403) {
      throw new BlackstartError('AUTH', `step ${step.name}: the device refused the credentials or session (${page})`);
    }
    if (compiled.failIf?.test(answer.body)) {
      throw new BlackstartError('AUTH', `step ${step.name}: the device refused the login or session: the answer matches fail_if ${compiled.failIf.source} (${page})`);
    }
    const statuses = step.expect?.status;
    const statusOk = statuses ? statuses.includes(answer.status) : answer.status >= 200 && answer.status < 300;
    if (!statusOk) {
      throw new BlackstartError('PROTOCOL', `step ${step.name}: expected HTTP ${statuses ? statuses.join(' or ') : '2xx'}, got ${page}`);
    }
    if (compiled.contains && !compiled.contains.test(answer.body)) {
      throw new BlackstartError('PROTOCOL', `step ${step.name}: the answer does not contain ${compiled.contains.source} (${page})`);
    }
    if (compiled.notContains?.test(answer.body)) {
      throw new BlackstartError('PROTOCOL', `step ${step.name}: the answer contains ${compiled.notContains.source} (${page})`);
    }
  }

  #transportError(step: RecipeStep, where: string, err: unknown, timeout: AbortSignal, outer: AbortSignal | undefined): BlackstartError {
    if (timeout.aborted) return new BlackstartError('TIMEOUT', `step ${step.name}: no answer from ${where} within ${this.#timeoutMs} ms`, { cause: err });
    if (outer?.aborted) return new BlackstartError('CANCELLED', `step ${step.name}: cancelled while waiting for ${where}`, { cause: err });
    if (err instanceof BodyTooLargeError) return new BlackstartError('PROTOCOL', `step ${step.name}: ${where}: ${err.message}`);
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const message = (err as Error).message;
    if (['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE', 'EADDRNOTAVAIL'].includes(code)) {
      return new BlackstartError('UNREACHABLE', `step ${step.name}: cannot reach ${where} (${code})`, { cause: err });
    }
    if (TLS_CERT_ERRORS.test(code)) {
      return new BlackstartError('PROTOCOL', `step ${step.name}: ${where}: certificate not trusted (${code}); for a self-signed NAS certificate set insecure: true`, { cause: err });
    }
    return new BlackstartError('PROTOCOL', `step ${step.name}: ${where}: ${message}`, { cause: err });
  }

  #scrub(err: BlackstartError): BlackstartError {
    const message = this.#scrubText(err.message);
    return message === err.message ? err : new BlackstartError(err.code, message);
  }

  /** Last line of defence: a page or a socket error that echoes the password never carries it further. */
  #scrubText(text: string): string {
    const secret = this.#password?.reveal();
    if (!secret) return text;
    return text.split(secret).join(MASK).split(encodeURIComponent(secret)).join(MASK);
  }
}

function compile(step: RecipeStep): CompiledStep {
  const matcher = (text: string | undefined): Matcher | undefined => {
    if (text === undefined) return undefined;
    const m = compileMatcher(text);
    if ('error' in m) throw new BlackstartError('CONFIG', `step ${step.name}: ${m.error}`);
    return m;
  };
  const extractors = Object.entries(step.extract ?? {}).map(([name, pattern]) => {
    const e = compileExtractor(pattern);
    if ('error' in e) throw new BlackstartError('CONFIG', `step ${step.name}, extract ${name}: ${e.error}`);
    return [name, e] as [string, Extractor];
  });
  const failIf = matcher(step.failIf);
  const contains = matcher(step.expect?.contains);
  const notContains = matcher(step.expect?.notContains);
  return { step, extractors, ...(failIf ? { failIf } : {}), ...(contains ? { contains } : {}), ...(notContains ? { notContains } : {}) };
}

function lowerKeys(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
