/**
 * `blackstart ups status <url>`: one UPS read through the same source and adapter the daemon
 * uses; `--watch` follows changes, `--json` prints the normalized state as published on MQTT.
 */
import { upsSource } from '../adapters/registry';
import { PolledUps } from '../adapters/ups/polled';
import { listUps } from '../adapters/ups/nut';
import { parseNutServerUrl, parseUpsUrl } from '../adapters/ups/url';
import { ConfigError, parseConfig } from '../config/loader';
import { systemClock } from '../core/clock';
import { formatDuration } from '../core/duration';
import { BlackstartError, exitCodeFor, toBlackstartError } from '../core/errors';
import { Hub } from '../core/hub';
import { createLogger, type LogLevel } from '../core/logger';
import type { UpsState } from '../core/state';
import { upsPayload } from '../mqtt/payloads';
import { durationOption } from './options';

export interface UpsStatusOptions {
  json?: boolean;
  watch?: boolean;
  passwordEnv?: string;
  passwordFile?: string;
  login?: boolean;
  interval?: string;
  timeout?: string;
  logLevel?: string;
}

export async function upsStatusCommand(url: string, o: UpsStatusOptions, out = process.stdout): Promise<number> {
  const log = createLogger({ level: (o.logLevel as LogLevel | undefined) ?? 'warn', destination: process.stderr });
  const deps = { clock: systemClock, log };
  let polled;
  try {
    polled = upsSource(buildFromUrl(url, o), deps);
    if (!polled) throw new BlackstartError('INTERNAL', 'the URL gave no UPS source');
  } catch (err) {
    process.stderr.write(`blackstart: ${err instanceof ConfigError ? err.message : toBlackstartError(err).message}\n`);
    return exitCodeFor(err);
  }
  const print = (s: UpsState): void => {
    out.write(o.json ? `${JSON.stringify(upsPayload(s))}\n` : formatState(s, o.watch === true));
  };

  if (!o.watch) {
    try {
      const r = await polled.source.read();
      print({ ...r, onBatteryS: r.onBatteryS ?? 0, source: polled.source.label, updated: Date.now() });
      return 0;
    } catch (err) {
      process.stderr.write(`blackstart: ${toBlackstartError(err).message}\n`);
      return exitCodeFor(err);
    } finally {
      await polled.source.close().catch(() => undefined);
    }
  }

  // Watching shows what the device says, so no on-battery debounce here.
  const hub = new Hub({ log });
  hub.addUps('ups');
  hub.attach(new PolledUps('ups', polled.source, { ...polled.settings, onBatteryDelay: 0, commands: [], impl: polled.impl }));
  hub.on('ups', (_id, state) => {
    if (state.source !== 'none') print(state);
  });
  await hub.start();
  return new Promise<number>((resolve) => {
    const stop = (): void => {
      void hub.stop().then(() => resolve(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

function buildFromUrl(url: string, o: UpsStatusOptions) {
  const section = parseUpsUrl(url);
  const [kind, body] = Object.entries(section)[0] as [string, Record<string, unknown>];
  if (o.passwordEnv || o.passwordFile) {
    if (kind !== 'nut') throw new BlackstartError('BAD_REQUEST', `${kind} takes no password`);
    if (o.passwordEnv) body.password_env = o.passwordEnv;
    if (o.passwordFile) body.password_file = o.passwordFile;
  }
  if (o.login) {
    if (kind !== 'nut') throw new BlackstartError('BAD_REQUEST', `--login is for NUT servers, not ${kind}`);
    body.role = 'secondary';
  }
  if (o.interval) {
    body.poll_interval = o.interval;
    // Long intervals get a dead time to match (three missed polls), rather than an error about a setting not asked for.
    const ms = durationOption(o.interval, '--interval');
    if (ms * 3 > 15_000) body.dead_time = `${ms * 3}ms`;
  }
  if (o.timeout) body.timeout = o.timeout;
  // The same schema and secret handling as a config file (JSON is YAML).
  const { config } = parseConfig(JSON.stringify({ ups: { ups: section } }), { file: url.replace(/\/\/[^@/]*@/, '//') });
  return config.ups.ups as NonNullable<typeof config.ups[string]>;
}

const num = (v: number | null, unit: string, digits = 0): string => (v === null ? '-' : `${v.toFixed(digits)}${unit}`);

function formatState(s: UpsState, oneLine: boolean): string {
  const runtime = s.runtimeS === null ? '-' : formatDuration(s.runtimeS * 1000);
  if (oneLine) {
    const t = new Date(s.updated).toISOString().slice(11, 19);
    return `${t} ${s.status} [${s.flags.join(' ')}] charge ${num(s.chargePct, '%')} runtime ${runtime} load ${num(s.loadPct, '%')} input ${num(s.inputV, ' V', 1)}\n`;
  }
  return [
    `source      ${s.source}`,
    `status      ${s.status} [${s.flags.join(' ')}]`,
    `charge      ${num(s.chargePct, ' %', 1)}`,
    `runtime     ${runtime}`,
    `load        ${num(s.loadPct, ' %', 1)}`,
    `input       ${num(s.inputV, ' V', 1)}`,
    `battery     ${num(s.batteryV, ' V', 2)}`,
    `on battery  ${s.onBatteryS} s`,
    '',
  ].join('\n');
}

/** `blackstart ups list nut://host[:port]`: the UPS names a upsd serves, as `upsc -l` prints them. */
export async function upsListCommand(url: string, o: { json?: boolean; timeout?: string }, out = process.stdout): Promise<number> {
  try {
    const server = parseNutServerUrl(url);
    const timeoutMs = o.timeout ? durationOption(o.timeout, '--timeout') : 3000;
    const list = await listUps({ ...server, timeoutMs });
    out.write(o.json ? `${JSON.stringify(list)}\n` : list.map((u) => `${u.name}\t${u.description}\n`).join(''));
    return 0;
  } catch (err) {
    process.stderr.write(`blackstart: ${toBlackstartError(err).message}\n`);
    return exitCodeFor(err);
  }
}

