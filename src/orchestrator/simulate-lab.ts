/**
 * The stand-in lab `blackstart simulate` runs: the config's outage UPS and every host replaced by
 * simulated devices with the durations the config gives, so the real planner and runner meet
 * machines that behave as the config says, and nothing on the network is touched.
 */
import { simulatedHostSchema, type SimulatedHostConfig } from '../adapters/host/simulated/config';
import { simulatedGuestSchema, type VmsConfig } from '../adapters/vm/config';
import { simulatedUpsSchema, type SimulatedUpsConfig } from '../adapters/ups/simulated/config';
import { outageUps, type Config, type HostConfig, type UpsConfig } from '../config/schema';
import { formatDuration } from '../core/duration';
import { BlackstartError } from '../core/errors';
import { hostAbilities, upsRuntime, type HostAbilities } from './lab-facts';
import { DEFAULT_SHUTDOWN_TAKES_MS } from './policy';

/** Boot time of a real host whose `outage.boot_takes` is not given. */
const DEFAULT_BOOT_TAKES_MS = 120_000;

export interface SimulatedLab {
  /** Only the outage UPS (simulated) and the hosts (simulated); no planned windows. */
  config: Config;
  ups: string;
  /** Runtime when mains fails, as the simulated UPS will report it. */
  runtimeMs: number;
  /** Charge when mains fails. */
  chargePct: number;
  /** What the real hosts could do, for telling where the simulation is kinder than reality. */
  abilities: Record<string, HostAbilities>;
}

export function simulatedLab(config: Config, opts: { outageAtMs: number; restoreAtMs: number; runtimeMs?: number }): SimulatedLab {
  const ups = outageUps(config);
  if (!ups) {
    const ids = Object.keys(config.ups);
    throw new BlackstartError(
      'CONFIG',
      ids.length === 0 ? 'nothing to simulate: the config has no UPS (add one under ups)' : `several UPS (${ids.join(', ')}) and no outage.ups: set outage.ups to the UPS that feeds the hosts`,
    );
  }
  const real = config.ups[ups] as UpsConfig;
  const own = real.simulated;
  const chargePct = own?.chargePct ?? 100;
  if (chargePct <= 0) throw new BlackstartError('CONFIG', `ups.${ups}.simulated.charge_pct is 0: an empty battery has no runtime to simulate`);
  const runtimeMs = opts.runtimeMs ?? upsRuntime(config, ups)?.ms;
  if (runtimeMs === undefined) {
    throw new BlackstartError('CONFIG', `the runtime of UPS "${ups}" is unknown (it is not simulated and outage.expected_runtime is not set): give it with --runtime, e.g. --runtime 8m`);
  }
  if (runtimeMs < 1000) throw new BlackstartError('BAD_REQUEST', `runtime ${formatDuration(runtimeMs)} is too short to simulate (at least 1s)`);

  const defaults = simulatedUpsSchema.parse({});
  const simUps: SimulatedUpsConfig = {
    ...defaults,
    ...(own ?? {}),
    interval: own?.interval ?? pollIntervalOf(real) ?? defaults.interval,
    chargePct,
    runtimeAtFull: (runtimeMs * 100) / chargePct,
    // Charge and runtime empty together: the runtime estimate drains one second per second.
    dischargePerMin: chargePct / (runtimeMs / 60_000),
    timeline: [
      { at: opts.outageAtMs, mains: 'off' },
      { at: opts.restoreAtMs, mains: 'on' },
    ],
  };

  const hosts: Record<string, HostConfig> = {};
  const abilities: Record<string, HostAbilities> = {};
  for (const [id, h] of Object.entries(config.hosts)) {
    hosts[id] = { name: h.name, outage: h.outage, simulated: simulatedHost(h), ...(h.vms ? { vms: simulatedVms(h.vms) } : {}) } as HostConfig;
    abilities[id] = hostAbilities(h);
  }

  return {
    config: {
      ...config,
      outage: { ...config.outage, ups, planned: [] },
      ups: { [ups]: { name: real.name, simulated: simUps } as UpsConfig },
      hosts,
    },
    ups,
    runtimeMs,
    chargePct,
    abilities,
  };
}

function simulatedHost(h: HostConfig): SimulatedHostConfig {
  const own = h.simulated;
  if (own) return { ...own };
  return {
    ...simulatedHostSchema.parse({}),
    shutdownTakes: h.outage.shutdownTakes ?? DEFAULT_SHUTDOWN_TAKES_MS,
    wakeTakes: h.outage.bootTakes ?? DEFAULT_BOOT_TAKES_MS,
  };
}

/** The same guests on a simulated hypervisor, stopping in their configured (or default) times. */
function simulatedVms(v: VmsConfig): VmsConfig {
  const guests: VmsConfig['guests'] = {};
  for (const [id, g] of Object.entries(v.guests)) guests[id] = { ...g, config: undefined, simulated: g.simulated ?? simulatedGuestSchema.parse({}) };
  return { pollEvery: v.pollEvery, simulated: v.simulated ?? { answers: true }, guests } as VmsConfig;
}

function pollIntervalOf(u: UpsConfig): number | undefined {
  return (u.nut ?? u.apcupsd ?? u.apcSmart)?.pollInterval;
}
