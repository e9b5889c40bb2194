/**
 * The kernel's neighbour (ARP) table, as `ip -j neigh show` prints it or as /proc/net/arp holds
 * it. Pure parsers: an entry counts only when the kernel has a usable MAC for it, since a
 * scan leaves INCOMPLETE/FAILED entries for every address that did not answer.
 */
import { isIPv4 } from 'node:net';
import { normalMac } from '../adapters/power/wol-codec';

export interface Neighbour {
  mac: string;
  dev: string;
}

const UNUSABLE_STATES = new Set(['INCOMPLETE', 'FAILED', 'NOARP', 'NONE']);

/** `ip -j neigh show`; undefined when the text is not that JSON (old iproute2 ignores -j). */
export function parseIpNeighJson(text: string): Map<string, Neighbour> | undefined {
  let rows: unknown;
  try {
    rows = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(rows)) return undefined;
  const out = new Map<string, Neighbour>();
  for (const row of rows as Record<string, unknown>[]) {
    if (!row || typeof row.dst !== 'string' || !isIPv4(row.dst) || out.has(row.dst)) continue;
    const states = Array.isArray(row.state) ? (row.state as unknown[]).map(String) : [];
    if (states.some((s) => UNUSABLE_STATES.has(s))) continue;
    const mac = normalMac(row.lladdr);
    if (mac) out.set(row.dst, { mac, dev: typeof row.dev === 'string' ? row.dev : '' });
  }
  return out;
}

/** ATF_COM: the entry is complete (the kernel has the MAC). */
const ATF_COM = 0x2;

export function parseProcNetArp(text: string): Map<string, Neighbour> {
  const out = new Map<string, Neighbour>();
  for (const line of text.split('\n').slice(1)) {
    const [ip, , flags, hw, , dev] = line.trim().split(/\s+/);
    if (!ip || !isIPv4(ip) || out.has(ip) || !flags || (Number.parseInt(flags, 16) & ATF_COM) === 0) continue;
    const mac = normalMac(hw);
    if (mac) out.set(ip, { mac, dev: dev ?? '' });
  }
  return out;
}
