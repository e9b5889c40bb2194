/**
 * ICMP echo through the system's tools, because raw sockets need privileges Node does not have:
 * one `fping` process per sweep for all hosts, or one `ping` per host when fping is missing.
 * Every failure, including "no tool", is reported per host as an error rather than swallowed.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { mapBounded } from '../../core/bounded';
import { roundMs, type MethodOutcome } from './outcome';

export interface RunResult {
  /** Exit code; null when the process could not start or was killed. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Spawn failure or kill, when there was one. */
  failure?: string;
}

export type CommandRunner = (file: string, args: readonly string[], timeoutMs: number) => Promise<RunResult>;

export const runCommand: CommandRunner = (file, args, timeoutMs) =>
  new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      if (!err) return resolve({ code: 0, stdout, stderr });
      const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
      if (typeof e.code === 'number') return resolve({ code: e.code, stdout, stderr });
      resolve({ code: null, stdout, stderr, failure: e.killed ? `killed after ${timeoutMs} ms` : (e.code ?? e.message) });
    });
  });

export interface IcmpOptions {
  /** Where to look for fping and ping; default $PATH plus the sbin folders. */
  searchPath?: string;
  run?: CommandRunner;
  /** Parallel `ping` processes when falling back (fping needs only one). */
  pingConcurrency?: number;
  /** fping's gap between packets to different hosts (its default is 10 ms); a subnet scan wants less. */
  fpingIntervalMs?: number;
}

export type IcmpTool = { kind: 'fping' | 'ping'; path: string };

export class IcmpProber {
  private readonly searchPath: string;
  private readonly run: CommandRunner;
  private readonly pingConcurrency: number;
  private readonly fpingIntervalMs: number | undefined;
  private readonly waitKinds = new Map<string, Promise<boolean>>();

  constructor(opts: IcmpOptions = {}) {
    this.searchPath = opts.searchPath ?? [process.env.PATH ?? '', '/usr/sbin', '/sbin', '/usr/bin', '/bin'].join(delimiter);
    this.run = opts.run ?? runCommand;
    this.pingConcurrency = opts.pingConcurrency ?? 16;
    this.fpingIntervalMs = opts.fpingIntervalMs;
  }

  /** Looked up on every sweep, so installing fping takes effect without a restart. */
  tool(): IcmpTool | undefined {
    for (const kind of ['fping', 'ping'] as const) {
      for (const dir of this.searchPath.split(delimiter).filter(Boolean)) {
        const path = join(dir, kind);
        try {
          accessSync(path, constants.X_OK);
          return { kind, path };
        } catch {
          // not here; keep looking
        }
      }
    }
    return undefined;
  }

  async sweep(hosts: readonly string[], timeoutMs: number): Promise<Map<string, MethodOutcome>> {
    const unique = [...new Set(hosts)];
    if (unique.length === 0) return new Map();
    const tool = this.tool();
    if (!tool) return allFailed(unique, 'ICMP unavailable: neither fping nor ping found');
    return tool.kind === 'fping' ? this.fping(tool.path, unique, timeoutMs) : this.ping(tool.path, unique, timeoutMs);
  }

  private async fping(path: string, hosts: string[], timeoutMs: number): Promise<Map<string, MethodOutcome>> {
    // -C1 -q prints one "host : rtt" (or "host : -") line per host on stderr, easy to read back.
    // fping spaces its packets 10 ms apart by default, hence the slack in the kill deadline.
    const interval = this.fpingIntervalMs === undefined ? [] : ['-i', String(Math.max(1, Math.round(this.fpingIntervalMs)))];
    const gap = (this.fpingIntervalMs ?? 10) + 2;
    const r = await this.run(path, ['-C', '1', '-q', '-t', String(Math.max(1, Math.round(timeoutMs))), ...interval, ...hosts], timeoutMs + hosts.length * gap + 2000);
    const out = new Map<string, MethodOutcome>();
    for (const line of r.stderr.split('\n')) {
      const m = /^(\S+)\s+:\s+(-|[\d.]+)\s*$/.exec(line);
      if (!m || !hosts.includes(m[1] as string)) continue;
      const host = m[1] as string;
      out.set(host, m[2] === '-' ? failed(`icmp ${host}: no echo reply within ${timeoutMs} ms`) : ok(Number(m[2])));
    }
    if (out.size === hosts.length) return out;
    const why = fpingProblem(r);
    for (const host of hosts) {
      if (out.has(host)) continue;
      const own = r.stderr.split('\n').find((l) => l.startsWith(`${host}:`) || l.startsWith(`${host} `));
      out.set(host, failed(`icmp ${host}: ${own ? own.slice(host.length).replace(/^[\s:]+/, '') : why}`));
    }
    return out;
  }

  private async ping(path: string, hosts: string[], timeoutMs: number): Promise<Map<string, MethodOutcome>> {
    const out = new Map<string, MethodOutcome>();
    const waitS = (await this.subSecondWait(path)) ? String(Math.max(1, Math.round(timeoutMs)) / 1000) : String(Math.max(1, Math.ceil(timeoutMs / 1000)));
    await mapBounded(hosts, this.pingConcurrency, async (host) => {
      const r = await this.run(path, ['-n', '-c', '1', '-W', waitS, host], timeoutMs + 2000);
      const time = /time[=<]([\d.]+)\s*ms/.exec(r.stdout);
      if (r.code === 0 && time) out.set(host, ok(Number(time[1])));
      else if (r.code === 1) out.set(host, failed(`icmp ${host}: no echo reply within ${waitS} s`));
      else out.set(host, failed(`icmp ${host}: ${pingProblem(r)}`));
    });
    return out;
  }

  /**
   * Whether this ping takes -W in fractions of a second. iputils does since s20190709; older ones
   * (and BusyBox) cut 0.5 down to 0, which means "wait for ever", so anything not known to be new
   * enough is given whole seconds. Asked once per binary.
   */
  private subSecondWait(path: string): Promise<boolean> {
    let known = this.waitKinds.get(path);
    if (!known) {
      known = this.run(path, ['-V'], 2000).then((r) => pingTakesFractions(`${r.stdout}\n${r.stderr}`));
      this.waitKinds.set(path, known);
    }
    return known;
  }
}

/** From `ping -V`: "ping from iputils 20221126", "ping from iputils s20190709", "ping utility, iputils-s20161105". */
export function pingTakesFractions(version: string): boolean {
  const m = /iputils[- ]+s?(\d{8})\b/.exec(version);
  return m !== null && Number(m[1]) >= 20190709;
}

function ok(latencyMs: number): MethodOutcome {
  return { method: 'icmp', ok: true, latencyMs: roundMs(latencyMs), error: null };
}

function failed(error: string): MethodOutcome {
  return { method: 'icmp', ok: false, latencyMs: null, error };
}

function allFailed(hosts: readonly string[], error: string): Map<string, MethodOutcome> {
  return new Map(hosts.map((h) => [h, failed(error)]));
}

function firstLine(text: string): string {
  return text.split('\n').find((l) => l.trim())?.trim() ?? '';
}

function fpingProblem(r: RunResult): string {
  const text = firstLine(r.stderr);
  if (r.failure) return `ICMP unavailable: fping did not run (${r.failure})`;
  if (/permitted|must run as root|can't create socket|permission/i.test(r.stderr)) return `ICMP unavailable: fping not permitted (${text})`;
  return `fping exited ${r.code}${text ? `: ${text}` : ''}`;
}

function pingProblem(r: RunResult): string {
  const text = firstLine(r.stderr) || firstLine(r.stdout);
  if (r.failure) return `ICMP unavailable: ping did not run (${r.failure})`;
  if (/permitted|permission|socket/i.test(text)) return `ICMP unavailable: ping not permitted (${text})`;
  return `ping exited ${r.code}${text ? `: ${text}` : ''}`;
}
