/**
 * The plugin's entry in Homebridge's config.json (snake_case, as in Blackstart's YAML), checked by hand:
 * a wrong entry is reported in the Homebridge log and leaves the platform idle rather than crashing it.
 */
import { DEVICE_ID, NODE_ID, VM_STOP_ACTIONS, type VmStopAction } from 'blackstart';
import type { PlatformConfig } from './homebridge-types';

export interface HostOptions {
  /** Turning the switch off shuts the server down only when this is set: a stray tap or Siri phrase must not. */
  allowShutdown: boolean;
  temperatures: boolean;
  name?: string;
}

/** What switching a guest off sends: the actions a guest's `stop` takes in Blackstart's YAML. */
export type GuestStop = VmStopAction;

export interface GuestOptions {
  /** As for hosts: a stray tap or "turn everything off" must not stop a guest others depend on. */
  allowShutdown: boolean;
  /**
   * The plugin's own choice, not the YAML's outage `stop`: MQTT does not carry that, and a remote plugin
   * must behave the same. `shutdown` by default: graceful, and any hypervisor can do it.
   */
  stop: GuestStop;
  name?: string;
}

export type PluginMode =
  | { kind: 'in_process'; configFile: string }
  | { kind: 'remote'; url: string; baseTopic: string; username?: string; password?: string };

export interface PluginConfig {
  mode: PluginMode;
  hosts: Map<string, HostOptions>;
  /** By `<host>/<guest>`. */
  guests: Map<string, GuestOptions>;
  /** How long a switch shows the state it was asked for while the host gets there. */
  holdMs: number;
  /** How long a refused "off" stays off before the switch flips back. */
  revertMs: number;
  /** Remote mode: cached accessories whose device has not been heard of after this long are removed. */
  staleAfterMs: number;
}

/** A guest is the `<host>/<guest>` form of the core's node id, never a bare host. */
function isGuestId(id: string): boolean {
  return NODE_ID.test(id) && id.includes('/');
}

class PluginConfigError extends Error {}

function num(raw: unknown, key: string, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  if (typeof raw !== 'number' || !Number.isFinite(raw) || raw < min) throw new PluginConfigError(`${key} must be a number >= ${min}`);
  return raw;
}

export function parsePluginConfig(raw: PlatformConfig): PluginConfig {
  const c = raw as Record<string, unknown>;
  const hosts = new Map<string, HostOptions>();
  const list = c.hosts ?? [];
  if (!Array.isArray(list)) throw new PluginConfigError('hosts must be a list');
  list.forEach((h: unknown, i) => {
    const e = (h ?? {}) as Record<string, unknown>;
    if (typeof e.id !== 'string' || !DEVICE_ID.test(e.id)) throw new PluginConfigError(`hosts[${i}].id must be a Blackstart host id (a-z, 0-9, _ and -)`);
    const opts: HostOptions = { allowShutdown: e.allow_shutdown === true, temperatures: e.temperatures === true };
    if (typeof e.name === 'string' && e.name.trim()) opts.name = e.name.trim();
    hosts.set(e.id, opts);
  });

  const guests = new Map<string, GuestOptions>();
  const glist = c.guests ?? [];
  if (!Array.isArray(glist)) throw new PluginConfigError('guests must be a list');
  glist.forEach((g: unknown, i) => {
    const e = (g ?? {}) as Record<string, unknown>;
    if (typeof e.id !== 'string' || !isGuestId(e.id)) throw new PluginConfigError(`guests[${i}].id must be <host>/<guest> as in Blackstart, e.g. hv1/db`);
    if (guests.has(e.id)) throw new PluginConfigError(`guests[${i}]: "${e.id}" is listed twice`);
    const stop = e.stop ?? 'shutdown';
    if (!(VM_STOP_ACTIONS as readonly unknown[]).includes(stop)) throw new PluginConfigError(`guests[${i}].stop must be one of ${VM_STOP_ACTIONS.join(', ')}, not ${JSON.stringify(stop)}`);
    const opts: GuestOptions = { allowShutdown: e.allow_shutdown === true, stop: stop as GuestStop };
    if (typeof e.name === 'string' && e.name.trim()) opts.name = e.name.trim();
    guests.set(e.id, opts);
  });

  const modeName = c.mode ?? (c.config_file ? 'in_process' : 'remote');
  let mode: PluginMode;
  if (modeName === 'in_process') {
    if (typeof c.config_file !== 'string' || !c.config_file) throw new PluginConfigError('in_process mode needs config_file: the path of a Blackstart YAML file');
    mode = { kind: 'in_process', configFile: c.config_file };
  } else if (modeName === 'remote') {
    const m = (c.mqtt ?? {}) as Record<string, unknown>;
    if (typeof m.url !== 'string' || !/^mqtts?:\/\/|^wss?:\/\//.test(m.url)) throw new PluginConfigError('remote mode needs mqtt.url, e.g. mqtt://192.168.1.10:1883');
    mode = { kind: 'remote', url: m.url, baseTopic: typeof m.base_topic === 'string' && m.base_topic ? m.base_topic : 'blackstart' };
    if (typeof m.username === 'string' && m.username) mode.username = m.username;
    if (typeof m.password === 'string' && m.password) mode.password = m.password;
  } else {
    throw new PluginConfigError(`mode must be in_process or remote, not ${JSON.stringify(modeName)}`);
  }
  return {
    mode,
    hosts,
    guests,
    holdMs: num(c.hold_s, 'hold_s', 300, 1) * 1000,
    revertMs: num(c.revert_ms, 'revert_ms', 1000, 0),
    staleAfterMs: num(c.stale_after_s, 'stale_after_s', 30, 0) * 1000,
  };
}

export function hostOptions(config: PluginConfig, id: string): HostOptions {
  return config.hosts.get(id) ?? { allowShutdown: false, temperatures: false };
}

export function guestOptions(config: PluginConfig, host: string, guest: string): GuestOptions {
  return config.guests.get(`${host}/${guest}`) ?? { allowShutdown: false, stop: 'shutdown' };
}
