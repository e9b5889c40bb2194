/**
 * IPv4 ranges to scan. Addresses are handled as unsigned 32-bit numbers so a /16 expands
 * without string arithmetic; the size limits guard against sweeping someone else's network
 * (or the process's memory) by a typo such as /8 for /24.
 */
import { BlackstartError } from '../core/errors';

export interface Cidr {
  /** Network address (host bits cleared), as written back in messages. */
  network: string;
  prefix: number;
  /** Addresses that will be probed: without network and broadcast below /31. */
  hostCount: number;
}

/** Largest range scanned without --force. */
export const DEFAULT_MAX_PREFIX = 16;
/** Largest range scanned even with --force: beyond this the address list alone outgrows memory. */
export const FORCED_MAX_PREFIX = 12;

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function parseIPv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function range(prefix: number, base: number): { first: number; last: number } {
  const size = 2 ** (32 - prefix);
  const network = Math.floor(base / size) * size;
  if (prefix >= 31) return { first: network, last: network + size - 1 };
  return { first: network + 1, last: network + size - 2 };
}

/** `10.0.0.0/24`, or a bare address meaning /32. Host bits may be set (`10.0.0.7/24` is the /24). */
export function parseCidr(text: string, opts: { force?: boolean } = {}): Cidr {
  const m = /^([^/\s]+)(?:\/(\d{1,2}))?$/.exec(text.trim());
  const base = m ? parseIPv4(m[1] as string) : undefined;
  const prefix = m?.[2] === undefined ? 32 : Number(m[2]);
  if (!m || base === undefined || prefix > 32) {
    throw new BlackstartError('BAD_REQUEST', `"${text}" is not an IPv4 range: expected a.b.c.d/prefix (prefix 0-32), e.g. 192.168.1.0/24`);
  }
  const size = 2 ** (32 - prefix);
  const limit = opts.force ? FORCED_MAX_PREFIX : DEFAULT_MAX_PREFIX;
  if (prefix < limit) {
    const what = `${text} is a /${prefix}: ${size.toLocaleString('en-US')} addresses`;
    throw new BlackstartError(
      'REFUSED',
      opts.force
        ? `${what}, more than a /${FORCED_MAX_PREFIX} (${(2 ** (32 - FORCED_MAX_PREFIX)).toLocaleString('en-US')}) is never scanned: split it into smaller ranges`
        : `${what}, more than a /${DEFAULT_MAX_PREFIX} (65,536): check the prefix, or add --force to scan it anyway`,
    );
  }
  const { first, last } = range(prefix, base);
  return { network: formatIPv4(Math.floor(base / size) * size), prefix, hostCount: last - first + 1 };
}

export function expandCidr(c: Cidr): string[] {
  const { first, last } = range(c.prefix, parseIPv4(c.network) as number);
  const out: string[] = [];
  for (let n = first; n <= last; n++) out.push(formatIPv4(n));
  return out;
}
