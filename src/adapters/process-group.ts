/**
 * Signals a whole process group: a child started with `detached: true` leads its own group, so a
 * shell's children (xl, virsh, a backgrounded helper) go with it instead of outliving a timeout.
 */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
