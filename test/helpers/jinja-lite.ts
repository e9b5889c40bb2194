/**
 * Renders the few Jinja forms Blackstart's discovery templates use, the way Home Assistant's
 * Jinja2 would against `value_json`, so tests can check what Home Assistant will see:
 *
 *   {{ value_json.key }}
 *   {{ 'A' if value_json.key == 'x' else 'B' }}
 *   {{ 'A' if value_json.key in ['x', 'y'] else 'B' }}
 *   {{ 'A' if … else ('B' if … else 'C') }}      (a conditional in parentheses as the else branch)
 *
 * Anything else throws, so a template outside these forms fails its test rather than pass untested.
 * (Checked against Jinja2 3.1: same output for every case in test/unit/mqtt/discovery.test.ts; the
 * nested form against Jinja2 3.1.6 for every guest state.)
 */

const FIELD = String.raw`value_json\.([a-z_][a-z0-9_]*)`;
const STR = String.raw`'([^']*)'`;
const PLAIN = new RegExp(String.raw`^${FIELD}$`);
/** The else branch: a string, or a whole conditional in parentheses. */
const ELSE = String.raw`('[^']*'|\(.*\))`;
const EQ = new RegExp(String.raw`^${STR} if ${FIELD} == ${STR} else ${ELSE}$`);
const IN = new RegExp(String.raw`^${STR} if ${FIELD} in \[((?:'[^']*'(?:, )?)+)\] else ${ELSE}$`);

/** Python's str() of a JSON value, which is what Jinja2 prints. */
function pyStr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number' || typeof v === 'string') return String(v);
  throw new Error(`jinja-lite does not print ${typeof v} values`);
}

function field(json: Record<string, unknown>, key: string): unknown {
  // Jinja2 gives an undefined attribute, which prints as '' and compares unequal: never what we mean.
  if (!(key in json)) throw new Error(`the payload has no key "${key}"`);
  return json[key];
}

export function renderTemplate(template: string, payload: string): string {
  const inner = /^\{\{ (.*) \}\}$/.exec(template)?.[1];
  if (inner === undefined) throw new Error(`jinja-lite does not understand ${template}`);
  return expression(inner, JSON.parse(payload) as Record<string, unknown>, template);
}

function expression(expr: string, json: Record<string, unknown>, template: string): string {
  const otherwise = (branch: string): string => (branch.startsWith('(') ? expression(branch.slice(1, -1), json, template) : branch.slice(1, -1));
  let m = PLAIN.exec(expr);
  if (m) return pyStr(field(json, m[1] as string));
  m = EQ.exec(expr);
  if (m) return field(json, m[2] as string) === m[3] ? (m[1] as string) : otherwise(m[4] as string);
  m = IN.exec(expr);
  if (m) {
    const items = [...(m[3] as string).matchAll(/'([^']*)'/g)].map((x) => x[1]);
    return items.includes(field(json, m[2] as string) as string) ? (m[1] as string) : otherwise(m[4] as string);
  }
  throw new Error(`jinja-lite does not understand ${template}`);
}
