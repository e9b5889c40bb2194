/**
 * The HTTP recipe engine and the built-in TeraStation recipe against a TeraStation-like admin
 * CGI on 127.0.0.1 (test/helpers/terastation.ts): tokens change on every page, stale or wrong
 * ones get the login page back, and only the right maintenance post counts as a shutdown.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpRecipeMethod, type Recipe, type RecipeStep } from '../../src/adapters/power/http-recipe';
import { terastation } from '../../src/adapters/power/recipes/terastation';
import { Secret } from '../../src/core/secret';
import { freePort } from '../helpers/ports';
import { rejection } from '../helpers/rejection';
import { startTerastation, type TerastationServer, type TerastationOptions } from '../helpers/terastation';

const PASSWORD = 'Tera-s3cret!&=';

describe('HTTP recipe against a TeraStation-like server', () => {
  let nas: TerastationServer | undefined;
  afterEach(async () => {
    await nas?.close();
    nas = undefined;
  });

  async function start(opts: TerastationOptions = {}): Promise<TerastationServer> {
    nas = await startTerastation({ username: 'admin', password: PASSWORD, ...opts });
    return nas;
  }

  function method(server: { url: string }, extra: Partial<ConstructorParameters<typeof HttpRecipeMethod>[0]> = {}): HttpRecipeMethod {
    return new HttpRecipeMethod({ url: server.url, recipe: terastation, username: 'admin', password: new Secret(PASSWORD, 'test'), timeoutMs: 5000, ...extra });
  }

  it('logs in, posts the shutdown with the session token and the fresh gRRR, and the device shuts down once', async () => {
    const server = await start();
    const outcome = await method(server).run();

    expect(server.shutdowns).toBe(1);
    expect(outcome).toMatchObject({ method: 'http', dryRun: false, steps: [{ name: 'login', status: 200 }, { name: 'shutdown', status: 200 }] });
    expect(outcome.output).toContain('Shutting down');
    const login = server.requests[0];
    expect(login?.form).toEqual({ txtAuthLoginUser: 'admin', txtAuthLoginPassword: PASSWORD, gPage: 'top', gMode: 'auth' });
    const sent = server.lastShutdownForm ?? {};
    const session = server.sessions.get(sent.gSSS ?? '');
    expect(session).toBeDefined();
    // The gRRR sent is the one of the page just before the shutdown, not any older one.
    expect(sent.gRRR).toBe(session?.issued.at(-2));
    expect(sent).toMatchObject({ gPage: 'maintenance', gMode: 'shutdown', gType: 'shutdown' });
    expect(server.requests).toHaveLength(2);
  });

  it('keeps the session cookie and follows a POST→303→GET login redirect', async () => {
    const server = await start({ redirectAfterLogin: true });
    const outcome = await method(server).run();

    expect(server.shutdowns).toBe(1);
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /cgi-bin/top.cgi', 'GET /cgi-bin/top.cgi', 'POST /cgi-bin/top.cgi']);
    const session = server.sessions.get(server.lastShutdownForm?.gSSS ?? '');
    expect(server.requests[1]?.cookie).toBe(`webui_session=${session?.cookie}`);
    expect(server.requests[2]?.cookie).toBe(`webui_session=${session?.cookie}`);
    expect(outcome.steps.map((s) => s.status)).toEqual([200, 200]);
  });

  it('sends the session cookie back to a device that wants it', async () => {
    const server = await start({ requireCookie: true });
    await method(server).run();
    expect(server.shutdowns).toBe(1);
    expect(server.requests[1]?.cookie).toMatch(/^webui_session=/);
  });

  it('a replayed, older gRRR is rejected: no shutdown, and the error names the step', async () => {
    const server = await start();
    const steps: RecipeStep[] = [
      { ...(terastation.steps[0] as RecipeStep), extract: { gSSS: 'input:gSSS', oldRRR: 'input:gRRR' } },
      // Any further page makes the device issue a new gRRR, so oldRRR is now stale.
      { name: 'top', method: 'POST', url: '/cgi-bin/top.cgi', form: { gPage: 'top', gSSS: '${gSSS}', gRRR: '${oldRRR}' }, failIf: 'txtAuthLoginPassword' },
      { ...(terastation.steps[1] as RecipeStep), form: { gPage: 'maintenance', gMode: 'shutdown', gType: 'shutdown', gSSS: '${gSSS}', gRRR: '${oldRRR}' } },
    ];
    const err = await rejection(method(server, { recipe: { name: 'replay', steps } }).run());

    expect(err.code).toBe('AUTH');
    expect(err.message).toMatch(/^step shutdown: /);
    expect(server.shutdowns).toBe(0);
    expect(server.requests).toHaveLength(3);
  });

  it('replaying the exact shutdown post a second time does nothing', async () => {
    const server = await start();
    await method(server).run();
    const replay = await fetch(`${server.url}cgi-bin/top.cgi`, { method: 'POST', body: new URLSearchParams(server.lastShutdownForm) });
    expect(await replay.text()).toContain('session has expired');
    expect(server.shutdowns).toBe(1);
  });

  it('a wrong gSSS is rejected', async () => {
    const server = await start();
    const recipe: Recipe = {
      name: 'wrong-sss',
      steps: [terastation.steps[0] as RecipeStep, { ...(terastation.steps[1] as RecipeStep), form: { gPage: 'maintenance', gMode: 'shutdown', gType: 'shutdown', gSSS: '0123456789abcdef0123456789abcdef', gRRR: '${gRRR}' } }],
    };
    const err = await rejection(method(server, { recipe }).run());
    expect(err.code).toBe('AUTH');
    expect(server.shutdowns).toBe(0);
  });

  it('a wrong password is AUTH at step login, sends nothing more, and never shows the password', async () => {
    const server = await start();
    const err = await rejection(method(server, { password: new Secret('not-it', 'test') }).run());

    expect(err.code).toBe('AUTH');
    expect(err.message).toMatch(/^step login: .*fail_if txtAuthLoginPassword/);
    expect(err.message).not.toContain('not-it');
    expect(server.requests).toHaveLength(1);
    expect(server.shutdowns).toBe(0);
  });

  it('nothing listening is UNREACHABLE, naming the step and the URL', async () => {
    const port = await freePort();
    const err = await rejection(method({ url: `http://127.0.0.1:${port}/` }).run());
    expect(err.code).toBe('UNREACHABLE');
    expect(err.message).toContain(`step login: cannot reach http://127.0.0.1:${port}/cgi-bin/top.cgi`);
  });

  it('a device that never answers is TIMEOUT', async () => {
    const server = await start({ stall: true });
    const err = await rejection(method(server, { timeoutMs: 300 }).run());
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toMatch(/^step login: no answer .* within 300 ms/);
  });

  it('an abort signal cancels the run', async () => {
    const server = await start({ stall: true });
    const controller = new AbortController();
    const running = method(server).run({ signal: controller.signal });
    while (server.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    expect((await rejection(running)).code).toBe('CANCELLED');
  });

  it('a dry run logs in (checking the password) but never posts the shutdown, and masks the secrets', async () => {
    const server = await start();
    const outcome = await method(server).run({ dryRun: true });

    expect(server.shutdowns).toBe(0);
    expect(server.requests.map((r) => r.form.gMode)).toEqual(['auth']);
    expect(outcome.dryRun).toBe(true);
    expect(outcome.steps).toEqual([{ name: 'login', status: 200, tookMs: expect.any(Number) }, { name: 'shutdown', tookMs: 0 }]);
    const text = outcome.output ?? '';
    expect(text).toContain(`step shutdown: POST ${server.url}cgi-bin/top.cgi [not sent: dry run]`);
    expect(text).toContain('txtAuthLoginPassword=***');
    expect(text).toContain('gRRR=${gRRR}');
    expect(text).not.toContain(PASSWORD);
    const session = [...server.sessions.values()][0];
    expect(text).not.toContain(session?.sss);
  });

  it('a dry run with a wrong password already fails at login', async () => {
    const server = await start();
    const err = await rejection(method(server, { password: new Secret('nope', 'test') }).run({ dryRun: true }));
    expect(err.code).toBe('AUTH');
    expect(server.shutdowns).toBe(0);
  });

  describe('over HTTPS with a self-signed certificate', () => {
    let dir: string;
    let tls: { key: string; cert: string };
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'blackstart-tls-'));
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
      tls = { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('refuses the certificate by default and says how to accept it', async () => {
      const server = await start({ tls });
      const err = await rejection(method(server).run());
      expect(err.code).toBe('PROTOCOL');
      expect(err.message).toMatch(/^step login: .*certificate not trusted.*insecure: true/);
      expect(server.requests).toHaveLength(0);
    });

    it('with insecure: true it shuts the device down', async () => {
      const server = await start({ tls });
      await method(server, { insecure: true }).run();
      expect(server.shutdowns).toBe(1);
    });
  });
});
