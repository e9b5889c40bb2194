/**
 * The NUT source: reads a UPS from upsd (LIST VAR) and maps it to a UpsReading; runs instant
 * commands and FSD. Connects (STARTTLS, login by role) on first use and again after any failure.
 */
import { readFileSync } from 'node:fs';
import type { Clock } from '../../../core/clock';
import { systemClock } from '../../../core/clock';
import { BlackstartError, toBlackstartError } from '../../../core/errors';
import type { SourceDeps, UpsReading, UpsSource } from '../source';
import { NutClient, type NutTransport, type TlsMode } from './client';
import { readingOf, type UpsEntry } from './codec';
import type { NutConfig } from './config';

export { nutSchema, type NutConfig } from './config';
export { NutClient, netTransport, type NutTransport, type TlsMode } from './client';
export type { UpsEntry } from './codec';

export interface NutSourceOptions {
  /** Replaces TCP/TLS (tests). */
  transport?: NutTransport;
}

class NutSource implements UpsSource {
  readonly label: string;
  private client: NutClient | undefined;
  private opening: Promise<NutClient> | undefined;

  constructor(
    private readonly cfg: NutConfig,
    private readonly deps: SourceDeps,
    private readonly opts: NutSourceOptions,
  ) {
    this.label = `nut://${hostPart(cfg.host)}:${cfg.port}/${cfg.ups}`;
  }

  async read(): Promise<UpsReading> {
    const client = await this.open();
    const vars = await client.listVar(this.cfg.ups);
    const reading = readingOf(vars);
    if (!reading.ok) throw new BlackstartError('PROTOCOL', `${this.label}: ${reading.error}`);
    return reading.value;
  }

  async run(command: string, args?: Record<string, unknown>): Promise<void> {
    const client = await this.open();
    if (command === 'fsd') {
      await client.fsd(this.cfg.ups);
      this.deps.log.warn({ source: this.label }, 'forced shutdown (FSD) set in upsd');
      return;
    }
    const known = await client.listCmd(this.cfg.ups);
    if (!known.includes(command)) {
      throw new BlackstartError('UNSUPPORTED', `${this.label}: the UPS has no instant command "${command}" (it offers: ${known.join(', ') || 'none'})`);
    }
    await client.instcmd(this.cfg.ups, command, paramOf(args));
    this.deps.log.info({ source: this.label, command }, 'instant command accepted');
  }

  async close(): Promise<void> {
    const opening = this.opening;
    this.opening = undefined;
    const client = this.client ?? (await opening?.catch(() => undefined));
    this.client = undefined;
    await client?.logout();
  }

  /** The open, logged-in client; opens one when there is none or the last one failed. */
  private open(): Promise<NutClient> {
    if (this.client?.isOpen) return Promise.resolve(this.client);
    this.client = undefined;
    if (!this.opening) {
      const opening = this.connect().finally(() => {
        if (this.opening === opening) this.opening = undefined;
      });
      this.opening = opening;
    }
    return this.opening;
  }

  private async connect(): Promise<NutClient> {
    const cfg = this.cfg;
    const client = new NutClient({
      host: cfg.host,
      port: cfg.port,
      timeoutMs: cfg.timeout,
      clock: this.deps.clock,
      label: this.label,
      ...(this.opts.transport ? { transport: this.opts.transport } : {}),
    });
    try {
      await client.connect();
      await client.startTls(cfg.tls, cfg.tls === 'off' ? undefined : readCa(cfg.caFile?.path, this.label));
      if (cfg.username) {
        const password = cfg.password?.secret.reveal();
        if (password === undefined) throw new BlackstartError('CONFIG', `${this.label}: username ${cfg.username} given without a password`);
        await client.authenticate(cfg.username, password);
      }
      if (cfg.role !== 'monitor') await client.login(cfg.ups);
      if (cfg.role === 'primary') await client.primary(cfg.ups);
    } catch (err) {
      client.close();
      throw toBlackstartError(err);
    }
    this.deps.log.debug({ source: this.label, tls: client.isEncrypted, role: cfg.role }, 'connected to upsd');
    this.client = client;
    return client;
  }
}

export function createNutSource(cfg: NutConfig, deps: SourceDeps, opts: NutSourceOptions = {}): UpsSource {
  return new NutSource(cfg, deps, opts);
}

export interface ListUpsOptions {
  host?: string;
  port?: number;
  timeoutMs?: number;
  tls?: TlsMode;
  /** PEM of the CA that signed upsd's certificate. */
  ca?: string | Buffer;
  clock?: Clock;
  transport?: NutTransport;
}

/** The UPS names a upsd serves (what `upsc -l` prints), for the CLI and setup wizards. */
export async function listUps(opts: ListUpsOptions = {}): Promise<UpsEntry[]> {
  const client = new NutClient({
    host: opts.host ?? '127.0.0.1',
    port: opts.port ?? 3493,
    timeoutMs: opts.timeoutMs ?? 3000,
    clock: opts.clock ?? systemClock,
    ...(opts.transport ? { transport: opts.transport } : {}),
  });
  try {
    await client.connect();
    await client.startTls(opts.tls ?? 'auto', opts.ca);
    return await client.listUps();
  } finally {
    await client.logout();
  }
}

function readCa(path: string | undefined, label: string): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new BlackstartError('CONFIG', `${label}: cannot read ca_file ${path}: ${(err as Error).message}`);
  }
}

/** An INSTCMD takes at most one parameter (e.g. a delay); accept it as `param` or `value`. */
function paramOf(args: Record<string, unknown> | undefined): string | undefined {
  const v = args?.param ?? args?.value;
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new BlackstartError('BAD_REQUEST', 'an instant command parameter must be a string or a number');
}

function hostPart(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
