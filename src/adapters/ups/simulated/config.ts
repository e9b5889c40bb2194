import { z } from 'zod';
import { duration, percent, section } from '../../../config/fields';

const timelineStep = section({
  /** Time after start. */
  at: duration(),
  /** Mains power on or off from this moment. */
  mains: z.enum(['on', 'off']).optional(),
  /** The link to the UPS goes down (readings stop: comm_lost) or comes back. */
  link: z.enum(['up', 'down']).optional(),
  /** Jump the battery charge to this value. */
  charge_pct: percent.optional(),
}).refine((s) => s.mains !== undefined || s.link !== undefined || s.chargePct !== undefined, {
  message: 'a timeline step needs at least one of mains, link, charge_pct',
});

export const simulatedUpsSchema = section({
  interval: duration({ min: 100 }).prefault('1s'),
  charge_pct: percent.default(100),
  /** Runtime the UPS would report at 100 % charge. */
  runtime_at_full: duration({ min: 1000 }).prefault('30m'),
  load_pct: percent.default(40),
  input_v: z.number().positive().default(230),
  /** Battery voltage when full; it falls towards 85 % of this as the charge runs out. */
  battery_v: z.number().positive().default(27.3),
  discharge_per_min: z.number().positive().default(5),
  recharge_per_min: z.number().positive().default(2),
  low_battery_pct: percent.default(20),
  timeline: z.array(timelineStep).default([]),
});

export type SimulatedUpsConfig = z.output<typeof simulatedUpsSchema>;
