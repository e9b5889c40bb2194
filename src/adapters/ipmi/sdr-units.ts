/**
 * Sensor units (IPMI 2.0 §43.17) as the text ipmitool prints in `sdr list`, so that what
 * Blackstart publishes for a sensor reads the same as what an admin sees with ipmitool.
 */

/** Base/modifier unit type codes 0…92 (§43.17, "Sensor Unit Type Codes"). */
export const UNIT_NAMES: readonly string[] = [
  'unspecified', 'degrees C', 'degrees F', 'degrees K', 'Volts', 'Amps', 'Watts', 'Joules', 'Coulombs', 'VA',
  'Nits', 'lumen', 'lux', 'Candela', 'kPa', 'PSI', 'Newton', 'CFM', 'RPM', 'Hz',
  'microsecond', 'millisecond', 'second', 'minute', 'hour', 'day', 'week', 'mil', 'inches', 'feet',
  'cu in', 'cu feet', 'mm', 'cm', 'm', 'cu cm', 'cu m', 'liters', 'fluid ounce', 'radians',
  'steradians', 'revolutions', 'cycles', 'gravities', 'ounce', 'pound', 'ft-lb', 'oz-in', 'gauss', 'gilberts',
  'henry', 'millihenry', 'farad', 'microfarad', 'ohms', 'siemens', 'mole', 'becquerel', 'PPM', 'reserved',
  'Decibels', 'DbA', 'DbC', 'gray', 'sievert', 'color temp deg K', 'bit', 'kilobit', 'megabit', 'gigabit',
  'byte', 'kilobyte', 'megabyte', 'gigabyte', 'word', 'dword', 'qword', 'line', 'hit', 'miss',
  'retry', 'reset', 'overflow', 'underrun', 'collision', 'packets', 'messages', 'characters', 'error', 'correctable error',
  'uncorrectable error', 'fatal error', 'grams',
];

/** Sensor Units 1 bits 5:3 (§43.1): the time base of a rate, or none. */
export const RATE_UNITS = ['none', 'per µs', 'per ms', 'per s', 'per minute', 'per hour', 'per day', 'reserved'] as const;
export type RateUnit = (typeof RATE_UNITS)[number];

/** Sensor Units 1 bits 2:1: how the modifier unit combines with the base unit. */
export type ModifierRelation = 'none' | 'divide' | 'multiply';
export const MODIFIER_RELATIONS: readonly ModifierRelation[] = ['none', 'divide', 'multiply', 'none'];

export function unitName(code: number): string {
  return UNIT_NAMES[code] ?? 'invalid';
}

/**
 * The unit text of a reading. Follows ipmitool: a percentage with no base unit is "percent",
 * otherwise "% " is prefixed; the rate unit is not printed (ipmitool leaves it out too).
 */
export function unitString(percent: boolean, relation: ModifierRelation, base: number, modifier: number): string {
  const pct = percent ? '% ' : '';
  if (relation === 'multiply') return `${pct}${unitName(base)}*${unitName(modifier)}`;
  if (relation === 'divide') return `${pct}${unitName(base)}/${unitName(modifier)}`;
  if (percent && base === 0) return 'percent';
  return `${pct}${unitName(base)}`;
}
