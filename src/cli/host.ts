/**
 * `blackstart wake | shutdown | probe`: one host's methods run through the same adapters and
 * hub as the daemon, from a config file (or, for wake, a bare MAC address).
 */
import { buildHub } from '../adapters/registry';
import { parseMac } from '../adapters/power/wol-codec';
import type { Config } from '../config/schema';
import { ConfigError, loadConfig, parseConfig } from '../config/loader';
import { BlackstartError, exitCodeFor, toBlackstartError } from '../core/errors';
import type { CommandResult, Hub } from '../core/hub';
import { createLogger, type LogLevel, type Logger } from '../core/logger';
import { hostPayload, resultPayload } from '../mqtt/payloads';
import { wholeNumberOption } from './options';

interface Common {
  config?: string;
  json?: boolean;
  logLevel?: string;
}

export interface WakeOptions extends Common {
  address?: string;
  port?: string;
  password?: string;
  passwordEnv?: string;
  repeat?: string;
}

export async function wakeCommand(target: string, o: WakeOptions, out = process.stdout): Promise<number> {
  return withHost(o, out, () => {
    const overrides: Record<string, unknown> = {};
    if (o.address !== undefined) overrides.address = o.address;
    if (o.port !== undefined) overrides.port = wholeNumberOption(o.port, '--port');
    if (o.repeat !== undefined) overrides.repeat = wholeNumberOption(o.repeat, '--repeat');
    if (o.password !== undefined) overrides.password = o.password;
    if (o.passwordEnv !== undefined) overrides.password_env = o.passwordEnv;
    if (o.config) {
      const { config } = loadConfig(o.config);
      const host = config.hosts[target];
      if (!host) throw new BlackstartError('NOT_FOUND', `no host "${target}" in ${o.config} (hosts: ${Object.keys(config.hosts).join(', ') || 'none'})`);
      if (!host.wol) throw new BlackstartError('UNSUPPORTED', `host "${target}" has no wol block in ${o.config}`);
      if (Object.keys(overrides).length === 0) return { config: only(config, target), id: target, action: 'wake' };
      // Flags win over the file: re-validate the merged block with the one schema.
      return { config: parseConfig(JSON.stringify({ hosts: { [target]: { wol: { ...wolAsWritten(host.wol), ...overrides } } } }), { file: 'command line' }).config, id: target, action: 'wake' };
    }
    parseMac(target); // a clear error for something that is neither a host (no -c) nor a MAC
    const { config } = parseConfig(JSON.stringify({ hosts: { target: { wol: { mac: target, ...overrides } } } }), { file: 'command line' });
    return { config, id: 'target', action: 'wake' };
  });
}

export async function shutdownCommand(host: string, o: Common & { dryRun?: boolean }, out = process.stdout): Promise<number> {
  return withHost(o, out, () => {
    const config = hostConfig(host, o.config);
    if (!config.hosts[host]?.shutdown) throw new BlackstartError('UNSUPPORTED', `host "${host}" has no shutdown block in ${o.config}`);
    return { config, id: host, action: 'shutdown', args: { dry_run: o.dryRun === true } };
  });
}

export async function probeCommand(host: string, o: Common, out = process.stdout): Promise<number> {
  const log = logger(o);
  let hub: Hub | undefined;
  try {
    const config = hostConfig(host, o.config);
    const probe = config.hosts[host]?.probe;
    if (!probe) throw new BlackstartError('UNSUPPORTED', `host "${host}" has no probe block in ${o.config}`);
    hub = buildHub(config, { log });
    const h = hub;
    const first = new Promise<void>((resolve) => h.on('host', (_id, s) => s.reachable !== null && resolve()));
    await h.start();
    const limit = probe.timeout + 2000;
    await Promise.race([first, new Promise<void>((_, reject) => setTimeout(() => reject(new BlackstartError('TIMEOUT', `no probe result for ${host} within ${limit} ms`)), limit).unref())]);
    const state = h.host(host);
    if (!state) throw new BlackstartError('INTERNAL', `host ${host} vanished`);
    const p = hostPayload(state);
    out.write(o.json ? `${JSON.stringify(p)}\n` : `${host}: ${state.reachable ? `answers (${state.latencyMs ?? '?'} ms)` : `does not answer${state.lastError ? `: ${state.lastError}` : ''}`}\n`);
    return state.reachable ? 0 : exitCodeFor(new BlackstartError('UNREACHABLE', 'host does not answer'));
  } catch (err) {
    return fail(err);
  } finally {
    await hub?.stop();
  }
}

interface Job {
  config: Config;
  id: string;
  action: string;
  args?: Record<string, unknown>;
}

/** Builds a hub for one host, runs one action, prints the result as MQTT would carry it. */
async function withHost(o: Common, out: NodeJS.WritableStream, plan: () => Job): Promise<number> {
  const log = logger(o);
  let hub: Hub | undefined;
  try {
    const job = plan();
    hub = buildHub(job.config, { log });
    await hub.start();
    const result: CommandResult = await hub.execute({ kind: 'host', id: job.id }, { action: job.action, ...(job.args ? { args: job.args } : {}) });
    out.write(`${o.json ? JSON.stringify(resultPayload(result)) : describe(job, result)}\n`);
    if (!result.ok) process.stderr.write(`blackstart: ${result.error?.message ?? 'failed'}\n`);
    return result.ok ? 0 : exitCodeFor(new BlackstartError(result.error?.code ?? 'INTERNAL', result.error?.message ?? ''));
  } catch (err) {
    return fail(err);
  } finally {
    await hub?.stop();
  }
}

function describe(job: Job, r: CommandResult): string {
  if (!r.ok) return `${job.action} ${job.id}: failed (${r.error?.code ?? '?'})`;
  const d = (r.detail ?? {}) as Record<string, unknown>;
  if (d.dry_run) return `${job.action} ${job.id}: dry run, nothing changed\n${String(d.output ?? '')}`.trimEnd();
  const how = d.verified_by ? `; down, verified by ${String(d.verified_by)} after ${String(d.took_ms)} ms` : '';
  return `${job.action} ${job.id}: done in ${r.tookMs} ms${how}`;
}

export function hostConfig(host: string, file: string | undefined): Config {
  if (!file) throw new BlackstartError('BAD_REQUEST', 'give the config file with -c FILE');
  const { config } = loadConfig(file);
  if (!config.hosts[host]) throw new BlackstartError('NOT_FOUND', `no host "${host}" in ${file} (hosts: ${Object.keys(config.hosts).join(', ') || 'none'})`);
  return only(config, host);
}

/** The config narrowed to one host and no UPS: a CLI action touches nothing else. */
export function only(config: Config, host: string): Config {
  return { ...config, ups: {}, hosts: { [host]: config.hosts[host] as Config['hosts'][string] } };
}

/** A parsed wol block back in YAML's terms, for merging flags into it. */
function wolAsWritten(w: NonNullable<Config['hosts'][string]['wol']>): Record<string, unknown> {
  const out: Record<string, unknown> = { mac: w.mac, address: w.address, port: w.port, repeat: w.repeat, spacing: `${w.spacing}ms` };
  if (w.relay) out.relay = w.relay;
  if (w.sourceAddress) out.source_address = w.sourceAddress;
  if (w.interface) out.interface = w.interface;
  const pw = w.password?.source;
  if (pw?.from === 'env') out.password_env = pw.name;
  if (pw?.from === 'file') out.password_file = pw.path;
  if (pw?.from === 'inline') out.password = pw.value;
  return out;
}


export function logger(o: Common): Logger {
  return createLogger({ level: (o.logLevel as LogLevel | undefined) ?? 'warn', destination: process.stderr });
}

export function fail(err: unknown): number {
  process.stderr.write(`blackstart: ${err instanceof ConfigError ? err.message : toBlackstartError(err).message}\n`);
  return err instanceof ConfigError ? 1 : exitCodeFor(err);
}
