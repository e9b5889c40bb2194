/**
 * The pure text work of an HTTP recipe: `${var}` placeholders, extraction patterns and the
 * matchers of `expect`/`fail_if`. No I/O here, so all of it is tested without a server.
 */

const PLACEHOLDER = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The variable names a template refers to, in order of first use (`$${x}` is a literal, not a use). */
export function placeholders(template: string): string[] {
  const names: string[] = [];
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (m[1] === '$') continue;
    const name = m[2] as string;
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

/**
 * Replaces each `${name}` by `lookup(name)`; `$${name}` stays as the literal `${name}`, for a page
 * that really wants that text. `lookup` returns undefined for a variable it does not know, and the
 * first such name is reported so the caller can name it in its error.
 */
export function substitute(
  template: string,
  lookup: (name: string) => string | undefined,
): { text: string; missing?: undefined } | { text?: undefined; missing: string } {
  let missing: string | undefined;
  const text = template.replace(PLACEHOLDER, (whole: string, escaped: string, name: string) => {
    if (escaped === '$') return whole.slice(1);
    const value = lookup(name);
    if (value === undefined) {
      missing ??= name;
      return whole;
    }
    return value;
  });
  return missing === undefined ? { text } : { missing };
}

/** An extraction pattern compiled once: `input:<name>`, `/source/flags`, or a bare regex source. */
export type Extractor = { kind: 'input'; name: string } | { kind: 'regex'; regex: RegExp };

/** Compiles an extraction pattern, or says what is wrong with it (for the config loader). */
export function compileExtractor(pattern: string): Extractor | { error: string } {
  if (pattern.startsWith('input:')) {
    const name = pattern.slice('input:'.length).trim();
    if (!name) return { error: 'input: needs the name of the input, e.g. input:gSSS' };
    return { kind: 'input', name };
  }
  const regex = compileRegex(pattern);
  if ('error' in regex) return regex;
  const groups = captureGroups(regex);
  if (groups !== 1) return { error: `a pattern needs exactly one capture group (…) for the value; ${pattern} has ${groups}` };
  return { kind: 'regex', regex };
}

/** The value a pattern picks out of a page, or undefined when the page does not have it. */
export function extract(body: string, extractor: Extractor): string | undefined {
  if (extractor.kind === 'regex') return extractor.regex.exec(body)?.[1];
  for (const tag of body.matchAll(/<input\b([^>]*)>/gi)) {
    const attrs = attributes(tag[1] as string);
    if (attrs.get('name') === extractor.name) return attrs.get('value') ?? '';
  }
  return undefined;
}

/**
 * A text test for `contains`, `not_contains` and `fail_if`: `/source/flags` is a regular
 * expression, anything else a plain substring (so a page text with dots or brackets needs no escaping).
 */
export type Matcher = { test(body: string): boolean; readonly source: string };

export function compileMatcher(text: string): Matcher | { error: string } {
  if (isRegexLiteral(text)) {
    const regex = compileRegex(text);
    if ('error' in regex) return regex;
    return { source: text, test: (body) => regex.test(body) };
  }
  return { source: text, test: (body) => body.includes(text) };
}

function isRegexLiteral(text: string): boolean {
  return /^\/.+\/[a-z]*$/s.test(text);
}

function compileRegex(pattern: string): RegExp | { error: string } {
  let source = pattern;
  let flags = '';
  if (isRegexLiteral(pattern)) {
    const end = pattern.lastIndexOf('/');
    source = pattern.slice(1, end);
    flags = pattern.slice(end + 1);
  }
  // A global or sticky regex keeps lastIndex between pages, which would make a second run miss.
  if (/[gy]/.test(flags)) return { error: `flags g and y are not allowed in ${pattern}` };
  try {
    return new RegExp(source, flags);
  } catch (err) {
    return { error: `not a valid regular expression: ${(err as Error).message}` };
  }
}

function captureGroups(regex: RegExp): number {
  // An alternative that always matches the empty string reports one slot per group.
  return (new RegExp(`${regex.source}|`, regex.flags).exec('') as RegExpExecArray).length - 1;
}

/** The attributes of one tag; names lower-cased, values unquoted and entity-decoded. */
export function attributes(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const attr = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  for (const m of text.matchAll(attr)) {
    const name = (m[1] as string).toLowerCase();
    if (out.has(name)) continue;
    out.set(name, decodeEntities(m[2] ?? m[3] ?? m[4] ?? ''));
  }
  return out;
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole: string, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED_ENTITIES[ref.toLowerCase()] ?? whole;
  });
}

/** The page's `<title>`, short, for an error message that should say which page came back. */
export function pageTitle(body: string): string | undefined {
  const m = /<title[^>]*>([^<]*)<\/title>/i.exec(body);
  const title = m ? decodeEntities(m[1] as string).replace(/\s+/g, ' ').trim() : '';
  return title ? title.slice(0, 80) : undefined;
}
