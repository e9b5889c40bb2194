/**
 * Every MQTT topic string in Blackstart is built or parsed here, and nowhere else.
 */
import { DEVICE_ID, type DeviceKind, type DeviceRef } from '../core/state';

export type ParsedTopic =
  | { type: 'command'; device: DeviceRef }
  /** `<base>/outage/set`: abort, simulate. */
  | { type: 'outage-command' }
  /** `<base>/agent/<id>`: the agent's retained availability. */
  | { type: 'agent-state'; agent: string }
  | { type: 'agent-command'; agent: string }
  | { type: 'agent-result'; agent: string }
  /** What a remote client (Homebridge, Node-RED in remote mode) reads: `<base>/bridge/state`. */
  | { type: 'bridge-state' }
  /** `<base>/ups/<id>`, `<base>/host/<id>`: retained state. */
  | { type: 'state'; device: DeviceRef }
  | { type: 'sensors'; host: string }
  | { type: 'result'; device: DeviceRef }
  /** `<base>/host/<host>/vm/<guest>` (retained state), its `/set` and its `/result`. */
  | { type: 'vm-state'; host: string; vm: string }
  | { type: 'vm-command'; host: string; vm: string }
  | { type: 'vm-result'; host: string; vm: string }
  /** `<base>/outage` (retained state), `<base>/outage/result`, `<base>/event`: what a remote client reads of the outage. */
  | { type: 'outage' }
  | { type: 'outage-result' }
  | { type: 'event' };

export interface Topics {
  readonly base: string;
  /** `online` / `offline`, retained; the bridge's last will. */
  readonly bridgeState: string;
  readonly outage: string;
  readonly outageSet: string;
  readonly outageResult: string;
  readonly event: string;
  ups(id: string): string;
  host(id: string): string;
  hostSensors(id: string): string;
  /** A guest of a host's hypervisor: its retained state, where it takes commands, where results go. */
  vm(host: string, guest: string): string;
  vmSet(host: string, guest: string): string;
  vmResult(host: string, guest: string): string;
  /** Where a device takes commands. */
  set(device: DeviceRef): string;
  /** Where a device's command results go (also when the requester gave a response topic). */
  result(device: DeviceRef): string;
  /** `online` / `offline`, retained; a `blackstart agent`'s last will. */
  agentState(id: string): string;
  /** Where an agent takes commands; it subscribes to its own and no other. */
  agentSet(id: string): string;
  agentResult(id: string): string;
  /** What the hub side subscribes to for every agent's availability and results. */
  readonly agentFilters: readonly string[];
  /** Filters the bridge subscribes to for commands. */
  readonly commandFilters: readonly string[];
  /** What a remote client subscribes to: bridge availability, every UPS, host and guest state, sensors, host and guest results, the outage and its results, events. */
  readonly remoteFilters: readonly string[];
  parse(topic: string): ParsedTopic | null;
}

const BASE = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;

export function createTopics(base = 'blackstart'): Topics {
  if (!BASE.test(base)) throw new Error(`invalid MQTT base topic "${base}"`);
  const dev = (kind: DeviceKind, id: string, ...rest: string[]): string => {
    if (!DEVICE_ID.test(id)) throw new Error(`invalid ${kind} id "${id}" for an MQTT topic`);
    return [base, kind, id, ...rest].join('/');
  };
  const vm = (host: string, guest: string, ...rest: string[]): string => {
    if (!DEVICE_ID.test(guest)) throw new Error(`invalid guest id "${guest}" for an MQTT topic`);
    return dev('host', host, 'vm', guest, ...rest);
  };
  const agent = (id: string, ...rest: string[]): string => {
    if (!DEVICE_ID.test(id)) throw new Error(`invalid agent id "${id}" for an MQTT topic`);
    return [base, 'agent', id, ...rest].join('/');
  };
  const prefix = `${base}/`;
  return {
    base,
    bridgeState: `${base}/bridge/state`,
    outage: `${base}/outage`,
    outageSet: `${base}/outage/set`,
    outageResult: `${base}/outage/result`,
    event: `${base}/event`,
    ups: (id) => dev('ups', id),
    host: (id) => dev('host', id),
    hostSensors: (id) => dev('host', id, 'sensors'),
    vm: (host, guest) => vm(host, guest),
    vmSet: (host, guest) => vm(host, guest, 'set'),
    vmResult: (host, guest) => vm(host, guest, 'result'),
    set: (device) => dev(device.kind, device.id, 'set'),
    result: (device) => dev(device.kind, device.id, 'result'),
    agentState: (id) => agent(id),
    agentSet: (id) => agent(id, 'set'),
    agentResult: (id) => agent(id, 'result'),
    agentFilters: [`${base}/agent/+`, `${base}/agent/+/result`],
    commandFilters: [`${base}/host/+/set`, `${base}/ups/+/set`, `${base}/host/+/vm/+/set`, `${base}/outage/set`],
    remoteFilters: [
      `${base}/bridge/state`,
      `${base}/ups/+`,
      `${base}/host/+`,
      `${base}/host/+/sensors`,
      `${base}/host/+/result`,
      `${base}/host/+/vm/+`,
      `${base}/host/+/vm/+/result`,
      `${base}/outage`,
      `${base}/outage/result`,
      `${base}/event`,
    ],
    parse(topic) {
      if (!topic.startsWith(prefix)) return null;
      const parts = topic.slice(prefix.length).split('/');
      const [kind, id, leaf] = parts;
      if (parts.length === 2 && kind === 'outage' && id === 'set') return { type: 'outage-command' };
      if (parts.length === 1 && kind === 'outage') return { type: 'outage' };
      if (parts.length === 2 && kind === 'outage' && id === 'result') return { type: 'outage-result' };
      if (parts.length === 1 && kind === 'event') return { type: 'event' };
      if (parts.length === 3 && (kind === 'host' || kind === 'ups') && leaf === 'set' && id !== undefined) {
        return { type: 'command', device: { kind, id } };
      }
      if (parts.length === 2 && kind === 'bridge' && id === 'state') return { type: 'bridge-state' };
      if ((kind === 'host' || kind === 'ups') && id !== undefined && DEVICE_ID.test(id)) {
        if (parts.length === 2) return { type: 'state', device: { kind, id } };
        if (parts.length === 3 && kind === 'host' && leaf === 'sensors') return { type: 'sensors', host: id };
        if (parts.length === 3 && leaf === 'result') return { type: 'result', device: { kind, id } };
      }
      const guest = parts[3];
      if (kind === 'host' && id !== undefined && leaf === 'vm' && guest !== undefined && DEVICE_ID.test(id) && DEVICE_ID.test(guest)) {
        if (parts.length === 4) return { type: 'vm-state', host: id, vm: guest };
        if (parts.length === 5 && parts[4] === 'set') return { type: 'vm-command', host: id, vm: guest };
        if (parts.length === 5 && parts[4] === 'result') return { type: 'vm-result', host: id, vm: guest };
      }
      if (kind === 'agent' && id !== undefined && DEVICE_ID.test(id)) {
        if (parts.length === 2) return { type: 'agent-state', agent: id };
        if (parts.length === 3 && leaf === 'set') return { type: 'agent-command', agent: id };
        if (parts.length === 3 && leaf === 'result') return { type: 'agent-result', agent: id };
      }
      return null;
    },
  };
}

/** A topic a requester may name as its MQTT 5 response topic: no wildcards, not empty. */
export function isPublishableTopic(topic: string): boolean {
  return topic.length > 0 && topic.length < 65536 && !/[+#]/.test(topic) && !topic.includes('\u0000');
}

/** Home Assistant's discovery topics for the configs one Blackstart publishes under a discovery prefix. */
export interface DiscoveryTopics {
  readonly prefix: string;
  /** `<prefix>/status`: Home Assistant's birth (`online`) and will (`offline`). */
  readonly status: string;
  /** The `node_id` segment that keeps this Blackstart's configs apart: its base topic, `/` made `_`. */
  readonly nodeId: string;
  /** `<prefix>/<component>/<node_id>/<object_id>/config`. */
  config(component: string, objectId: string): string;
  /** Matches every config of this node, so ones an earlier run left behind can be found. */
  readonly configFilter: string;
  /** Whether a topic is one of this node's configs (matched by configFilter). */
  isConfig(topic: string): boolean;
}

const DISCOVERY_SEGMENT = /^[A-Za-z0-9_-]+$/;

export function createDiscoveryTopics(prefix: string, base: string): DiscoveryTopics {
  if (!BASE.test(prefix)) throw new Error(`invalid Home Assistant discovery prefix "${prefix}"`);
  if (!BASE.test(base)) throw new Error(`invalid MQTT base topic "${base}"`);
  const nodeId = base.replaceAll('/', '_');
  const head = `${prefix}/`;
  const tail = `/${nodeId}/`;
  return {
    prefix,
    status: `${prefix}/status`,
    nodeId,
    config(component, objectId) {
      for (const s of [component, objectId]) {
        if (!DISCOVERY_SEGMENT.test(s)) throw new Error(`invalid Home Assistant discovery topic segment "${s}"`);
      }
      return `${prefix}/${component}/${nodeId}/${objectId}/config`;
    },
    configFilter: `${prefix}/+/${nodeId}/+/config`,
    isConfig(topic) {
      if (!topic.startsWith(head) || !topic.endsWith('/config')) return false;
      const parts = topic.slice(head.length, -'/config'.length).split('/');
      return parts.length === 3 && `/${parts[1]}/` === tail && parts.every((p) => DISCOVERY_SEGMENT.test(p));
    },
  };
}
