/**
 * Home Assistant MQTT discovery configs: one retained JSON object per entity, pointing Home
 * Assistant at the contract's own state and command topics (no second set of topics to keep in
 * step). Pure: what to publish is decided here, the publishing is ./discovery-publisher.
 */
import { ON_BATTERY_STATUSES, VM_UP_STATES } from '../core/state';
import type { DiscoveryTopics, Topics } from './topics';

export type DiscoveryComponent = 'sensor' | 'binary_sensor' | 'switch' | 'button';

export interface DiscoveryUps {
  id: string;
  name: string;
  model: string;
}

export interface DiscoveryHost {
  id: string;
  name: string;
  model: string;
  /** Actions its adapters carry out (the hub's capabilities). */
  capabilities: readonly string[];
  /** Something tells whether it answers (a probe, or the simulation); otherwise `reachable` stays null. */
  probed: boolean;
  /** Guests of its hypervisor: a switch each, on the host's device. Absent: none. */
  guests?: readonly DiscoveryGuest[];
}

export interface DiscoveryGuest {
  id: string;
  name: string;
  /** What the switch's OFF sends: the guest's configured stop (`save`, `shutdown`, `off`). */
  stop: string;
}

export interface DiscoveryContext {
  topics: Topics;
  discovery: DiscoveryTopics;
  /** Blackstart's version, for the device and origin blocks. */
  swVersion: string;
}

export interface DiscoveryMessage {
  component: DiscoveryComponent;
  topic: string;
  payload: Record<string, unknown>;
}

/** Buttons for the BMC's hard actions; each exists only where an adapter can carry it out. */
export const HOST_BUTTONS = [
  { action: 'power_cycle', name: 'Power cycle' },
  { action: 'reset', name: 'Reset' },
] as const;

interface UpsSensor {
  key: string;
  name: string;
  /** Key of the `<base>/ups/<id>` payload. */
  field: string;
  unit: string;
  deviceClass?: string;
  icon?: string;
}

export const UPS_SENSORS: readonly UpsSensor[] = [
  { key: 'charge', name: 'Battery charge', field: 'charge_pct', unit: '%', deviceClass: 'battery' },
  { key: 'runtime', name: 'Runtime', field: 'runtime_s', unit: 's', deviceClass: 'duration' },
  // Load is a share of the UPS's rating; Home Assistant's power_factor class would misname it.
  { key: 'load', name: 'Load', field: 'load_pct', unit: '%', icon: 'mdi:gauge' },
  { key: 'input_voltage', name: 'Input voltage', field: 'input_v', unit: 'V', deviceClass: 'voltage' },
];

/** Payloads of a binary sensor whose template renders ON / OFF. */
const ON_OFF_PAYLOADS = { payload_on: 'ON', payload_off: 'OFF' } as const;

const jinjaList = (items: readonly string[]): string => `[${items.map((s) => `'${s}'`).join(', ')}]`;

export function discoveryMessages(ctx: DiscoveryContext, devices: { ups: readonly DiscoveryUps[]; hosts: readonly DiscoveryHost[] }): DiscoveryMessage[] {
  return [...devices.ups.flatMap((u) => upsMessages(ctx, u)), ...devices.hosts.flatMap((h) => hostMessages(ctx, h))];
}

export function upsMessages(ctx: DiscoveryContext, ups: DiscoveryUps): DiscoveryMessage[] {
  const entity = entityFactory(ctx, 'ups', ups);
  const stateTopic = ctx.topics.ups(ups.id);
  // A UPS that Blackstart cannot read is unavailable, not "not on battery" with stale figures.
  const availability = {
    availability: [
      bridgeAvailability(ctx),
      {
        topic: stateTopic,
        value_template: "{{ 'offline' if value_json.status == 'comm_lost' else 'online' }}",
        payload_available: 'online',
        payload_not_available: 'offline',
      },
    ],
    availability_mode: 'all',
  };
  const sensors = UPS_SENSORS.map((s) =>
    entity('sensor', s.key, s.name, {
      state_topic: stateTopic,
      value_template: `{{ value_json.${s.field} }}`,
      unit_of_measurement: s.unit,
      ...(s.deviceClass ? { device_class: s.deviceClass } : {}),
      ...(s.icon ? { icon: s.icon } : {}),
      state_class: 'measurement',
      ...availability,
    }),
  );
  return [
    ...sensors,
    entity('binary_sensor', 'on_battery', 'On battery', {
      state_topic: stateTopic,
      value_template: `{{ 'ON' if value_json.status in ${jinjaList(ON_BATTERY_STATUSES)} else 'OFF' }}`,
      ...ON_OFF_PAYLOADS,
      icon: 'mdi:power-plug-off',
      ...availability,
    }),
    entity('binary_sensor', 'low_battery', 'Low battery', {
      state_topic: stateTopic,
      value_template: "{{ 'ON' if value_json.status == 'low_battery' else 'OFF' }}",
      ...ON_OFF_PAYLOADS,
      // Home Assistant's battery class: on means low.
      device_class: 'battery',
      ...availability,
    }),
  ];
}

export function hostMessages(ctx: DiscoveryContext, host: DiscoveryHost): DiscoveryMessage[] {
  const entity = entityFactory(ctx, 'host', host);
  const stateTopic = ctx.topics.host(host.id);
  const commandTopic = ctx.topics.set({ kind: 'host', id: host.id });
  const availability = { availability: [bridgeAvailability(ctx)] };
  const can = (action: string): boolean => host.capabilities.includes(action);
  const out: DiscoveryMessage[] = [];

  if (host.probed) {
    out.push(
      entity('binary_sensor', 'reachable', 'Reachable', {
        state_topic: stateTopic,
        // JSON true / false / null render as True / False / None; Home Assistant reads None as unknown.
        value_template: '{{ value_json.reachable }}',
        payload_on: 'True',
        payload_off: 'False',
        device_class: 'connectivity',
        ...availability,
      }),
    );
  }

  // Plain ON / OFF are the contract's wake / shutdown; a host without that method is switched
  // through its BMC instead (power on, ACPI soft-off), never by a hard power-off.
  const on = can('wake') ? 'ON' : can('power_on') ? action('power_on') : undefined;
  const off = can('shutdown') ? 'OFF' : can('soft_off') ? action('soft_off') : undefined;
  if (on !== undefined || off !== undefined) {
    out.push(
      entity(
        'switch',
        'power',
        'Power',
        switchEntity(
          {
            command_topic: commandTopic,
            payload_on: on ?? 'ON',
            payload_off: off ?? 'OFF',
            state_topic: stateTopic,
            // Shows the way it is heading: on while booting, off from the moment it starts shutting down.
            value_template: "{{ 'ON' if value_json.phase in ['running', 'waking'] else 'OFF' }}",
          },
          availability,
        ),
      ),
    );
  }

  // A guest's switch: ON starts it, OFF stops it the way an outage would; the state is the
  // hypervisor's reading, unknown while the hypervisor cannot be read.
  for (const g of host.guests ?? []) {
    out.push(
      entity(
        'switch',
        `vm_${g.id}`,
        `VM ${g.name}`,
        switchEntity(
          {
            command_topic: ctx.topics.vmSet(host.id, g.id),
            payload_on: action('start'),
            payload_off: action(g.stop),
            state_topic: ctx.topics.vm(host.id, g.id),
            value_template: `{{ 'ON' if value_json.state in ${jinjaList(VM_UP_STATES)} else ('None' if value_json.state == 'unknown' else 'OFF') }}`,
          },
          availability,
        ),
      ),
    );
  }

  for (const b of HOST_BUTTONS) {
    if (!can(b.action)) continue;
    out.push(
      entity('button', b.action, b.name, {
        command_topic: commandTopic,
        payload_press: action(b.action),
        retain: false,
        device_class: 'restart',
        ...availability,
      }),
    );
  }
  return out;
}

/** A switch whose template renders ON / OFF and whose state is only ever what it reports. */
function switchEntity(own: Record<string, unknown>, availability: Record<string, unknown>): Record<string, unknown> {
  return { ...own, state_on: 'ON', state_off: 'OFF', optimistic: false, retain: false, device_class: 'switch', ...availability };
}

function action(name: string): string {
  return JSON.stringify({ action: name });
}

function bridgeAvailability(ctx: DiscoveryContext): Record<string, string> {
  return { topic: ctx.topics.bridgeState, payload_available: 'online', payload_not_available: 'offline' };
}

/** Lowercase letters, digits and `_`: what Home Assistant accepts in an entity id. */
function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

/** Builds one device's entities: ids, device block and origin are the same recipe for all of them. */
function entityFactory(ctx: DiscoveryContext, kind: 'ups' | 'host', dev: { id: string; name: string; model: string }) {
  const node = ctx.discovery.nodeId;
  const device = {
    identifiers: [`${node}_${kind}_${dev.id}`],
    name: dev.name,
    manufacturer: 'Blackstart',
    model: dev.model,
    sw_version: ctx.swVersion,
  };
  const origin = { name: 'Blackstart', sw_version: ctx.swVersion };
  return (component: DiscoveryComponent, key: string, name: string, rest: Record<string, unknown>): DiscoveryMessage => {
    const objectId = `${kind}_${dev.id}_${key}`;
    return {
      component,
      topic: ctx.discovery.config(component, objectId),
      payload: {
        name,
        unique_id: `${node}_${objectId}`,
        // `object_id` is deprecated since Home Assistant 2025.10 (ignored from 2026.4); older versions drop this key.
        default_entity_id: `${component}.${slug(`${node}_${objectId}`)}`,
        ...rest,
        qos: 1,
        device,
        origin,
      },
    };
  };
}
