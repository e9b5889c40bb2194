/**
 * The HTTP recipe engine without a network: its text work (placeholders, extraction patterns,
 * matchers), the cookie jar, recipe checks, the config section, and runs against a scripted
 * request function that plays the device.
 */
import { CookieJar, defaultPath, pathMatches } from '../../../src/adapters/power/cookie-jar';
import type { HttpAnswer, HttpRequestInit } from '../../../src/adapters/power/http-exchange';
import { checkRecipe, HttpRecipeMethod, type Recipe } from '../../../src/adapters/power/http-recipe';
import { createHttpShutdown, httpShutdownSchema } from '../../../src/adapters/power/http-recipe-config';
import { compileExtractor, compileMatcher, decodeEntities, extract, placeholders, substitute, type Extractor } from '../../../src/adapters/power/recipe-text';
import { terastation } from '../../../src/adapters/power/recipes/terastation';
import { Secret } from '../../../src/core/secret';
import { rejection } from '../../helpers/rejection';

function extractor(pattern: string): Extractor {
  const e = compileExtractor(pattern);
  if ('error' in e) throw new Error(e.error);
  return e;
}

describe('recipe text', () => {
  it('fills placeholders, keeps $${x} literal and reports the first unknown name', () => {
    const vars: Record<string, string> = { a: '1', b: 'two' };
    expect(substitute('x=${a}&y=${b}&z=$${a}', (n) => vars[n])).toEqual({ text: 'x=1&y=two&z=${a}' });
    expect(substitute('${a}${nope}${other}', (n) => vars[n])).toEqual({ missing: 'nope' });
    expect(placeholders('${a}/${b}/${a}/$${c}')).toEqual(['a', 'b']);
  });

  it.each([
    ['double-quoted, name first, two spaces (as the seed page)', '<input type="hidden" name="gSSS"  value="07ae46da8acb13a7ba9c99acf3ef66f9">'],
    ['value first, single quotes', "<INPUT value='07ae46da8acb13a7ba9c99acf3ef66f9' TYPE=hidden NAME='gSSS'>"],
    ['unquoted, self-closing', '<input type=hidden name=gSSS value=07ae46da8acb13a7ba9c99acf3ef66f9 />'],
    ['across lines', '<input\n  type="hidden"\n  value="07ae46da8acb13a7ba9c99acf3ef66f9"\n  name="gSSS">'],
  ])('input: reads a hidden input, %s', (_name, tag) => {
    const page = `<form><input type="hidden" name="gSSSx" value="decoy"><input name="gPage" value="top">${tag}</form>`;
    expect(extract(page, extractor('input:gSSS'))).toBe('07ae46da8acb13a7ba9c99acf3ef66f9');
  });

  it('input: decodes entities, gives "" for an input without value and undefined when absent', () => {
    expect(extract('<input name="q" value="a&amp;b&#34;c&#x27;d">', extractor('input:q'))).toBe(`a&b"c'd`);
    expect(extract('<input name="q">', extractor('input:q'))).toBe('');
    expect(extract('<input name="other" value="1">', extractor('input:q'))).toBeUndefined();
    expect(decodeEntities('&lt;&unknown;&#0;')).toBe('<&unknown;&#0;');
  });

  it('a regex pattern picks its one capture group; /…/flags are honoured', () => {
    const page = '<input type="hidden" name="gRRR"  value="463273411635750418">';
    // The seed script's sed expression, as a recipe pattern.
    expect(extract(page, extractor('name="gRRR"  value="([^"]*)'))).toBe('463273411635750418');
    expect(extract(page, extractor('/NAME="GRRR"\\s+VALUE="(\\d+)"/i'))).toBe('463273411635750418');
    expect(extract(page, extractor('name="gXXX" value="([^"]*)'))).toBeUndefined();
  });

  it.each([
    ['no group', 'value="[^"]*"', /exactly one capture group.*has 0/],
    ['two groups', '(a)(b)', /has 2/],
    ['a broken regex', '(unclosed', /not a valid regular expression/],
    ['the g flag', '/(x)/g', /flags g and y/],
    ['input: without a name', 'input:', /needs the name/],
  ])('rejects a pattern with %s', (_name, pattern, message) => {
    const e = compileExtractor(pattern);
    expect('error' in e && e.error).toMatch(message);
  });

  it('a matcher is a substring unless written /…/', () => {
    const plain = compileMatcher('a.b (c)');
    const regex = compileMatcher('/log\\s*in/i');
    if ('error' in plain || 'error' in regex) throw new Error('should compile');
    expect(plain.test('xx a.b (c) yy')).toBe(true);
    expect(plain.test('aXb (c)')).toBe(false);
    expect(regex.test('Please LOG  IN')).toBe(true);
    expect(regex.test('logged out')).toBe(false);
  });
});

describe('cookie jar', () => {
  it('sends cookies back on matching paths only, longest path first, per host', () => {
    const jar = new CookieJar();
    jar.store(new URL('http://nas/cgi-bin/top.cgi'), ['sid=abc; Path=/cgi-bin; HttpOnly', 'lang=en; Path=/', 'ui=dark']);
    expect(jar.header(new URL('http://nas/cgi-bin/top.cgi'))).toBe('sid=abc; ui=dark; lang=en');
    expect(jar.header(new URL('http://nas/index.html'))).toBe('lang=en');
    expect(jar.header(new URL('http://nas/cgi-binary/x'))).toBe('lang=en');
    expect(jar.header(new URL('http://other/cgi-bin/top.cgi'))).toBeUndefined();
  });

  it('replaces a cookie of the same name and path, and drops an expired one', () => {
    const jar = new CookieJar();
    const url = new URL('http://nas/');
    jar.store(url, ['sid=1', 'keep=1']);
    jar.store(url, ['sid=2']);
    expect(jar.header(url)).toBe('keep=1; sid=2');
    jar.store(url, ['sid=; Max-Age=0', 'keep=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT']);
    expect(jar.header(url)).toBeUndefined();
    expect(jar.size).toBe(0);
  });

  it('follows RFC 6265 for default paths and path matching', () => {
    expect(defaultPath('/cgi-bin/top.cgi')).toBe('/cgi-bin');
    expect(defaultPath('/top.cgi')).toBe('/');
    expect(pathMatches('/cgi-bin/top.cgi', '/cgi-bin')).toBe(true);
    expect(pathMatches('/cgi-bin', '/cgi-bin/')).toBe(false);
    expect(pathMatches('/cgi-binx', '/cgi-bin')).toBe(false);
  });
});

describe('checkRecipe', () => {
  it('accepts the TeraStation recipe with credentials, and names what is missing without them', () => {
    expect(checkRecipe(terastation.steps, { username: true, password: true })).toEqual([]);
    const issues = checkRecipe(terastation.steps, { username: true, password: false });
    expect(issues).toEqual([{ path: [0, 'form', 'txtAuthLoginPassword'], message: '${password} is used but no password is configured' }]);
  });

  it('finds a variable used before the step that extracts it, and a built-in extracted', () => {
    const issues = checkRecipe(
      [
        { name: 'a', method: 'GET', url: '/x?t=${token}' },
        { name: 'b', method: 'GET', url: '/y', extract: { token: 'input:t', host: 'input:h' } },
      ],
      { username: false, password: false },
    );
    expect(issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['0.url', expect.stringMatching(/\$\{token\} is not extracted by an earlier step \(known: host\)/)],
      ['1.extract.host', 'host is a built-in variable and cannot be extracted'],
    ]);
  });
});

/** A scripted device: each call answers with the next entry; every request is kept. */
function scripted(answers: (Partial<HttpAnswer> | Error)[]) {
  const seen: { url: string; init: HttpRequestInit }[] = [];
  const request = (url: URL, init: HttpRequestInit): Promise<HttpAnswer> => {
    seen.push({ url: url.href, init });
    const next = answers.shift();
    if (next === undefined) return Promise.reject(new Error('the script has no more answers'));
    if (next instanceof Error) return Promise.reject(next);
    return Promise.resolve({ status: 200, setCookies: [], body: '', ...next });
  };
  return { seen, request };
}

const PASSWORD = 'pa ss&word=1';
const twoSteps: Recipe = {
  name: 'two',
  steps: [
    { name: 'login', method: 'POST', url: '/login', form: { u: '${username}', p: '${password}' }, extract: { sid: '/sid=(\\w+)/' }, failIf: 'name="p"', safe: true },
    { name: 'off', method: 'GET', url: '/off?sid=${sid}&who=${username}', headers: { 'X-Sid': '${sid}' }, expect: { contains: 'bye' } },
  ],
};

function recipeMethod(request: ReturnType<typeof scripted>['request'], recipe: Recipe = twoSteps): HttpRecipeMethod {
  return new HttpRecipeMethod({ url: 'http://nas.lan:8080/admin/', recipe, username: 'ad min', password: new Secret(PASSWORD, 'test'), request });
}

describe('HttpRecipeMethod with a scripted device', () => {
  it('form-encodes the login, carries the extracted value, cookies and headers into the next step', async () => {
    const device = scripted([{ body: 'ok sid=S1', setCookies: ['c=1; Path=/'] }, { body: 'bye' }]);
    const outcome = await recipeMethod(device.request).run();

    expect(device.seen[0]?.url).toBe('http://nas.lan:8080/login');
    expect(new URLSearchParams(device.seen[0]?.init.body)).toEqual(new URLSearchParams({ u: 'ad min', p: PASSWORD }));
    expect(device.seen[0]?.init.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(device.seen[1]?.url).toBe('http://nas.lan:8080/off?sid=S1&who=ad%20min');
    expect(device.seen[1]?.init.method).toBe('GET');
    expect(device.seen[1]?.init.body).toBeUndefined();
    expect(device.seen[1]?.init.headers).toMatchObject({ cookie: 'c=1', 'x-sid': 'S1' });
    expect(outcome.steps.map((s) => [s.name, s.status])).toEqual([['login', 200], ['off', 200]]);
  });

  it('a missing extraction names the step, the variable and the page', async () => {
    const device = scripted([{ body: '<title>Welcome</title> no token here' }]);
    const err = await rejection(recipeMethod(device.request).run());
    expect(err.code).toBe('PROTOCOL');
    expect(err.message).toBe('step login: the answer has no sid (pattern /sid=(\\w+)/; HTTP 200, page "Welcome")');
  });

  it.each([
    ['an unexpected status', { status: 500, body: '<title>Oops</title>' }, 'PROTOCOL', 'step off: expected HTTP 2xx, got HTTP 500, page "Oops"'],
    ['missing expected text', { body: 'still here' }, 'PROTOCOL', 'step off: the answer does not contain bye (HTTP 200)'],
    ['HTTP 401', { status: 401 }, 'AUTH', 'step off: the device refused the credentials or session (HTTP 401)'],
  ])('%s at a later step is an error naming that step', async (_name, answer, code, message) => {
    const device = scripted([{ body: 'sid=S1' }, answer]);
    const err = await rejection(recipeMethod(device.request).run());
    expect(err.code).toBe(code);
    expect(err.message).toBe(message);
  });

  it('fail_if means AUTH, and a page that echoes the password does not carry it into the error', async () => {
    const device = scripted([{ body: `<title>Wrong password ${PASSWORD}</title><input name="p">` }]);
    const err = await rejection(recipeMethod(device.request).run());
    expect(err.code).toBe('AUTH');
    expect(err.message).toMatch(/^step login: .*fail_if name="p"/);
    expect(err.message).not.toContain(PASSWORD);
    expect(err.message).toContain('Wrong password ***');
  });

  it('keeps a 307 a POST, turns a 303 into a GET, and sends cookies set on a redirect to the next hops', async () => {
    const device = scripted([
      { status: 307, location: '/login2', setCookies: ['s=1'] },
      { status: 303, location: 'http://nas.lan:8080/home' },
      { body: 'sid=S2' },
      { body: 'bye' },
    ]);
    await recipeMethod(device.request).run();
    expect(device.seen.map((s) => `${s.init.method} ${s.url} ${s.init.headers.cookie ?? '-'} ${s.init.body ?? '-'}`)).toEqual([
      'POST http://nas.lan:8080/login - u=ad+min&p=pa+ss%26word%3D1',
      'POST http://nas.lan:8080/login2 s=1 u=ad+min&p=pa+ss%26word%3D1',
      'GET http://nas.lan:8080/home s=1 -',
      'GET http://nas.lan:8080/off?sid=S2&who=ad%20min s=1 -',
    ]);
  });

  it('does not follow a redirect to another host (the form may carry the password)', async () => {
    const device = scripted([{ status: 303, location: 'http://evil.example/' }]);
    const err = await rejection(recipeMethod(device.request).run());
    expect(err.code).toBe('REFUSED');
    expect(err.message).toContain('redirects to another host (evil.example)');
    expect(device.seen).toHaveLength(1);
  });

  it('stops after 5 redirects', async () => {
    const device = scripted(Array.from({ length: 7 }, () => ({ status: 302, location: '/again' })));
    const err = await rejection(recipeMethod(device.request).run());
    expect(err.message).toBe('step login: more than 5 redirects from http://nas.lan:8080/login');
    expect(device.seen).toHaveLength(6);
  });

  it('connection refused is UNREACHABLE', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const err = await rejection(recipeMethod(scripted([refused]).request).run());
    expect(err.code).toBe('UNREACHABLE');
    expect(err.message).toBe('step login: cannot reach http://nas.lan:8080/login (ECONNREFUSED)');
  });

  it('a dry run of a recipe with no safe step sends nothing and masks the password', async () => {
    const device = scripted([]);
    const recipe: Recipe = { name: 'r', steps: twoSteps.steps.map((s) => ({ ...s, safe: false })) };
    const outcome = await recipeMethod(device.request, recipe).run({ dryRun: true });
    expect(device.seen).toHaveLength(0);
    expect(outcome.output).toBe(
      [
        'step login: POST http://nas.lan:8080/login [not sent: dry run]',
        '  u=ad min',
        '  p=***',
        'step off: GET http://nas.lan:8080/off?sid=${sid}&who=ad%20min [not sent: dry run]',
        '  X-Sid: ${sid}',
        '  (${sid}: extracted at step login)',
      ].join('\n'),
    );
    expect(outcome.steps).toEqual([{ name: 'login', tookMs: 0 }, { name: 'off', tookMs: 0 }]);
  });

  it('a dry run sends the safe login, shows where extracted values come from, and masks cookie values', async () => {
    const device = scripted([{ body: 'sid=S1', setCookies: ['c=SECRETCOOKIE; Path=/'] }]);
    const outcome = await recipeMethod(device.request).run({ dryRun: true });
    expect(device.seen).toHaveLength(1);
    expect(outcome.output).toContain('step login: POST http://nas.lan:8080/login [sent: only reads or logs in]');
    expect(outcome.output).toContain('  Cookie: c=***');
    expect(outcome.output).toContain('  (${sid}: extracted at step login)');
    expect(outcome.output).not.toMatch(/S1|SECRETCOOKIE/);
  });

  it('describe() names recipe, URL and user but not the password', () => {
    const text = recipeMethod(scripted([]).request).describe();
    expect(text).toBe('http recipe two at http://nas.lan:8080/admin/ as ad min (2 steps)');
  });

  it.each([
    ['a URL with credentials', { url: 'http://u:p@nas/' }, /not in the URL/],
    ['an ftp URL', { url: 'ftp://nas/' }, /ftp: is not http/],
    ['a recipe needing a password', { password: undefined }, /step login: \$\{password\} is used but no password/],
  ])('refuses %s at construction', (_name, override, message) => {
    const opts = { url: 'http://nas/', recipe: twoSteps, username: 'u', password: new Secret('x', 't'), ...override };
    expect(() => new HttpRecipeMethod(opts)).toThrow(message);
  });
});

describe('http shutdown config', () => {
  function issues(input: unknown): [string, string][] {
    const r = httpShutdownSchema.safeParse(input);
    return r.success ? [] : r.error.issues.map((i) => [i.path.join('.'), i.message]);
  }

  it('fills defaults for the built-in recipe and builds a method from it', () => {
    const cfg = httpShutdownSchema.parse({ url: 'http://nas.lan/', recipe: 'terastation', username: 'admin', password_env: 'NAS_PW' });
    expect(cfg).toMatchObject({ url: 'http://nas.lan/', recipe: 'terastation', username: 'admin', timeout: 10_000, insecure: false });
    cfg.password?.resolve(new Secret('pw', 'env NAS_PW'));
    expect(createHttpShutdown(cfg).describe()).toBe('http recipe terastation at http://nas.lan/ as admin (2 steps)');
  });

  it('takes the user’s own steps in snake_case, with default names and numbers as form text', () => {
    const cfg = httpShutdownSchema.parse({
      url: 'https://nas:8443/',
      insecure: true,
      timeout: '3s',
      steps: [
        { method: 'post', url: '/login', form: { page: 1 }, extract: { t: 'input:t' }, safe: true },
        { name: 'off', method: 'GET', url: '/off?t=${t}', expect: { status: [200, 204], not_contains: 'error' }, fail_if: '/log ?in/i' },
      ],
    });
    expect(cfg.steps).toEqual([
      { name: 'step 1', method: 'POST', url: '/login', form: { page: '1' }, extract: { t: 'input:t' }, safe: true },
      { name: 'off', method: 'GET', url: '/off?t=${t}', expect: { status: [200, 204], notContains: 'error' }, failIf: '/log ?in/i', safe: false },
    ]);
    expect(cfg.timeout).toBe(3000);
  });

  it.each([
    ['neither recipe nor steps', { url: 'http://nas/' }, 'recipe', /either recipe .* or your own steps, not neither/],
    ['both', { url: 'http://nas/', recipe: 'terastation', steps: [{ method: 'GET', url: '/' }], username: 'a', password_env: 'P' }, 'recipe', /not both/],
    ['an unknown recipe', { url: 'http://nas/', recipe: 'synology' }, 'recipe', /unknown recipe "synology" \(built in: terastation\)/],
    ['terastation without a password', { url: 'http://nas/', recipe: 'terastation', username: 'admin' }, 'password', /needs password_env or password_file/],
    ['a non-http URL', { url: 'ftp://nas/', recipe: 'terastation' }, 'url', /http or https/],
    ['a step method', { url: 'http://nas/', steps: [{ method: 'PUT', url: '/' }] }, 'steps.0.method', /GET or POST/],
    ['an absolute step URL', { url: 'http://nas/', steps: [{ method: 'GET', url: 'http://other/' }] }, 'steps.0.url', /relative to the base url/],
    ['a pattern without a group', { url: 'http://nas/', steps: [{ method: 'GET', url: '/', extract: { t: 'value=\\d+' } }] }, 'steps.0.extract.t', /one capture group/],
    ['a variable nobody extracts', { url: 'http://nas/', steps: [{ method: 'GET', url: '/${tok}' }] }, 'steps.0.url', /\$\{tok\} is not extracted/],
    ['a typo in a step key', { url: 'http://nas/', steps: [{ method: 'GET', url: '/', fail_iff: 'x' }] }, 'steps.0', /unknown key "fail_iff" \(did you mean "fail_if"\?\)/],
    ['a bad header name', { url: 'http://nas/', steps: [{ method: 'GET', url: '/', headers: { 'X Bad': 'v' } }] }, 'steps.0.headers.X Bad', /not an HTTP header name/],
    ['a duplicate step name', { url: 'http://nas/', steps: [{ name: 'a', method: 'GET', url: '/' }, { name: 'a', method: 'GET', url: '/' }] }, 'steps.1.name', /used twice/],
    ['a short timeout', { url: 'http://nas/', recipe: 'terastation', username: 'a', password_env: 'P', timeout: '10ms' }, 'timeout', /at least 100 ms/],
  ])('rejects %s with a path', (_name, input, path, message) => {
    const found = issues(input);
    expect(found.map(([p]) => p)).toContain(path);
    expect(found.find(([p]) => p === path)?.[1]).toMatch(message);
  });
});
