/**
 * What the config alone says about the lab's outage: the UPS runtime to budget against and what
 * each host can be made to do. `blackstart check` and `blackstart simulate` both read them here,
 * so they never disagree.
 */
import type { Config, HostConfig } from '../config/schema';

export interface UpsRuntime {
  ms: number;
  /** Where the figure came from, for messages. */
  from: string;
  /** The config path that gives it, for warnings. */
  path: string;
}

/**
 * The runtime of UPS `ups` when mains fails. The written `outage.expected_runtime` wins: it is the
 * user's word for today's load. Else a simulated UPS's runtime at its charge; else unknown.
 */
export function upsRuntime(config: Config, ups: string): UpsRuntime | undefined {
  if (config.outage.expectedRuntime !== undefined) return { ms: config.outage.expectedRuntime, from: 'outage.expected_runtime', path: 'outage.expected_runtime' };
  const sim = config.ups[ups]?.simulated;
  if (!sim) return undefined;
  return { ms: (sim.runtimeAtFull * sim.chargePct) / 100, from: `simulated UPS ${ups} at ${sim.chargePct}% charge`, path: `ups.${ups}.simulated.runtime_at_full` };
}

/** What a configured host can be made to do; a simulated host can do everything. */
export interface HostAbilities {
  simulated: boolean;
  /** A graceful shutdown (shutdown: or ipmi:). */
  shutdown: boolean;
  /** A forced power-off (ipmi:). */
  powerOff: boolean;
  /** Started after an outage (ipmi: or wol:). */
  start: boolean;
  /** Something tells whether it answers (probe: or ipmi:). */
  seenUp: boolean;
}

export function hostAbilities(h: Pick<HostConfig, 'simulated' | 'shutdown' | 'ipmi' | 'wol' | 'probe'>): HostAbilities {
  if (h.simulated) return { simulated: true, shutdown: true, powerOff: true, start: true, seenUp: true };
  return {
    simulated: false,
    shutdown: Boolean(h.shutdown || h.ipmi),
    powerOff: Boolean(h.ipmi),
    start: Boolean(h.ipmi || h.wol),
    seenUp: Boolean(h.probe || h.ipmi),
  };
}
