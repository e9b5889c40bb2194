/**
 * One rule for a host's phase, whichever adapter learned something new. Several adapters feed
 * one host (probes see whether it answers, IPMI sees power, shutdown and wake methods start
 * transitions); each calls this with its own new fact and the state the hub holds, so the
 * phase never depends on which of them spoke last.
 */
import type { HostPhase, HostState, PowerState } from './state';

export interface HostFacts {
  power?: PowerState;
  reachable?: boolean | null;
}

export function derivePhase(prev: HostState, facts: HostFacts): HostPhase {
  const power = facts.power ?? prev.power;
  const reachable = facts.reachable === undefined ? prev.reachable : facts.reachable;
  if (power === 'off') return 'down';
  if (prev.phase === 'shutting_down') {
    // Without a BMC, "stopped answering" is the only sign a shutdown finished.
    if (reachable === false && power !== 'on') return 'down';
    return 'shutting_down';
  }
  if (prev.phase === 'waking' && reachable !== true) return 'waking';
  if (reachable === true) return 'running';
  if (reachable === false) return prev.phase === 'down' && power !== 'on' ? 'down' : 'unreachable';
  // Nobody probes this host: power is all we know.
  if (power === 'on') return 'running';
  return prev.phase;
}

/**
 * What proves a host went down, or undefined while nothing does: its BMC reading power off, else
 * silence (stopped answering, or the phase rule said down) while no BMC says power is on. A BMC
 * that still reads on outweighs a silent probe: the OS may be hung, not off. The shutdown method's
 * verification and the outage runner both judge by this one rule.
 */
export function shutdownProof(s: HostState): 'ipmi' | 'probe' | undefined {
  if (s.power === 'off') return 'ipmi';
  if (s.power !== 'on' && (s.reachable === false || s.phase === 'down')) return 'probe';
  return undefined;
}

/** The phase once a pending transition (shutting down, waking) is given up on. */
export function settledPhase(prev: HostState): HostPhase {
  return derivePhase({ ...prev, phase: prev.phase === 'shutting_down' || prev.phase === 'waking' ? 'unreachable' : prev.phase }, {});
}

/** How a BMC's errors start in `last_error`, so the other adapters of the host can tell them apart. */
export const BMC_ERROR_PREFIX = 'BMC: ';

/**
 * `last_error` is one field shared by a host's adapters: each sets its own error and clears only
 * an error it wrote, so a probe that answers does not hide a BMC that does not.
 */
export function lastErrorAfter(current: string | null, source: 'bmc' | 'probe', mine: string | null): string | null {
  if (mine !== null) return mine;
  const ownedByMe = current !== null && current.startsWith(BMC_ERROR_PREFIX) === (source === 'bmc');
  return ownedByMe ? null : current;
}
