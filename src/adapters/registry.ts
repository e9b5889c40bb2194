/**
 * Builds the hub's devices and adapters from config. Lives beside the adapters (not in the core)
 * so the core never depends on a device protocol.
 */
import type { Adapter } from '../core/adapter';
import { AgentLink, type AgentRequester } from '../core/agent-link';
import { BlackstartError } from '../core/errors';
import type { Clock } from '../core/clock';
import { systemClock } from '../core/clock';
import { Hub } from '../core/hub';
import { silentLogger, type Logger } from '../core/logger';
import type { Config, HostConfig, UpsConfig } from '../config/schema';
import { IpmiHost, ipmiClientOptions, nativeBmc } from './host/ipmi';
import { ProbeHost } from './host/probe';
import { ShutdownHost } from './host/shutdown';
import { WolHost } from './host/wol';
import { createCommandShutdown, createHttpShutdown, type ShutdownMethod } from './power';
import { AgentShutdown, relayWake } from './power/agent';
import { formatMac } from './power/wol-codec';
import { IpmiSoftOff } from './power/ipmi-soft-off';
import { createSshShutdown } from './power/ssh-config';
import { Prober } from './reach/prober';
import { SimulatedHost } from './host/simulated';
import { attachVms } from './vm';
import { createApcSmartSource } from './ups/apc-smart';
import { createApcupsdSource } from './ups/apcupsd';
import { createNutSource } from './ups/nut';
import { PolledUps } from './ups/polled';
import { SimulatedUps } from './ups/simulated';
import type { PollingSettings } from './ups/polling-config';
import type { SourceDeps, UpsSource } from './ups/source';

export interface BuiltSource {
  source: UpsSource;
  /** Adapter name suffix: `nut`, `apcupsd`, `apc-smart`. */
  impl: string;
  settings: PollingSettings;
  commands: readonly string[];
}

/** A UPS's protocol client from its config section, with the polling settings it carries. */
export function upsSource(cfg: UpsConfig, deps: SourceDeps): BuiltSource | undefined {
  if (cfg.nut) return { source: createNutSource(cfg.nut, deps), impl: 'nut', settings: cfg.nut, commands: cfg.nut.commands };
  if (cfg.apcupsd) return { source: createApcupsdSource(cfg.apcupsd, deps), impl: 'apcupsd', settings: cfg.apcupsd, commands: [] };
  if (cfg.apcSmart) return { source: createApcSmartSource(cfg.apcSmart, deps), impl: 'apc-smart', settings: cfg.apcSmart, commands: cfg.apcSmart.commands };
  return undefined;
}

export function upsAdapters(id: string, cfg: UpsConfig, deps: SourceDeps): Adapter[] {
  const out: Adapter[] = [];
  if (cfg.simulated) out.push(new SimulatedUps(id, cfg.simulated));
  const polled = upsSource(cfg, deps);
  if (polled) out.push(new PolledUps(id, polled.source, { ...polled.settings, commands: polled.commands, impl: polled.impl }));
  return out;
}

export interface HostDeps {
  /** Reaches `blackstart agent`s over MQTT (shutdown and Wake-on-LAN relay). */
  agents: AgentRequester;
  /** One prober for every host, so probes share timers and one fping per sweep. */
  prober?: Prober;
  clock?: Clock;
  log?: Logger;
}

export function hostAdapters(id: string, cfg: HostConfig, deps: HostDeps = { agents: new AgentLink() }): Adapter[] {
  const out: Adapter[] = [];
  if (cfg.simulated) out.push(new SimulatedHost(id, cfg.simulated));
  if (cfg.probe) out.push(new ProbeHost(id, cfg.probe, { ...(deps.prober ? { prober: deps.prober } : {}), ...(cfg.address ? { address: cfg.address } : {}) }));
  if (cfg.ipmi) out.push(new IpmiHost(id, cfg.ipmi));
  if (cfg.wol) {
    out.push(
      new WolHost(id, cfg.wol, {
        // The SecureOn password stays here: it never goes over MQTT; an agent that relays uses its own.
        relay: async (agentId, target) => {
          await relayWake(deps.agents, agentId, { mac: typeof target.mac === 'string' ? target.mac : formatMac(target.mac) });
        },
      }),
    );
  }
  if (cfg.shutdown) {
    const method = shutdownMethod(id, cfg, deps);
    out.push(new ShutdownHost(id, method, { verifiable: Boolean(cfg.probe || cfg.ipmi), verifyWithinMs: cfg.shutdown.verifyWithin }));
  }
  return out;
}

function shutdownMethod(id: string, cfg: HostConfig, deps: HostDeps): ShutdownMethod {
  const s = cfg.shutdown;
  const log = deps.log?.child({ host: id });
  const logDep = log ? { log } : {};
  if (s?.ssh) return createSshShutdown(s.ssh, logDep);
  if (s?.http) return createHttpShutdown(s.http, logDep);
  if (s?.command) return createCommandShutdown(s.command, logDep);
  if (s?.agent) return new AgentShutdown({ agentId: s.agent.id, requester: deps.agents, timeoutMs: s.agent.timeout });
  const ipmi = cfg.ipmi;
  if (s?.ipmi && ipmi) return new IpmiSoftOff(() => nativeBmc({ ...ipmiClientOptions(ipmi, logDep), keepAliveMs: 0 }));
  throw new BlackstartError('INTERNAL', `host ${id}: shutdown block without a usable method`);
}

/** A hub holding every UPS and host of the config, with their adapters attached (not yet started). */
export function buildHub(config: Config, deps: { clock?: Clock; log?: Logger; agents?: AgentRequester } = {}): Hub {
  const hub = new Hub(deps);
  const sourceDeps: SourceDeps = { clock: deps.clock ?? systemClock, log: deps.log ?? silentLogger() };
  for (const [id, cfg] of Object.entries(config.ups)) {
    hub.addUps(id, cfg.name ?? id);
    upsAdapters(id, cfg, { ...sourceDeps, log: sourceDeps.log.child({ ups: id }) }).forEach((a) => hub.attach(a));
  }
  const agents = deps.agents ?? new AgentLink();
  const prober = new Prober({ clock: sourceDeps.clock });
  for (const [id, cfg] of Object.entries(config.hosts)) {
    hub.addHost(id, cfg.name ?? id);
    hostAdapters(id, cfg, { agents, prober, clock: sourceDeps.clock, log: sourceDeps.log }).forEach((a) => hub.attach(a));
    if (cfg.vms) attachVms(hub, id, cfg.vms, { log: sourceDeps.log });
  }
  return hub;
}
