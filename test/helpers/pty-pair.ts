/**
 * A connected pair of pseudo-terminals made by socat, so a serial UPS (or its emulator) and
 * our client can talk over a real tty without hardware.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface PtyPair {
  /** Symlink to one pty end (give it to the client under test). */
  a: string;
  /** Symlink to the other end (give it to the emulator). */
  b: string;
  /** Kills socat and waits for it to exit. */
  close(): Promise<void>;
}

/** True when socat is on PATH; tests skip (with a message) only when it is not. */
export function haveSocat(): boolean {
  return spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;
}

export async function openPtyPair(dir: string, timeoutMs = 5000): Promise<PtyPair> {
  const a = join(dir, 'ttyA');
  const b = join(dir, 'ttyB');
  const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    // Keep the start of the log for error messages; socat stays quiet once the pair is up.
    if (log.length < 4000) log += d;
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  let exitedEarly = false;
  void exited.then(() => {
    exitedEarly = true;
  });

  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };

  const deadline = Date.now() + timeoutMs;
  // socat creates the links after opening both ptys; "starting data transfer loop" follows.
  while (!(existsSync(a) && existsSync(b) && log.includes('starting data transfer loop'))) {
    if (exitedEarly) throw new Error(`socat exited before the pty pair was ready: ${log.trim()}`);
    if (Date.now() > deadline) {
      await close();
      throw new Error(`socat pty pair not ready after ${timeoutMs} ms: ${log.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return { a, b, close };
}
