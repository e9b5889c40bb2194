/**
 * UPS URLs for the command line: `nut://[user@]host[:port]/<ups>`, `apcupsd://host[:port]`,
 * `apcsmart:///dev/ttyS0`. Each becomes the same config section a YAML file would hold, so the
 * CLI and the daemon validate and build sources the same way.
 */
import { BlackstartError } from '../../core/errors';

export type UpsUrlSection = { nut: Record<string, unknown> } | { apcupsd: Record<string, unknown> } | { apc_smart: Record<string, unknown> };

const EXAMPLES = 'nut://[user@]host[:port]/<ups>, apcupsd://host[:port] or apcsmart:///dev/ttyX';

/** `nut://host[:port]` naming a server rather than one UPS on it (for listing). */
export function parseNutServerUrl(text: string): { host: string; port?: number } {
  const section = parseUpsUrl(text.replace(/\/*$/, '') + '/-');
  if (!('nut' in section)) throw new BlackstartError('BAD_REQUEST', `"${text}" is not a NUT server URL (expected nut://host[:port])`);
  const { host, port } = section.nut as { host: string; port?: number };
  return { host, ...(port ? { port } : {}) };
}

export function parseUpsUrl(text: string): UpsUrlSection {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new BlackstartError('BAD_REQUEST', `"${text}" is not a UPS URL (expected ${EXAMPLES})`);
  }
  const bad = (why: string): BlackstartError => new BlackstartError('BAD_REQUEST', `${redact(url)}: ${why}`);
  if (url.password) throw bad('a password does not belong in the URL: use --password-env or --password-file');
  if (url.search || url.hash) throw bad('no query or fragment expected');
  // Non-special schemes keep IPv6 brackets in `hostname`.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port ? Number(url.port) : undefined;

  switch (url.protocol) {
    case 'nut:': {
      const ups = decodeURIComponent(url.pathname.replace(/^\//, ''));
      if (!host) throw bad('no server host');
      if (!ups || ups.includes('/')) throw bad('name one UPS after the host, e.g. nut://127.0.0.1/ups');
      return { nut: { host, ups, ...(port ? { port } : {}), ...(url.username ? { username: decodeURIComponent(url.username) } : {}) } };
    }
    case 'apcupsd:':
      if (!host) throw bad('no server host');
      if (url.pathname && url.pathname !== '/') throw bad('apcupsd URLs have no path');
      if (url.username) throw bad('apcupsd NIS has no users');
      return { apcupsd: { host, ...(port ? { port } : {}) } };
    case 'apcsmart:':
      if (host) throw bad('the device goes after three slashes: apcsmart:///dev/ttyS0');
      if (!url.pathname.startsWith('/')) throw bad('expected a device path such as /dev/ttyS0');
      return { apc_smart: { device: decodeURIComponent(url.pathname) } };
    default:
      throw new BlackstartError('BAD_REQUEST', `unknown UPS URL scheme "${url.protocol.replace(/:$/, '')}" (expected ${EXAMPLES})`);
  }
}

function redact(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password) copy.password = '***';
  return copy.href;
}
