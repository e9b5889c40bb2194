/**
 * The driver for a host's `vms:` section. The simulated hypervisor is built elsewhere (it needs
 * the guests' timings, not a transport), so it yields undefined here.
 */
import type { Logger } from '../../core/logger';
import type { TcpConnector } from '../tcp';
import { sshLoginOf } from '../power/ssh-login';
import type { SshShutdownConfig } from '../power/ssh-config';
import type { VmsConfig } from './config';
import { HypervHypervisor } from './hyperv';
import type { Hypervisor } from './hypervisor';
import { LibvirtHypervisor } from './libvirt';
import { SshTransport } from './ssh-transport';
import { LocalTransport, type Transport } from './transport';
import { XenHypervisor } from './xen';

export interface DriverDeps {
  log?: Logger;
  connector?: TcpConnector;
}

export function transportFor(ssh: SshShutdownConfig | undefined, deps: DriverDeps): Transport {
  if (!ssh) return new LocalTransport();
  return new SshTransport({
    login: sshLoginOf(ssh),
    loginTimeoutMs: ssh.timeout,
    ...(deps.connector ? { connector: deps.connector } : {}),
    ...(deps.log ? { log: deps.log } : {}),
  });
}

export function createHypervisor(cfg: VmsConfig, deps: DriverDeps = {}): Hypervisor | undefined {
  const log = deps.log ? { log: deps.log } : {};
  if (cfg.libvirt) return new LibvirtHypervisor(cfg.libvirt, { transport: transportFor(cfg.libvirt.ssh, deps), ...log });
  if (cfg.xen) return new XenHypervisor(cfg.xen, { transport: transportFor(cfg.xen.ssh, deps), ...log });
  if (cfg.hyperv) return new HypervHypervisor(cfg.hyperv, { transport: transportFor(cfg.hyperv.ssh, deps), ...log });
  return undefined;
}
