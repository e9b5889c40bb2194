/**
 * `blackstart scan <cidr>`: find the machines on a subnet and, with --write, add them to a
 * config file as hosts to watch. Discovery is best effort; what it writes is checked by the
 * same loader as `blackstart check` before it replaces the file.
 */
import { parseCidr, expandCidr } from '../discovery/cidr';
import { scan, type FoundHost } from '../discovery/scan';
import { writeFoundHosts } from '../discovery/write-config';
import type { MergeResult } from '../discovery/merge';
import { BlackstartError, exitCodeFor, toBlackstartError } from '../core/errors';
import { durationOption, wholeNumberOption } from './options';

export const DEFAULT_SCAN_PORTS = '22,80,443,623';

export interface ScanCliOptions {
  ports?: string;
  json?: boolean;
  write?: string;
  timeout?: string;
  concurrency?: string;
  force?: boolean;
  /** commander's --no-icmp / --no-dns. */
  icmp?: boolean;
  dns?: boolean;
}

function parsePorts(text: string): number[] {
  const ports = text.split(',').map((p) => p.trim());
  const bad = ports.find((p) => !/^\d{1,5}$/.test(p) || Number(p) < 1 || Number(p) > 65535);
  if (bad !== undefined || ports.length === 0) throw new BlackstartError('BAD_REQUEST', `--ports: "${bad ?? text}" is not a port 1-65535 (give a comma-separated list such as 22,80,443)`);
  return [...new Set(ports.map(Number))];
}

function table(hosts: readonly FoundHost[]): string {
  const rows = [
    ['ADDRESS', 'MAC', 'NAME', 'OPEN PORTS', 'BMC'],
    ...hosts.map((h) => [h.address, h.mac ?? '-', h.name ?? '-', h.openPorts.join(',') || '-', h.bmc ? 'yes' : 'no']),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] as string).length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] as number))).join('  ')).join('\n') + '\n';
}

function writeSummary(file: string, m: MergeResult): string {
  const lines = [`${file}: ${m.added.length ? `added ${m.added.map((a) => `${a.id} (${a.address})`).join(', ')}` : 'nothing to add'}`];
  for (const s of m.skipped) lines.push(`  ${s.address} is already there as ${s.id} (same ${s.by === 'mac' ? 'wol.mac' : s.by === 'name' ? 'name as its address' : 'address'})`);
  return lines.join('\n') + '\n';
}

export async function scanCommand(
  cidrText: string,
  o: ScanCliOptions,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
): Promise<number> {
  try {
    const cidr = parseCidr(cidrText, { force: o.force === true });
    const ports = parsePorts(o.ports ?? DEFAULT_SCAN_PORTS);
    const timeoutMs = o.timeout ? durationOption(o.timeout, '--timeout', { min: 10, max: 60_000, says: 'between 10ms and 60s' }) : 500;
    const concurrency = o.concurrency ? wholeNumberOption(o.concurrency, '--concurrency', { min: 1, max: 4096 }) : 256;
    const started = Date.now();
    // Only a person watching a terminal wants the line; a pipe or a log file would collect every redraw.
    const progress = err.isTTY
      ? (done: number, total: number): void => {
          if (done === total || done % 32 === 0) err.write(`\rscanning ${cidr.network}/${cidr.prefix}: ${done}/${total} probes`);
        }
      : undefined;
    const hosts = await scan(expandCidr(cidr), {
      ports,
      timeoutMs,
      concurrency,
      icmp: o.icmp !== false,
      dns: o.dns !== false,
      ...(progress ? { onProgress: progress } : {}),
    });
    if (progress) err.write('\r\x1b[K');
    const written = o.write ? writeFoundHosts(o.write, hosts, new Date().toISOString().slice(0, 10)) : undefined;
    if (o.json) {
      out.write(
        `${JSON.stringify({
          range: `${cidr.network}/${cidr.prefix}`,
          scanned: cidr.hostCount,
          took_ms: Date.now() - started,
          hosts: hosts.map((h) => ({ address: h.address, mac: h.mac, name: h.name, open_ports: h.openPorts, icmp: h.icmp, bmc: h.bmc, ipmi: h.ipmi })),
          ...(written && o.write ? { written: { file: o.write, added: written.added, skipped: written.skipped } } : {}),
        })}\n`,
      );
    } else {
      out.write(hosts.length ? table(hosts) : `no hosts answered in ${cidr.network}/${cidr.prefix}\n`);
      if (written && o.write) out.write(writeSummary(o.write, written));
    }
    return 0;
  } catch (e) {
    err.write(`blackstart: ${toBlackstartError(e).message}\n`);
    return exitCodeFor(e);
  }
}
