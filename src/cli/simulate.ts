/**
 * `blackstart simulate`: the outage plan run against a simulated copy of the lab on a virtual
 * clock, printed as a timeline with warnings and the budget; also the `simulate` action on
 * `<base>/outage/set`, which answers with a summary of the same run.
 */
import { writeFileSync } from 'node:fs';
import { duration, section } from '../config/fields';
import { ConfigError, loadConfig } from '../config/loader';
import type { Config } from '../config/schema';
import type { CommandDetail } from '../core/adapter';
import { snakeDeep } from '../core/case';
import { formatDuration, parseDuration } from '../core/duration';
import { BlackstartError, ERROR_CODES, exitCodeFor, toBlackstartError } from '../core/errors';
import { clockText, DEFAULT_RESTORE_AT_MS, simulateOutage, type SimulateOptions, type SimulationResult } from '../orchestrator/simulate';
import { timelineSvg } from '../orchestrator/timeline-svg';

export interface SimulateCliOptions {
  config: string;
  outageAt?: string;
  restoreAt?: string;
  runtime?: string;
  max?: string;
  svg?: string;
  json?: boolean;
}

/** The lab would not come through: the plan did not fit, a host stayed up, the battery died first. */
export const DID_NOT_HOLD_EXIT = ERROR_CODES.TIMEOUT.exit;

export const SIMULATE_HELP = `
Times are virtual: the whole outage runs in about a second. --outage-at and --restore-at count
from the start of the simulation; the timeline counts from the power cut (mm:ss). Hosts and the
UPS are simulated from the config's figures (simulated: blocks, outage.shutdown_takes,
outage.boot_takes); service checks are assumed to pass.

Exit codes:
  0  the plan fit, every host was down before the battery ran out, and everything came back
  1  the config is invalid, or gives no runtime for a UPS that is not simulated (use --runtime)
  2  an option could not be read (e.g. a duration), or --svg could not be written
  ${DID_NOT_HOLD_EXIT}  the plan did not fit the runtime, a host never went down, the battery ran flat
     before the plan was over, or a host was not restored`;

export async function simulateCommand(o: SimulateCliOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  // `simulate --json | head` closes the pipe early: that is the reader's choice, not a crash.
  out.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') process.stderr.write(`blackstart: ${err.message}\n`);
  });
  try {
    const { config } = loadConfig(o.config);
    const result = await simulateOutage(config, cliOptions(o));
    if (o.svg) writeSvg(o.svg, result);
    out.write(o.json ? `${JSON.stringify(snakeDeep(result), null, 2)}\n` : report(result, o.svg));
    return result.ok ? 0 : DID_NOT_HOLD_EXIT;
  } catch (err) {
    process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `blackstart: ${toBlackstartError(err).message}\n`);
    return err instanceof ConfigError ? 1 : exitCodeFor(err);
  }
}

function cliOptions(o: SimulateCliOptions): SimulateOptions {
  const opts: SimulateOptions = {
    outageAtMs: o.outageAt === undefined ? 0 : option('--outage-at', o.outageAt),
    restoreAtMs: o.restoreAt === undefined ? DEFAULT_RESTORE_AT_MS : option('--restore-at', o.restoreAt),
  };
  if (o.runtime !== undefined) opts.runtimeMs = option('--runtime', o.runtime);
  if (o.max !== undefined) opts.maxMs = option('--max', o.max);
  return opts;
}

function option(name: string, text: string): number {
  const d = parseDuration(text);
  if ('error' in d) throw new BlackstartError('BAD_REQUEST', `${name}: ${d.error}`);
  return d.ms;
}

function writeSvg(file: string, result: SimulationResult): void {
  try {
    writeFileSync(file, timelineSvg(result));
  } catch (err) {
    throw new BlackstartError('BAD_REQUEST', `--svg: cannot write ${file}: ${(err as Error).message}`);
  }
}

/** The timeline, then warnings, then the budget and the verdict. */
export function report(r: SimulationResult, svg?: string): string {
  const width = Math.max(8, ...r.timeline.map((e) => e.subject.length));
  const at = Math.max(5, ...r.timeline.map((e) => clockText(e.t).length));
  const lines: string[] = [
    `Simulated outage on UPS ${r.ups}: mains fails at ${clockText(0)} and returns at ${clockText(r.powerRestoredMs)}; ${formatDuration(r.budget.runtimeMs)} of runtime at ${round(r.chargePct)}% charge`,
    '(virtual time from the power cut; service checks are assumed to pass)',
    '',
    ...r.timeline.map((e) => `${clockText(e.t).padStart(at)}  ${e.subject.padEnd(width)}  ${e.text}`),
    '',
  ];
  if (r.warnings.length) {
    lines.push(`warnings (${r.warnings.length}):`, ...r.warnings.map((w) => `  ${w.fatal ? '[problem]' : '[note]   '} ${w.message}`), '');
  }
  const b = r.budget;
  const down = r.shutdown.filter((s) => s.state === 'done').length;
  const back = r.restore.filter((s) => s.state === 'done').length;
  lines.push(
    'summary:',
    `  budget:     the plan needs ${formatDuration(b.neededMs)}${b.criticalPath.length ? ` (${b.criticalPath.join(' → ')})` : ''}; runtime ${formatDuration(b.runtimeMs)} − reserve ${formatDuration(b.reserveMs)} = ${signed(b.runtimeMs - b.reserveMs)}: ${b.fits ? `fits, ${formatDuration(b.slackMs) || '0s'} to spare` : `${formatDuration(-b.slackMs)} over budget`}`,
    `              worst case (every host to its escalation deadline): ${formatDuration(b.worstCaseMs)}; budget runs out at ${clockText(b.runsOutMs)}`,
    r.planStartedMs === null
      ? '  shutdown:   no trigger fired'
      : `  shutdown:   started ${clockText(r.planStartedMs)}${r.trigger ? ` (${r.trigger} trigger)` : ''}${r.allDownMs === null ? '' : `, last host down at ${clockText(r.allDownMs)}`}: ${down} of ${r.shutdown.length} down`,
    `  battery:    ${r.upsFlatMs === null ? 'never ran flat' : `ran flat at ${clockText(r.upsFlatMs)}`}`,
    ...(r.blackstartStarts > 1 ? [`  blackstart: went down with ${r.controller ?? 'its machine'} and resumed from the journal${r.blackstartStarts > 2 ? ` (${r.blackstartStarts - 1} times)` : ''}`] : []),
    r.restoreStartedMs === null
      ? `  restore:    ${r.planStartedMs === null ? 'nothing to restore' : 'never started'}`
      : `  restore:    started ${clockText(r.restoreStartedMs)}${r.restoreOverMs === null ? ', still running at the end' : `, over at ${clockText(r.restoreOverMs)}`}: ${back} of ${r.restore.length} back${r.outcome ? ` (${r.outcome})` : ''}`,
  );
  if (svg) lines.push(`  drawing:    ${svg}`);
  const problems = r.warnings.filter((w) => w.fatal).length;
  lines.push(
    r.ok
      ? r.planStartedMs === null
        ? 'result: OK: no shutdown was needed; the lab rode out the cut on battery'
        : 'result: OK: every host that had to go down was down before the battery ran out, and everything came back'
      : `result: FAILED: ${problems} problem${problems === 1 ? '' : 's'} (see warnings); exit ${DID_NOT_HOLD_EXIT}`,
  );
  return lines.join('\n') + '\n';
}

const simulateArgs = section({
  outage_at: duration().optional(),
  restore_at: duration().optional(),
  runtime: duration({ min: 1000 }).optional(),
  max: duration().optional(),
});

/**
 * The `simulate` action on `<base>/outage/set`, for the daemon's own config. It answers with a
 * summary: the whole timeline and drawing are for the CLI.
 */
export function outageSimulator(config: Config): (args: Record<string, unknown>) => Promise<CommandDetail> {
  return async (args) => {
    const parsed = simulateArgs.safeParse(args);
    if (!parsed.success) {
      const what = parsed.error.issues.map((i) => `${['args', ...i.path].join('.')}: ${i.message}`).join('; ');
      throw new BlackstartError('BAD_REQUEST', `simulate: ${what}`);
    }
    const a = parsed.data;
    const opts: SimulateOptions = { outageAtMs: a.outageAt ?? 0, restoreAtMs: a.restoreAt ?? DEFAULT_RESTORE_AT_MS };
    if (a.runtime !== undefined) opts.runtimeMs = a.runtime;
    if (a.max !== undefined) opts.maxMs = a.max;
    return summary(await simulateOutage(config, opts));
  };
}

/** What fits in an MQTT result: the verdict, the budget, each host's times, the warnings (seconds, snake_case). */
export function summary(r: SimulationResult): CommandDetail {
  const s = (ms: number | null): number | null => (ms === null ? null : Math.round(ms / 1000));
  const hosts = [...new Set([...r.shutdown.map((x) => x.host), ...r.restore.map((x) => x.host)])];
  return {
    ok: r.ok,
    outcome: r.outcome,
    ups: r.ups,
    runtime_s: s(r.budget.runtimeMs),
    reserve_s: s(r.budget.reserveMs),
    needed_s: s(r.budget.neededMs),
    worst_case_s: s(r.budget.worstCaseMs),
    slack_s: s(r.budget.slackMs),
    fits: r.budget.fits,
    critical_path: r.budget.criticalPath,
    power_restored_s: s(r.powerRestoredMs),
    plan_started_s: s(r.planStartedMs),
    trigger: r.trigger,
    shutdown_over_s: s(r.shutdownOverMs),
    all_down_s: s(r.allDownMs),
    blackstart_starts: r.blackstartStarts,
    ups_flat_s: s(r.upsFlatMs),
    restore_started_s: s(r.restoreStartedMs),
    restore_over_s: s(r.restoreOverMs),
    hosts: hosts.map((host) => {
      const d = r.shutdown.find((x) => x.host === host);
      const u = r.restore.find((x) => x.host === host);
      return {
        host,
        shutdown: d?.state ?? null,
        down_s: s(d?.downMs ?? null),
        forced: d ? d.escalatedMs !== null : false,
        restore: u?.state ?? null,
        up_s: s(u?.answeredMs ?? null),
      };
    }),
    warnings: r.warnings.map((w) => ({ code: w.code, message: w.message, fatal: w.fatal, ...(w.host ? { host: w.host } : {}) })),
  };
}

function signed(ms: number): string {
  return ms < 0 ? `−${formatDuration(-ms)}` : formatDuration(ms) || '0s';
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
