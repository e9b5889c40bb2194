/**
 * The plan's nodes: hosts, and the guests of their hypervisors as `<host>/<guest>`. A guest
 * depends on its host, so it stops before the host and starts after it, and other nodes may
 * depend on a guest (an app server that mounts a NAS running as a VM).
 */
import { DEFAULT_VM_STOP_TAKES_MS } from '../adapters/vm/config';
import type { HostConfig } from '../config/schema';
import type { Hub } from '../core/hub';
import { isVmDown, isVmUp, type HostState, type VmState } from '../core/state';
import { isDown, isUp, wasRunning } from './host-facts';
import { toPlanHost, type PlanHost } from './planner';
import type { HostOutagePolicy } from './policy';

/** A guest turned off with no `stop_takes` and nothing measured: one hypervisor command and a read. */
const DEFAULT_GUEST_OFF_TAKES_MS = 5_000;

/** A guest's part in an outage, from its `vms.guests.<id>` block. */
export interface GuestPolicy {
  host: string;
  guest: string;
  stop: 'save' | 'shutdown' | 'off';
  stopTakes?: number | undefined;
  stopWithin: number;
  start: 'none' | 'if_running_before' | 'always';
  startWithin: number;
  dependsOn: readonly string[];
}

export type NodeRef = { kind: 'host'; id: string } | { kind: 'vm'; id: string; host: string; guest: string };

export function nodeRef(id: string): NodeRef {
  const slash = id.indexOf('/');
  return slash < 0 ? { kind: 'host', id } : { kind: 'vm', id, host: id.slice(0, slash), guest: id.slice(slash + 1) };
}

function guestNodeId(host: string, guest: string): string {
  return `${host}/${guest}`;
}

/** The planner's view of a guest: it needs its host, and is left running when the host is. */
export function toPlanGuest(id: string, g: GuestPolicy, hostLeftRunning: boolean, learnedMs?: number | null): PlanHost {
  // Turning a guest off is one hypervisor command; the others wait for the guest.
  const takes = g.stopTakes ?? learnedMs ?? (g.stop === 'off' ? DEFAULT_GUEST_OFF_TAKES_MS : DEFAULT_VM_STOP_TAKES_MS);
  return {
    id,
    dependsOn: [g.host, ...g.dependsOn.filter((d) => d !== g.host)],
    shutdownTakesMs: Math.min(takes, g.stopWithin),
    escalateAfterMs: g.stopWithin,
    leaveRunning: hostLeftRunning,
  };
}

/** Facts of a node as the runners need them, for hosts and guests alike. */
export interface NodeFacts {
  down: boolean;
  up: boolean;
  /** Counted as running when the outage began (so it is brought back). */
  wasRunning: boolean;
  /** A guest whose hypervisor cannot be read while its host is up: it may be running. */
  unknown: boolean;
}

export function nodeFacts(hub: Hub, id: string): NodeFacts {
  const ref = nodeRef(id);
  if (ref.kind === 'host') {
    const s = hub.host(id) as HostState | undefined;
    if (!s) return { down: false, up: false, wasRunning: false, unknown: false };
    return { down: isDown(s), up: isUp(s), wasRunning: wasRunning(s), unknown: false };
  }
  const v = hub.vm(ref.host, ref.guest) as VmState | undefined;
  if (!v) return { down: false, up: false, wasRunning: false, unknown: false };
  // A guest whose host is down is down, whatever its hypervisor last said.
  const host = hub.host(ref.host);
  const hostDown = host ? isDown(host) : false;
  return {
    down: isVmDown(v.state) || hostDown,
    up: isVmUp(v.state) && !hostDown,
    wasRunning: isVmUp(v.state) || v.state === 'stopping',
    unknown: v.state === 'unknown' && !hostDown,
  };
}

/** Every guest of every host's `vms:` block, as the orchestrator plans them, by node id. */
export function guestPolicies(hosts: Readonly<Record<string, HostConfig>>): Record<string, GuestPolicy> {
  const out: Record<string, GuestPolicy> = {};
  for (const [host, h] of Object.entries(hosts)) {
    for (const [guest, g] of Object.entries(h.vms?.guests ?? {})) {
      out[guestNodeId(host, guest)] = {
        host,
        guest,
        stop: g.stop,
        stopTakes: g.stopTakes,
        stopWithin: g.stopWithin,
        start: g.start,
        startWithin: g.startWithin,
        dependsOn: g.dependsOn,
      };
    }
  }
  return out;
}

/** Every host's `outage:` block, by id. */
export function hostPolicies(hosts: Readonly<Record<string, HostConfig>>): Record<string, HostOutagePolicy> {
  return Object.fromEntries(Object.entries(hosts).map(([id, h]) => [id, h.outage]));
}

/**
 * The plan's nodes: the hosts, then the guests, with measured durations when known. The
 * orchestrator passes the policies of the devices its hub has; `planNodes` those of a config.
 */
export function planNodesOf(
  hosts: Readonly<Record<string, HostOutagePolicy>>,
  guests: Readonly<Record<string, GuestPolicy>>,
  learned: (id: string) => number | null = () => null,
): PlanHost[] {
  const out = Object.entries(hosts).map(([id, h]) => toPlanHost(id, h, learned(id)));
  for (const [id, g] of Object.entries(guests)) out.push(toPlanGuest(id, g, hosts[g.host]?.leaveRunning ?? false, learned(id)));
  return out;
}

/** The plan's nodes from config: hosts and their guests, with measured durations when known. */
export function planNodes(hosts: Readonly<Record<string, HostConfig>>, learned: (id: string) => number | null = () => null): PlanHost[] {
  return planNodesOf(hostPolicies(hosts), guestPolicies(hosts), learned);
}
