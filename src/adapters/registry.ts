/**
 * Builds the hub's devices and adapters from config. Lives beside the adapters (not in the core)
 * so the core never depends on a device protocol.
 */
import type { Adapter } from '../core/adapter';
import type { Clock } from '../core/clock';
import { Hub } from '../core/hub';
import type { Logger } from '../core/logger';
import type { Config, HostConfig, UpsConfig } from '../config/schema';
import { SimulatedHost } from './host/simulated';
import { SimulatedUps } from './ups/simulated';

export function upsAdapters(id: string, cfg: UpsConfig): Adapter[] {
  const out: Adapter[] = [];
  if (cfg.simulated) out.push(new SimulatedUps(id, cfg.simulated));
  return out;
}

export function hostAdapters(id: string, cfg: HostConfig): Adapter[] {
  const out: Adapter[] = [];
  if (cfg.simulated) out.push(new SimulatedHost(id, cfg.simulated));
  return out;
}

/** A hub holding every UPS and host of the config, with their adapters attached (not yet started). */
export function buildHub(config: Config, deps: { clock?: Clock; log?: Logger } = {}): Hub {
  const hub = new Hub(deps);
  for (const [id, cfg] of Object.entries(config.ups)) {
    hub.addUps(id, cfg.name ?? id);
    upsAdapters(id, cfg).forEach((a) => hub.attach(a));
  }
  for (const [id, cfg] of Object.entries(config.hosts)) {
    hub.addHost(id, cfg.name ?? id);
    hostAdapters(id, cfg).forEach((a) => hub.attach(a));
  }
  return hub;
}
