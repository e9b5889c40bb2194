/**
 * The libvirt driver's persistent virsh session against one `virsh` process per command (what a
 * script calling `virsh list` does), both on libvirt's test driver, so only virsh's own costs
 * differ: process start and connection open, paid once or every time.
 */
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { LibvirtHypervisor } from '../src/adapters/vm/libvirt';
import { LocalTransport } from '../src/adapters/vm/transport';
import { virshMissing } from '../test/helpers/virsh';
import { percentile } from './mqtt-latency';

export interface VirshBench {
  n: number;
  session: { p50: number; max: number };
  perProcess: { p50: number; max: number };
  /** First command of the session, which starts virsh. */
  sessionFirstMs: number;
}

export async function measureVirsh(n: number): Promise<VirshBench | string> {
  const missing = virshMissing();
  if (missing) return missing;
  const hv = new LibvirtHypervisor({ virsh: 'virsh', uri: 'test:///default', timeout: 10_000 }, { transport: new LocalTransport() });
  const ours: number[] = [];
  let first = 0;
  try {
    for (let i = 0; i <= n; i++) {
      const t0 = performance.now();
      await hv.list();
      if (i === 0) first = performance.now() - t0;
      else ours.push(performance.now() - t0);
    }
  } finally {
    await hv.close();
  }
  const theirs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => execFile('virsh', ['-c', 'test:///default', 'list', '--all', '--managed-save'], (err) => (err ? reject(err) : resolve())));
    theirs.push(performance.now() - t0);
  }
  return {
    n,
    session: { p50: percentile(ours, 50), max: Math.max(...ours) },
    perProcess: { p50: percentile(theirs, 50), max: Math.max(...theirs) },
    sessionFirstMs: first,
  };
}
