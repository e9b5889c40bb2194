/**
 * Home Assistant discovery as the config asks for it: the devices it is told about (names, a model
 * line saying how Blackstart reaches each, what each host can do) and the publisher on the bridge's
 * connection. Nothing here can carry a secret: only ids, names and which blocks are configured.
 */
import type { Config, HostConfig, UpsConfig } from '../config/schema';
import type { Hub } from '../core/hub';
import type { Logger } from '../core/logger';
import type { MqttBridge } from './bridge';
import { discoveryMessages, type DiscoveryHost, type DiscoveryUps } from './discovery';
import { DiscoveryPublisher } from './discovery-publisher';
import { createDiscoveryTopics } from './topics';

/** The publisher for `homeassistant:`, not yet started; undefined when the section is absent. */
export function createDiscovery(config: Config, hub: Hub, bridge: MqttBridge, opts: { log: Logger; swVersion: string }): DiscoveryPublisher | undefined {
  const ha = config.homeassistant;
  if (!ha) return undefined;
  const topics = createDiscoveryTopics(ha.prefix, bridge.topics.base);
  const messages = ha.discovery ? discoveryMessages({ topics: bridge.topics, discovery: topics, swVersion: opts.swVersion }, discoveryDevices(config, hub)) : [];
  return new DiscoveryPublisher({ connection: bridge.connection, topics, messages, log: opts.log });
}

export function discoveryDevices(config: Config, hub: Hub): { ups: DiscoveryUps[]; hosts: DiscoveryHost[] } {
  const excluded = new Set(config.homeassistant?.exclude ?? []);
  const ups = hub
    .devices('ups')
    .filter((d) => !excluded.has(d.id) && config.ups[d.id])
    .map((d) => ({ id: d.id, name: d.name, model: upsModel(config.ups[d.id] as UpsConfig) }));
  const hosts = hub
    .devices('host')
    .filter((d) => !excluded.has(d.id) && config.hosts[d.id])
    .map((d) => {
      const h = config.hosts[d.id] as HostConfig;
      const guests = Object.entries(h.vms?.guests ?? {}).map(([id, g]) => ({ id, name: g.name ?? id, stop: g.stop }));
      return { id: d.id, name: d.name, model: hostModel(h), capabilities: hub.capabilities('host', d.id), probed: Boolean(h.simulated || h.probe), guests };
    });
  return { ups, hosts };
}

function upsModel(u: UpsConfig): string {
  if (u.nut) return 'UPS via NUT';
  if (u.apcupsd) return 'UPS via apcupsd';
  if (u.apcSmart) return 'APC Smart-UPS (serial)';
  return 'Simulated UPS';
}

function hostModel(h: HostConfig): string {
  if (h.simulated) return 'Simulated server';
  const means = [h.ipmi && 'IPMI', h.wol && 'Wake-on-LAN', h.shutdown && 'shutdown', h.probe && 'probe'].filter(Boolean);
  return `Server (${means.join(', ')})`;
}
