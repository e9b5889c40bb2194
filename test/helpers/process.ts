import type { ChildProcess } from 'node:child_process';

/** SIGKILLs a child (if it still runs) and resolves once it has exited. */
export async function killNow(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    p.once('exit', () => resolve());
    p.kill('SIGKILL');
  });
}
