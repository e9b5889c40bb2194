/**
 * The local command shutdown method: runs a program the owner chose (a vendor CLI, `ssh` with
 * their own options, a script) as an argv array, so no shell sees the words unless they ask for
 * one with `sh -c`.
 */
import { spawn } from 'node:child_process';
import { BlackstartError } from '../../core/errors';
import { silentLogger, type Logger } from '../../core/logger';
import { killGroup } from '../process-group';
import { shownWord } from '../sh-quote';
import type { ShutdownMethod, ShutdownOutcome, ShutdownRunOptions } from './method';

export interface CommandOptions {
  readonly argv: readonly string[];
  readonly timeoutMs?: number;
  /** Exit codes that mean "the host accepted the shutdown"; default [0]. */
  readonly okExitCodes?: readonly number[];
  /** Fixed variables added to the child's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Names of this process's variables the child also gets (the rest stay here: they may hold secrets). */
  readonly passEnv?: readonly string[];
  readonly cwd?: string;
  readonly log?: Logger;
  /** For tests; the default is the real process environment. */
  readonly parentEnv?: NodeJS.ProcessEnv;
}

/** What any program needs to find its tools and speak the user's language. */
const BASE_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ'];
/** Kept from each stream; a shutdown script's last words are what explain a failure. */
export const OUTPUT_LIMIT = 4096;
/** After SIGTERM, how long the command has before SIGKILL. */
const KILL_GRACE_MS = 2000;

export class CommandMethod implements ShutdownMethod {
  readonly kind = 'command';
  readonly #opts: CommandOptions;
  readonly #timeoutMs: number;
  readonly #log: Logger;

  constructor(opts: CommandOptions) {
    if (opts.argv.length === 0 || !opts.argv[0]) throw new BlackstartError('CONFIG', 'command: the argv list is empty');
    this.#opts = opts;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#log = opts.log ?? silentLogger();
  }

  describe(): string {
    return `command ${showArgv(this.#opts.argv)}`;
  }

  async run(opts: ShutdownRunOptions = {}): Promise<ShutdownOutcome> {
    const argv = this.#opts.argv;
    if (opts.dryRun) {
      const env = Object.keys(this.#opts.env ?? {});
      const lines = [`would run: ${showArgv(argv)}`, `timeout: ${this.#timeoutMs} ms, success: exit ${(this.#opts.okExitCodes ?? [0]).join(' or ')}`];
      if (env.length || this.#opts.passEnv?.length) lines.push(`environment adds: ${[...env, ...(this.#opts.passEnv ?? [])].join(', ')}`);
      return { method: this.kind, dryRun: true, steps: [{ name: 'exec', tookMs: 0 }], tookMs: 0, output: lines.join('\n') };
    }
    const started = performance.now();
    const result = await this.#exec(opts.signal);
    const tookMs = Math.round(performance.now() - started);
    const output = joinOutput(result.stdout, result.stderr);
    const ok = result.code !== null && (this.#opts.okExitCodes ?? [0]).includes(result.code);
    this.#log.debug({ command: argv[0], code: result.code, signal: result.signal, tookMs }, 'shutdown command finished');
    if (!ok) {
      const how = result.code !== null ? `exited with code ${result.code}` : `was killed by ${result.signal}`;
      const said = result.stderr.text.trim() || result.stdout.text.trim();
      throw new BlackstartError('REFUSED', `command ${showArgv(argv)} ${how}${said ? `: ${lastLines(said)}` : ''}`);
    }
    return { method: this.kind, dryRun: false, steps: [{ name: 'exec', status: result.code as number, tookMs }], tookMs, ...(output ? { output } : {}) };
  }

  #exec(signal: AbortSignal | undefined): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: Captured; stderr: Captured }> {
    const argv = this.#opts.argv;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new BlackstartError('CANCELLED', `command ${showArgv(argv)}: cancelled before it started`));
        return;
      }
      // Its own process group, so a timeout also ends what a `sh -c` started.
      const child = spawn(argv[0] as string, argv.slice(1), {
        env: this.#env(),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
        ...(this.#opts.cwd !== undefined ? { cwd: this.#opts.cwd } : {}),
      });
      const stdout = new Captured();
      const stderr = new Captured();
      child.stdout.on('data', (b: Buffer) => stdout.add(b));
      child.stderr.on('data', (b: Buffer) => stderr.add(b));
      let stopped: BlackstartError | undefined;
      let killTimer: NodeJS.Timeout | undefined;
      const stop = (why: BlackstartError): void => {
        if (stopped) return;
        stopped = why;
        killGroup(child.pid, 'SIGTERM');
        killTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
        killTimer.unref();
      };
      const timer = setTimeout(
        () => stop(new BlackstartError('TIMEOUT', `command ${showArgv(argv)} did not finish within ${this.#timeoutMs} ms; stopped`)),
        this.#timeoutMs,
      );
      const onAbort = (): void => stop(new BlackstartError('CANCELLED', `command ${showArgv(argv)}: cancelled; stopped`));
      signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = (): void => {
        clearTimeout(timer);
        if (killTimer) clearTimeout(killTimer);
        signal?.removeEventListener('abort', onAbort);
      };
      child.once('error', (err: NodeJS.ErrnoException) => {
        cleanup();
        const code = err.code === 'ENOENT' || err.code === 'EACCES' ? 'CONFIG' : 'INTERNAL';
        reject(new BlackstartError(code, `command ${showArgv(argv)} cannot be started (${err.code ?? err.message})`, { cause: err }));
      });
      child.once('close', (code, sig) => {
        cleanup();
        // The group may outlive the leader (a backgrounded child); it must not keep running unseen.
        if (stopped) killGroup(child.pid, 'SIGKILL');
        if (stopped) reject(stopped);
        else resolve({ code, signal: sig, stdout, stderr });
      });
    });
  }

  #env(): NodeJS.ProcessEnv {
    const parent = this.#opts.parentEnv ?? process.env;
    const env: NodeJS.ProcessEnv = {};
    for (const name of [...BASE_ENV, ...(this.#opts.passEnv ?? [])]) if (parent[name] !== undefined) env[name] = parent[name];
    return { ...env, ...this.#opts.env };
  }
}

/** Keeps the first OUTPUT_LIMIT bytes of a stream and counts the rest. */
class Captured {
  #chunks: Buffer[] = [];
  #kept = 0;
  dropped = 0;

  add(chunk: Buffer): void {
    const room = OUTPUT_LIMIT - this.#kept;
    if (room > 0) {
      const part = chunk.subarray(0, room);
      this.#chunks.push(part);
      this.#kept += part.length;
    }
    this.dropped += Math.max(0, chunk.length - Math.max(room, 0));
  }

  get text(): string {
    const body = Buffer.concat(this.#chunks).toString('utf8');
    return this.dropped ? `${body}\n… (${this.dropped} more bytes not kept)` : body;
  }
}

function joinOutput(stdout: Captured, stderr: Captured): string {
  const out = stdout.text.trimEnd();
  const err = stderr.text.trimEnd();
  return [out, err ? `stderr: ${err}` : ''].filter(Boolean).join('\n');
}

function lastLines(text: string): string {
  const lines = text.split('\n');
  const tail = lines.slice(-5).join(' | ');
  return tail.length > 500 ? `…${tail.slice(-500)}` : tail;
}

/** Shows an argv as a user could paste it into a shell. */
export function showArgv(argv: readonly string[]): string {
  return argv.map(shownWord).join(' ');
}
