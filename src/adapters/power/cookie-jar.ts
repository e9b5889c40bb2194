/**
 * Just enough of RFC 6265 for a NAS admin page: cookies are kept per host name, matched by path,
 * dropped when the server expires them. Domain, Secure and SameSite are not needed because a
 * recipe only ever talks to the one device it was written for.
 */

interface Cookie {
  host: string;
  name: string;
  value: string;
  path: string;
}

export class CookieJar {
  #cookies: Cookie[] = [];

  /** Takes the Set-Cookie headers of an answer to `url`. */
  store(url: URL, setCookies: readonly string[]): void {
    for (const header of setCookies) {
      const parsed = parseSetCookie(header, url);
      if (!parsed) continue;
      this.#cookies = this.#cookies.filter((c) => !(c.host === parsed.cookie.host && c.name === parsed.cookie.name && c.path === parsed.cookie.path));
      if (!parsed.expired) this.#cookies.push(parsed.cookie);
    }
  }

  /** The Cookie header for a request to `url`, or undefined when none applies; longer paths first. */
  header(url: URL): string | undefined {
    const matching = this.#cookies
      .filter((c) => c.host === url.hostname && pathMatches(url.pathname, c.path))
      .sort((a, b) => b.path.length - a.path.length);
    return matching.length ? matching.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }

  /** Names of the cookies that would go to `url`, for a dry run (values are session tokens). */
  names(url: URL): string[] {
    return this.#cookies.filter((c) => c.host === url.hostname && pathMatches(url.pathname, c.path)).map((c) => c.name);
  }

  get size(): number {
    return this.#cookies.length;
  }
}

function parseSetCookie(header: string, url: URL): { cookie: Cookie; expired: boolean } | undefined {
  const [pair, ...attrs] = header.split(';');
  const eq = (pair ?? '').indexOf('=');
  if (eq <= 0) return undefined;
  const name = (pair as string).slice(0, eq).trim();
  const value = (pair as string).slice(eq + 1).trim();
  if (!name) return undefined;
  let path: string | undefined;
  let expired = false;
  for (const attr of attrs) {
    const i = attr.indexOf('=');
    const key = (i < 0 ? attr : attr.slice(0, i)).trim().toLowerCase();
    const val = i < 0 ? '' : attr.slice(i + 1).trim();
    if (key === 'path' && val.startsWith('/')) path = val;
    if (key === 'max-age' && /^-?\d+$/.test(val) && Number(val) <= 0) expired = true;
    if (key === 'expires') {
      const when = Date.parse(val);
      if (!Number.isNaN(when) && when <= Date.now()) expired = true;
    }
  }
  return { cookie: { host: url.hostname, name, value, path: path ?? defaultPath(url.pathname) }, expired };
}

/** RFC 6265 5.1.4: the request path up to (not including) its last slash. */
export function defaultPath(requestPath: string): string {
  if (!requestPath.startsWith('/')) return '/';
  const last = requestPath.lastIndexOf('/');
  return last <= 0 ? '/' : requestPath.slice(0, last);
}

/** RFC 6265 5.1.4 path-match. */
export function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}
