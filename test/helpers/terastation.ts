/**
 * A stand-in for the admin CGI of a Buffalo TeraStation HS-DHTGL (firmware 1.15), as the seed
 * document's wget script meets it: POST /cgi-bin/top.cgi logs in and answers a page with hidden
 * gSSS (hex, per session) and gRRR (decimal, new on every page); a POST carrying the session's
 * gSSS and the gRRR of the page it last served may act, anything else gets the login page again.
 * Options make it stricter than the device (a session cookie, a redirect after login) so the
 * engine's cookie jar and redirect handling are exercised too.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface TerastationOptions {
  username?: string;
  password?: string;
  /** Login sets a cookie that every later request must send back. */
  requireCookie?: boolean;
  /** Login answers 303 to a GET of the top page (as many NAS do) instead of the page itself. */
  redirectAfterLogin?: boolean;
  /** Never answer (for timeouts). */
  stall?: boolean;
  /** Serve HTTPS with this key and certificate. */
  tls?: { key: string; cert: string };
}

export interface SeenRequest {
  method: string;
  path: string;
  form: Record<string, string>;
  cookie?: string;
}

interface Session {
  sss: string;
  cookie: string;
  /** The gRRR of the last page served: the only one a POST may carry. */
  rrr: string;
  /** Every gRRR this session was given, oldest first. */
  issued: string[];
}

export interface TerastationServer {
  readonly port: number;
  readonly url: string;
  readonly requests: SeenRequest[];
  /** How many shutdowns were accepted. */
  readonly shutdowns: number;
  readonly lastShutdownForm?: Record<string, string>;
  /** Sessions by gSSS, to compare what the engine sent with what the device issued. */
  readonly sessions: ReadonlyMap<string, Readonly<Session>>;
  close(): Promise<void>;
}

const LOGIN_ERROR = 'The user name or password is incorrect.';
const SESSION_ERROR = 'Your session has expired. Please log in again.';

export async function startTerastation(opts: TerastationOptions = {}): Promise<TerastationServer> {
  const username = opts.username ?? 'admin';
  const password = opts.password ?? 'password';
  const requests: SeenRequest[] = [];
  const sessions = new Map<string, Session>();
  let shutdowns = 0;
  let lastShutdownForm: Record<string, string> | undefined;

  const newRrr = (s: Session): string => {
    // Decimal like 463273411635750418, never repeating within a session.
    let rrr: string;
    do rrr = `${randomInt(1, 2 ** 47)}${randomInt(0, 100000)}`;
    while (s.issued.includes(rrr));
    s.rrr = rrr;
    s.issued.push(rrr);
    return rrr;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://x');
    const form = Object.fromEntries(new URLSearchParams(req.method === 'POST' ? body : url.search));
    requests.push({ method: req.method ?? '', path: url.pathname, form, ...(req.headers.cookie !== undefined ? { cookie: req.headers.cookie } : {}) });
    if (opts.stall) return;
    if (url.pathname !== '/' && url.pathname !== '/cgi-bin/top.cgi') return send(res, 404, page('Not Found', '<p>no such page</p>'));
    if (req.method === 'GET' && !form.gSSS) {
      const s = opts.redirectAfterLogin ? sessionByCookie(req) : undefined;
      return s ? send(res, 200, topPage(s, newRrr(s))) : send(res, 200, loginPage());
    }
    if (req.method !== 'POST') return send(res, 405, page('Error', '<p>method not allowed</p>'));

    if (form.gMode === 'auth') {
      if (form.txtAuthLoginUser !== username || form.txtAuthLoginPassword !== password) return send(res, 200, loginPage(LOGIN_ERROR));
      const s: Session = { sss: randomBytes(16).toString('hex'), cookie: randomBytes(12).toString('base64url'), rrr: '', issued: [] };
      sessions.set(s.sss, s);
      const cookie = `webui_session=${s.cookie}; Path=/cgi-bin; HttpOnly`;
      if (opts.redirectAfterLogin) {
        res.setHeader('set-cookie', cookie);
        res.setHeader('location', '/cgi-bin/top.cgi?gPage=top');
        return send(res, 303, page('See Other', ''));
      }
      if (opts.requireCookie) res.setHeader('set-cookie', cookie);
      return send(res, 200, topPage(s, newRrr(s)));
    }

    const s = form.gSSS !== undefined ? sessions.get(form.gSSS) : undefined;
    const cookieOk = !(opts.requireCookie || opts.redirectAfterLogin) || (s !== undefined && sessionByCookie(req) === s);
    if (!s || !cookieOk || form.gRRR !== s.rrr) {
      // The device invalidates nothing on a bad token; it just shows the login page.
      return send(res, 200, loginPage(SESSION_ERROR));
    }
    if (form.gPage === 'maintenance' && form.gMode === 'shutdown' && form.gType === 'shutdown') {
      shutdowns++;
      lastShutdownForm = form;
      newRrr(s);
      return send(res, 200, page('Shutting down', '<p>The TeraStation is shutting down.</p>'));
    }
    return send(res, 200, topPage(s, newRrr(s)));
  };

  function sessionByCookie(req: IncomingMessage): Session | undefined {
    const value = /(?:^|;\s*)webui_session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    return [...sessions.values()].find((s) => s.cookie === value);
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch(() => res.destroy());
  };
  const server: Server = opts.tls ? createHttpsServer(opts.tls, listener) : createHttpServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    port,
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}/`,
    requests,
    get shutdowns() {
      return shutdowns;
    },
    get lastShutdownForm() {
      return lastShutdownForm;
    },
    sessions,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=UTF-8' });
  res.end(html);
}

function page(title: string, body: string): string {
  return `<html><head><title>${title}</title></head><body>${body}</body></html>`;
}

function loginPage(error?: string): string {
  return page(
    'TeraStation - Login',
    `${error ? `<p class="err">${error}</p>` : ''}<form method="post" action="/cgi-bin/top.cgi">
<input type="text" name="txtAuthLoginUser" value="">
<input type="password" name="txtAuthLoginPassword" value="">
<input type="hidden" name="gPage" value="top"><input type="hidden" name="gMode" value="auth">
</form>`,
  );
}

/** The two tokens are written differently on purpose: the engine must read both spellings. */
function topPage(s: Session, rrr: string): string {
  return page(
    'TeraStation - Top',
    `<form method="post" action="/cgi-bin/top.cgi" name="frmTop">
<input type="hidden" name="gPage" value="top">
<input type="hidden" name="gSSS"  value="${s.sss}">
<input value='${rrr}' type=hidden name=gRRR />
<a href="#" onclick="go('maintenance')">Maintenance</a>
</form>`,
  );
}
