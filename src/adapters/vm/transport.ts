/**
 * How a driver reaches its hypervisor's tools: one-shot commands (xl, PowerShell) and a long-lived
 * interactive channel (virsh). A driver gets a transport injected and only ever writes command
 * text: the codecs never own a socket or a process, and tests can swap the transport.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { BlackstartError } from '../../core/errors';

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
      let stdout = '';
      let stderr = '';
      const out = new StringDecoder('utf8');
      const err = new StringDecoder('utf8');
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(child.pid);
      }, timeoutMs);
      child.stdout.on('data', (d: Buffer) => (stdout = appendCapped(stdout, out.write(d))));
      child.stderr.on('data', (d: Buffer) => (stderr = appendCapped(stderr, err.write(d))));
      child.on('error', (e) => {
        clearTimeout(timer);
        this.#children.delete(child);
        reject(new BlackstartError('UNREACHABLE', `local /bin/sh cannot start: ${e.message}`, { cause: e }));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        this.#children.delete(child);
        if (timedOut) return reject(new BlackstartError('TIMEOUT', `local command not done within ${timeoutMs} ms: ${shown(command)}`));
        resolve({ stdout: stdout + out.end(), stderr: stderr + err.end(), code, ...(signal ? { signal } : {}) });
      });
    });
  }

  async openChannel(command: string): Promise<InteractiveChannel> {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.#children.add(child);
    const decoder = new StringDecoder('utf8');
    const dataFns: ((t: string) => void)[] = [];
    const exitFns: ((why: string) => void)[] = [];
    let exited: string | undefined;
    const exit = (why: string): void => {
      if (exited !== undefined) return;
      exited = why;
      this.#children.delete(child);
      for (const fn of exitFns) fn(why);
    };
    const data = (d: Buffer): void => {
      const text = decoder.write(d);
      if (text) for (const fn of dataFns) fn(text);
    };
    child.stdout.on('data', data);
    // The command merges its stderr itself; anything here is the shell's own complaint.
    child.stderr.on('data', data);
    // A write after the child died must not crash the process: the exit handler reports it.
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => exit(`cannot start /bin/sh: ${e.message}`));
    child.on('close', (code, signal) => exit(signal ? `killed by ${signal}` : `exited with status ${code}`));
    return {
      write: (text) => {
        if (exited === undefined) child.stdin.write(text);
      },
      onData: (fn) => dataFns.push(fn),
      onExit: (fn) => {
        if (exited !== undefined) fn(exited);
        else exitFns.push(fn);
      },
      // Once the group is gone its id may be handed to an unrelated process group.
      kill: () => {
        if (exited === undefined) killGroup(child.pid);
      },
    };
  }

  async close(): Promise<void> {
    for (const child of this.#children) killGroup(child.pid);
    this.#children.clear();
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
