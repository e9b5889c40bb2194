/** What the scanning machine knows about itself: its neighbour table and its own addresses. */
import { readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { runCommand, type CommandRunner } from '../adapters/reach/icmp';
import { parseIpNeighJson, parseProcNetArp, type Neighbour } from './neighbours';

export async function readNeighbours(run: CommandRunner = runCommand): Promise<Map<string, Neighbour>> {
  const r = await run('ip', ['-j', '-4', 'neigh', 'show'], 3000);
  const parsed = r.code === 0 ? parseIpNeighJson(r.stdout) : undefined;
  if (parsed) return parsed;
  try {
    return parseProcNetArp(await readFile('/proc/net/arp', 'utf8'));
  } catch {
    return new Map(); // neither source: MACs are simply left out
  }
}

/** This machine answers for these, so a scan would "find" itself. */
export function ownAddresses(): Set<string> {
  return new Set(
    Object.values(networkInterfaces())
      .flat()
      .filter((i) => i?.family === 'IPv4')
      .map((i) => i?.address as string),
  );
}
