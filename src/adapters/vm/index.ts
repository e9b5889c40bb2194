/** A host's `vms:` section as the hub's guests and the adapter that serves them. */
import { BlackstartError } from '../../core/errors';
import type { Hub } from '../../core/hub';
import type { Logger } from '../../core/logger';
import type { VmsConfig } from './config';
import { createHypervisor } from './drivers';
import type { Hypervisor } from './hypervisor';
import { SimulatedHypervisor } from './simulated';
import { VmHost } from './vm-host';

export { vmsSchema, type VmsConfig } from './config';
export { VmHost } from './vm-host';

/** Registers the host's guests in the hub and attaches their hypervisor (not yet started). */
export function attachVms(hub: Hub, hostId: string, cfg: VmsConfig, deps: { log?: Logger } = {}): void {
  for (const [id, g] of Object.entries(cfg.guests)) hub.addVm(hostId, id, g.name ?? id);
  hub.attachVm(new VmHost(hostId, cfg, hypervisorFor(hub, hostId, cfg, deps)));
}

function hypervisorFor(hub: Hub, hostId: string, cfg: VmsConfig, deps: { log?: Logger }): Hypervisor {
  if (cfg.simulated) {
    return new SimulatedHypervisor(hostId, cfg, {
      clock: hub.clock,
      hostUp: () => {
        const h = hub.host(hostId);
        return h !== undefined && h.power !== 'off' && (h.phase === 'running' || h.phase === 'shutting_down');
      },
    });
  }
  const hv = createHypervisor(cfg, { ...(deps.log ? { log: deps.log.child({ host: hostId }) } : {}) });
  if (!hv) throw new BlackstartError('CONFIG', `host ${hostId}: vms has no hypervisor to drive`);
  return hv;
}
