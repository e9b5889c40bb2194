/**
 * Every MQTT topic string in Blackstart is built or parsed here, and nowhere else.
 */
import { DEVICE_ID, type DeviceKind, type DeviceRef } from '../core/state';

export type ParsedTopic = { type: 'command'; device: DeviceRef };

export interface Topics {
  readonly base: string;
  /** `online` / `offline`, retained; the bridge's last will. */
  readonly bridgeState: string;
  readonly outage: string;
  readonly event: string;
  ups(id: string): string;
  host(id: string): string;
  hostSensors(id: string): string;
  /** Where a device takes commands. */
  set(device: DeviceRef): string;
  /** Where a device's command results go (also when the requester gave a response topic). */
  result(device: DeviceRef): string;
  /** Filters the bridge subscribes to for commands. */
  readonly commandFilters: readonly string[];
  parse(topic: string): ParsedTopic | null;
}

const BASE = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;

export function createTopics(base = 'blackstart'): Topics {
  if (!BASE.test(base)) throw new Error(`invalid MQTT base topic "${base}"`);
  const dev = (kind: DeviceKind, id: string, ...rest: string[]): string => {
    if (!DEVICE_ID.test(id)) throw new Error(`invalid ${kind} id "${id}" for an MQTT topic`);
    return [base, kind, id, ...rest].join('/');
  };
  const prefix = `${base}/`;
  return {
    base,
    bridgeState: `${base}/bridge/state`,
    outage: `${base}/outage`,
    event: `${base}/event`,
    ups: (id) => dev('ups', id),
    host: (id) => dev('host', id),
    hostSensors: (id) => dev('host', id, 'sensors'),
    set: (device) => dev(device.kind, device.id, 'set'),
    result: (device) => dev(device.kind, device.id, 'result'),
    commandFilters: [`${base}/host/+/set`, `${base}/ups/+/set`],
    parse(topic) {
      if (!topic.startsWith(prefix)) return null;
      const parts = topic.slice(prefix.length).split('/');
      const [kind, id, leaf] = parts;
      if (parts.length === 3 && (kind === 'host' || kind === 'ups') && leaf === 'set' && id !== undefined) {
        return { type: 'command', device: { kind, id } };
      }
      return null;
    },
  };
}

/** A topic a requester may name as its MQTT 5 response topic: no wildcards, not empty. */
export function isPublishableTopic(topic: string): boolean {
  return topic.length > 0 && topic.length < 65536 && !/[+#]/.test(topic) && !topic.includes('\u0000');
}
