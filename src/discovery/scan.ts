/**
 * One sweep of a range: ICMP (one fping run), TCP connects and RMCP presence pings run side by
 * side, then the neighbour table is read (the probes just filled it) and found hosts get a
 * reverse-DNS name. A host counts as found on any sign of life, a refused port included.
 */
import { Resolver } from 'node:dns/promises';
import { IcmpProber } from '../adapters/reach/icmp';
import { probePort, type PortResult } from '../adapters/reach/tcp';
import { mapBounded } from '../core/bounded';
import { parseIPv4 } from './cidr';
import type { Neighbour } from './neighbours';
import { rmcpPresence } from './rmcp-ping';
import { ownAddresses, readNeighbours } from './system';

export interface ScanOptions {
  ports: number[];
  timeoutMs: number;
  concurrency: number;
  icmp: boolean;
  dns: boolean;
  /** Called as TCP probes finish (the bulk of the work). */
  onProgress?: (done: number, total: number) => void;
  /** Test seams. */
  rmcpPort?: number;
  neighbours?: () => Promise<Map<string, Neighbour>>;
  reverse?: (address: string) => Promise<string | undefined>;
  exclude?: ReadonlySet<string>;
}

export interface FoundHost {
  address: string;
  mac: string | null;
  name: string | null;
  openPorts: number[];
  icmp: boolean;
  /** Answered an RMCP presence ping on 623/UDP. */
  bmc: boolean;
  /** The pong said IPMI is supported. */
  ipmi: boolean;
}

export async function scan(addresses: readonly string[], o: ScanOptions): Promise<FoundHost[]> {
  const exclude = o.exclude ?? ownAddresses();
  const targets = addresses.filter((a) => !exclude.has(a));
  const jobs = targets.flatMap((address) => o.ports.map((port) => ({ address, port })));
  let done = 0;
  const [icmp, tcp, pongs] = await Promise.all([
    // Without fping each address is a `ping` process waiting up to a whole second: a sweep of a
    // subnet, where most addresses are silent, needs many at once.
    o.icmp ? new IcmpProber({ fpingIntervalMs: 1, pingConcurrency: 64 }).sweep(targets, o.timeoutMs) : Promise.resolve(new Map()),
    mapBounded(jobs, o.concurrency, async (j) => {
      const r = await probePort(j.address, j.port, o.timeoutMs);
      o.onProgress?.(++done, jobs.length);
      return { address: j.address, r };
    }),
    rmcpPresence(targets, { timeoutMs: o.timeoutMs, ...(o.rmcpPort ? { port: o.rmcpPort } : {}) }),
  ]);
  const neighbours = await (o.neighbours ?? readNeighbours)();

  const ports = new Map<string, PortResult[]>();
  for (const { address, r } of tcp) ports.set(address, [...(ports.get(address) ?? []), r]);
  const alive = targets.filter(
    (a) => icmp.get(a)?.ok || pongs.has(a) || neighbours.has(a) || (ports.get(a) ?? []).some((p) => p.state === 'open' || p.state === 'refused'),
  );
  const reverse = o.reverse ?? (o.dns ? reverseResolver(o.timeoutMs) : async () => undefined);
  const names = await mapBounded(alive, 16, (a) => reverse(a));
  return alive
    .map((address, i) => ({
      address,
      mac: neighbours.get(address)?.mac ?? null,
      name: names[i] ?? null,
      openPorts: (ports.get(address) ?? []).filter((p) => p.state === 'open').map((p) => p.port),
      icmp: icmp.get(address)?.ok === true,
      bmc: pongs.has(address),
      ipmi: pongs.get(address)?.ipmiSupported === true,
    }))
    .sort((a, b) => (parseIPv4(a.address) as number) - (parseIPv4(b.address) as number));
}

/** A name or nothing within the timeout: a missing PTR record is normal on a LAN. */
function reverseResolver(timeoutMs: number): (address: string) => Promise<string | undefined> {
  return async (address) => {
    // One resolver per lookup, so giving up on one cancels only its own query.
    const resolver = new Resolver({ timeout: Math.max(100, timeoutMs), tries: 1 });
    let timer: NodeJS.Timeout | undefined;
    try {
      const names = await Promise.race([
        resolver.reverse(address),
        new Promise<string[]>((resolve) => (timer = setTimeout(() => resolve([]), timeoutMs * 2))),
      ]);
      return names[0];
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
      resolver.cancel();
    }
  };
}
