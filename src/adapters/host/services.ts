/**
 * Service checks after a restore (a TCP port, an HTTP page) and a host's remediation, built from
 * config for the orchestrator. A remediation is a command run on this machine or over SSH, with
 * the same code, host-key checks and secret handling as the shutdown methods.
 */
import type { Logger } from '../../core/logger';
import type { HostServices } from '../../orchestrator/restore-run';
import type { ServiceCheck } from '../../orchestrator/policy';
import type { HostConfig } from '../../config/schema';
import { createCommandShutdown } from '../power/command-config';
import type { ShutdownMethod } from '../power/method';
import { createSshShutdown } from '../power/ssh-config';
import { DEFAULT_EXPECT, probeHttp } from '../reach/http';
import { probeTcp } from '../reach/tcp';

const CHECK_TIMEOUT_MS = 3000;

function serviceName(c: ServiceCheck): string {
  return c.name ?? (c.tcp !== undefined ? `tcp/${c.tcp}` : (c.http as string));
}

/** The first failing check's reason, or null when every check passes. */
export async function runServiceChecks(checks: readonly ServiceCheck[], hostAddress: string | undefined): Promise<string | null> {
  const failures: string[] = [];
  for (const c of checks) {
    if (c.tcp !== undefined) {
      const address = c.address ?? hostAddress;
      if (!address) {
        failures.push(`${serviceName(c)}: no address to check (set address on the host or the check)`);
        continue;
      }
      const r = await probeTcp(address, [c.tcp], CHECK_TIMEOUT_MS);
      if (!r.ok) failures.push(`${serviceName(c)}: ${r.error ?? 'failed'}`);
    } else if (c.http !== undefined) {
      const r = await probeHttp({ url: c.http, method: 'GET', expectStatus: DEFAULT_EXPECT, insecure: c.insecure }, CHECK_TIMEOUT_MS);
      if (!r.ok) failures.push(`${serviceName(c)}: ${r.error ?? 'failed'}`);
    }
  }
  return failures.length ? `service check failed: ${failures.join('; ')}` : null;
}

export function hostServices(hosts: Readonly<Record<string, HostConfig>>, deps: { log?: Logger } = {}): HostServices {
  const remedies = new Map<string, ShutdownMethod>();
  const remedyOf = (id: string): ShutdownMethod | undefined => {
    const r = hosts[id]?.remediate;
    if (!r) return undefined;
    let m = remedies.get(id);
    if (!m) {
      const log = deps.log?.child({ host: id, part: 'remediate' });
      m = r.ssh ? createSshShutdown(r.ssh, log ? { log } : {}) : createCommandShutdown(r.command as NonNullable<typeof r.command>, log ? { log } : {});
      remedies.set(id, m);
    }
    return m;
  };
  return {
    names: (id) => (hosts[id]?.outage.services ?? []).map(serviceName),
    check: (id) => runServiceChecks(hosts[id]?.outage.services ?? [], hosts[id]?.address),
    remediate: async (id) => {
      const m = remedyOf(id);
      if (!m) return null;
      const out = await m.run({ dryRun: false });
      return `remediation ran (${m.describe()}) in ${Math.round(out.tookMs)} ms`;
    },
  };
}
