/** The `blackstart` CLI as a child process, with its output collected, as a user would run it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { cliPath } from './repo';

export interface CliRun {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  code: Promise<number | null>;
}

export function cli(args: string[], env: NodeJS.ProcessEnv = {}): CliRun {
  const proc = spawn(process.execPath, [cliPath(), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return { proc, stdout: () => out, stderr: () => err, code: new Promise((r) => proc.once('exit', (c) => r(c))) };
}

/** Waits until `pred` holds; the error names what was awaited and, given a run, what it printed. */
export async function until(pred: () => boolean, timeoutMs: number, what: string, run?: CliRun): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${run ? `\nstdout: ${run.stdout()}\nstderr: ${run.stderr()}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Stops a run that may still be going (a daemon, an agent) and waits for it to exit. */
export async function stopRun(run: CliRun | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!run || run.proc.exitCode !== null || run.proc.signalCode !== null) return;
  run.proc.kill(signal);
  await run.code;
}
