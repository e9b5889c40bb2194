/** Whether a real `virsh` can run here, for the tests and benchmarks that drive libvirt's test driver. */
import { execFileSync } from 'node:child_process';

/** Why real-virsh tests cannot run here, or undefined when they can. */
export function virshMissing(): string | undefined {
  try {
    execFileSync('virsh', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'virsh is missing (Debian package libvirt-clients; .ci/run installs it)';
  }
}
