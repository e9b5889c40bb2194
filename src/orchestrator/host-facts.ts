/** What the orchestrator reads from a host's state: is it down, is it up, was it running. */
import type { HostState } from '../core/state';

/** Down means proven: power reads off, or the host's own rule said down (stopped answering after a shutdown). */
export function isDown(s: HostState): boolean {
  return s.power === 'off' || s.phase === 'down';
}


/** Up means it answers (or, with no probe, its BMC reads power on). */
export function isUp(s: HostState): boolean {
  return s.phase === 'running';
}

/** Counted as running when an outage begins, so it is brought back afterwards. */
export function wasRunning(s: HostState): boolean {
  return s.phase === 'running' || s.phase === 'waking' || s.phase === 'shutting_down' || s.power === 'on';
}
