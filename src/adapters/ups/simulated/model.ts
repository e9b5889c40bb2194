/**
 * A UPS as a pure function of time: mains on/off from a timeline, charge falling and rising at
 * fixed rates. No timers or I/O here; the adapter samples it on a clock.
 */
import type { UpsState } from '../../../core/state';
import type { SimulatedUpsConfig } from './config';

export interface UpsModel {
  /** Milliseconds since the simulation started. */
  t: number;
  mains: boolean;
  link: boolean;
  charge: number;
  /** The UPS ran flat and cut its output; it comes back with mains. */
  off: boolean;
  /** Index of the next timeline step to apply. */
  next: number;
}

export function initialModel(cfg: SimulatedUpsConfig): UpsModel {
  return applySteps(cfg, { t: 0, mains: true, link: true, charge: cfg.chargePct, off: false, next: 0 });
}

/** The model at time `to` (ms since start), integrating charge between timeline steps. */
export function advanceModel(cfg: SimulatedUpsConfig, model: UpsModel, to: number): UpsModel {
  let m = { ...model };
  while (m.t < to) {
    const step = cfg.timeline[m.next];
    const until = step && step.at <= to ? Math.max(step.at, m.t) : to;
    m = integrate(cfg, m, until);
    m = applySteps(cfg, m);
  }
  return m;
}

function integrate(cfg: SimulatedUpsConfig, m: UpsModel, until: number): UpsModel {
  const minutes = (until - m.t) / 60_000;
  let charge = m.mains ? m.charge + cfg.rechargePerMin * minutes : m.charge - cfg.dischargePerMin * minutes;
  charge = Math.min(100, Math.max(0, charge));
  return { ...m, t: until, charge, off: m.off || (!m.mains && charge <= 0) };
}

function applySteps(cfg: SimulatedUpsConfig, model: UpsModel): UpsModel {
  const m = { ...model };
  for (let step = cfg.timeline[m.next]; step && step.at <= m.t; step = cfg.timeline[++m.next]) {
    if (step.mains) {
      m.mains = step.mains === 'on';
      if (m.mains) m.off = false;
    }
    if (step.link) m.link = step.link === 'up';
    if (step.chargePct !== undefined) m.charge = step.chargePct;
  }
  return m;
}

/** What the UPS would report now, or null while the link is down. */
export function readingOf(cfg: SimulatedUpsConfig, m: UpsModel): Partial<UpsState> | null {
  if (!m.link) return null;
  const charge = Math.round(m.charge * 10) / 10;
  const status: UpsState['status'] = m.off ? 'off' : m.mains ? 'online' : charge <= cfg.lowBatteryPct ? 'low_battery' : 'on_battery';
  const flags =
    status === 'online' ? (charge < 100 ? ['OL', 'CHRG'] : ['OL']) : status === 'off' ? ['OFF'] : status === 'low_battery' ? ['OB', 'LB', 'DISCHRG'] : ['OB', 'DISCHRG'];
  return {
    status,
    flags,
    chargePct: charge,
    runtimeS: Math.round(((m.charge / 100) * cfg.runtimeAtFull) / 1000),
    loadPct: m.off ? 0 : cfg.loadPct,
    inputV: m.mains ? cfg.inputV : 0,
    batteryV: Math.round(cfg.batteryV * (0.85 + 0.15 * (m.charge / 100)) * 100) / 100,
    source: 'simulated',
  };
}
