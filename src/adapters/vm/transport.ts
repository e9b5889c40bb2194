/**
 * How a driver reaches its hypervisor's tools: one-shot commands (xl, PowerShell) and a long-lived
 * interactive channel (virsh). A driver gets a transport injected and only ever writes command
 * text: the codecs never own a socket or a process, and tests can swap the transport.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { BlackstartError } from '../../core/errors';
import { killGroup } from '../process-group';

export interface RunResult {
  stdout: string;
  stderr: string;
  /** The exit status; null when the command died of a signal. */
  code: number | null;
  signal?: string;
}

/** A child process or remote exec whose stdin we write and whose merged stdout/stderr we read. */
export interface InteractiveChannel {
  write(text: string): void;
  onData(fn: (text: string) => void): void;
  /** Called once, when the process or channel is gone; `why` is for messages. */
  onExit(fn: (why: string) => void): void;
  kill(): void;
}

export interface Transport {
  /** `local` or `ssh user@host:port`: for messages, never with a secret. */
  describe(): string;
  /** Runs `command` through a POSIX shell (or, over ssh, the remote login shell) and collects its output. */
  run(command: string, timeoutMs: number): Promise<RunResult>;
  /** Starts `command` with stdin open, for a conversation. */
  openChannel(command: string): Promise<InteractiveChannel>;
  close(): Promise<void>;
}

/** Output beyond this is cut: a hypervisor's listing is small, and a runaway command must not eat memory. */
export const MAX_OUTPUT = 1 << 20;

/** A command as messages show it: an encoded PowerShell line is long and says nothing to a reader. */
export function shown(command: string): string {
  return command.length > 160 ? `${command.slice(0, 160)}…` : command;
}

export function appendCapped(text: string, more: string): string {
  return text.length >= MAX_OUTPUT ? text : (text + more).slice(0, MAX_OUTPUT);
}

/** A child's pipe or an ssh channel's stream: all the helpers below read. */
interface DataSource {
  on(event: 'data', fn: (d: Buffer) => void): unknown;
}

export interface OutputCollector {
  readonly timedOut: boolean;
  /** Stops the timeout: the command is gone. */
  done(): void;
  result(code: number | null, signal?: string | null): RunResult;
}

/**
 * A one-shot command's stdout and stderr, decoded (a multibyte character may straddle two chunks)
 * and capped, and its timeout, which calls `stop` and marks the run as timed out.
 */
export function collectOutput(stdout: DataSource, stderr: DataSource, timeoutMs: number, stop: () => void): OutputCollector {
  let outText = '';
  let errText = '';
  const out = new StringDecoder('utf8');
  const err = new StringDecoder('utf8');
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stop();
  }, timeoutMs);
  stdout.on('data', (d: Buffer) => (outText = appendCapped(outText, out.write(d))));
  stderr.on('data', (d: Buffer) => (errText = appendCapped(errText, err.write(d))));
  return {
    get timedOut() {
      return timedOut;
    },
    done: () => clearTimeout(timer),
    result: (code, signal) => ({ stdout: outText + out.end(), stderr: errText + err.end(), code, ...(signal ? { signal } : {}) }),
  };
}

/**
 * An interactive channel's listener plumbing: merged output to every onData listener, the exit
 * reported once (at once to a listener that comes after it), and no write or kill once it has
 * exited: a dead local group's id may be handed to an unrelated process group.
 */
export function channelEvents(outputs: readonly DataSource[], io: { write(text: string): void; kill(): void }): { channel: InteractiveChannel; exit(why: string): void } {
  const decoder = new StringDecoder('utf8');
  const dataFns: ((t: string) => void)[] = [];
  const exitFns: ((why: string) => void)[] = [];
  let exited: string | undefined;
  const data = (d: Buffer): void => {
    const text = decoder.write(d);
    if (text) for (const fn of dataFns) fn(text);
  };
  for (const source of outputs) source.on('data', data);
  return {
    exit: (why) => {
      if (exited !== undefined) return;
      exited = why;
      for (const fn of exitFns) fn(why);
    },
    channel: {
      write: (text) => {
        if (exited === undefined) io.write(text);
      },
      onData: (fn) => dataFns.push(fn),
      onExit: (fn) => {
        if (exited !== undefined) fn(exited);
        else exitFns.push(fn);
      },
      kill: () => {
        if (exited === undefined) io.kill();
      },
    },
  };
}

/** How a finished command ended, for messages: `exited with status 3` or `was killed by SIGKILL`. */
export function describeExit(result: { code: number | null; signal?: string }): string {
  return result.code !== null ? `exited with status ${result.code}` : `was killed by ${result.signal ?? 'a signal'}`;
}

/**
 * A failed one-shot command as `where: what guest "g" exited with status 1: what it said`, with
 * what it said (`stderr` as the codec reads it, else stdout) on one line and capped; `said` is
 * returned too, for the codec to pick an error code from.
 */
export function describeFailure(
  where: string,
  what: string,
  guest: string | undefined,
  result: { code: number | null; signal?: string; stdout: string },
  stderr: string,
): { said: string; text: string } {
  const said = (stderr || result.stdout.trim()).replace(/\s*\n\s*/g, ' | ').slice(0, 500);
  const subject = guest !== undefined ? ` guest "${guest}"` : '';
  return { said, text: `${where}: ${what}${subject} ${describeExit(result)}${said ? `: ${said}` : ''}` };
}

/**
 * Commands run through `/bin/sh -c` rather than execFile: the drivers write shell text (Xen's start
 * is an if/else one-liner, virsh's session merges stderr with `2>&1`), and over ssh the same text
 * goes through the remote login shell, so both transports take identical command strings. The
 * child leads its own process group, so a timeout kills what the shell started too (xl, virsh).
 */
export class LocalTransport implements Transport {
  readonly #children = new Set<ChildProcess>();

  describe(): string {
    return 'local';
  }

  run(command: string, timeoutMs: number): Promise<RunResult> {
    return new Promise<RunResult>((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      this.#children.add(child);
      const output = collectOutput(child.stdout, child.stderr, timeoutMs, () => killGroup(child.pid));
      child.on('error', (e) => {
        output.done();
        this.#children.delete(child);
        reject(new BlackstartError('UNREACHABLE', `local /bin/sh cannot start: ${e.message}`, { cause: e }));
      });
      child.on('close', (code, signal) => {
        output.done();
        this.#children.delete(child);
        if (output.timedOut) return reject(new BlackstartError('TIMEOUT', `local command not done within ${timeoutMs} ms: ${shown(command)}`));
        resolve(output.result(code, signal));
      });
    });
  }

  async openChannel(command: string): Promise<InteractiveChannel> {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.#children.add(child);
    // The command merges its stderr itself; anything on stderr is the shell's own complaint.
    const { channel, exit } = channelEvents([child.stdout, child.stderr], {
      write: (text) => child.stdin.write(text),
      kill: () => killGroup(child.pid),
    });
    channel.onExit(() => this.#children.delete(child));
    // A write after the child died must not crash the process: the exit handler reports it.
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => exit(`cannot start /bin/sh: ${e.message}`));
    child.on('close', (code, signal) => exit(signal ? `killed by ${signal}` : `exited with status ${code}`));
    return channel;
  }

  async close(): Promise<void> {
    for (const child of this.#children) killGroup(child.pid);
    this.#children.clear();
  }
}
