/**
 * Raw sensor byte → value, IPMI 2.0 §36.3: y = L[(M·x + B·10^Bexp) · 10^Rexp]. Pure arithmetic,
 * separate from record decoding so the same factors serve readings, thresholds and hysteresis.
 */

export type AnalogFormat = 'unsigned' | 'ones-complement' | 'twos-complement' | 'none';

export const LINEARIZATIONS = [
  'linear', 'ln', 'log10', 'log2', 'e', 'exp10', 'exp2', '1/x', 'sqr', 'cube', 'sqrt', 'cube-root',
] as const;
/** 0x70…0x7F means "non-linear": the factors must be fetched per reading (Get Sensor Reading Factors). */
export type Linearization = (typeof LINEARIZATIONS)[number] | 'non-linear' | 'unknown';

export interface ConversionFactors {
  format: AnalogFormat;
  linearization: Linearization;
  /** 10-bit two's complement. */
  m: number;
  /** 10-bit two's complement. */
  b: number;
  /** 4-bit two's complement each. */
  bExp: number;
  rExp: number;
}

/** Sign-extends the low `bits` bits of `value`. */
export function signed(value: number, bits: number): number {
  const shift = 32 - bits;
  return (value << shift) >> shift;
}

/** The raw byte as the number x of the formula, or null when the format carries no analog value. */
export function rawToX(raw: number, format: AnalogFormat): number | null {
  const byte = raw & 0xff;
  switch (format) {
    case 'unsigned':
      return byte;
    case 'ones-complement':
      // 0xFF is "negative zero"; inverting the bits of a negative value gives its magnitude.
      return byte & 0x80 ? byte - 0xff : byte;
    case 'twos-complement':
      return signed(byte, 8);
    case 'none':
      return null;
  }
}

function linearize(l: Linearization, v: number): number | null {
  switch (l) {
    case 'linear':
      return v;
    case 'ln':
      return Math.log(v);
    case 'log10':
      return Math.log10(v);
    case 'log2':
      return Math.log2(v);
    case 'e':
      return Math.exp(v);
    case 'exp10':
      return 10 ** v;
    case 'exp2':
      return 2 ** v;
    case '1/x':
      return 1 / v;
    case 'sqr':
      return v * v;
    case 'cube':
      return v * v * v;
    case 'sqrt':
      return Math.sqrt(v);
    case 'cube-root':
      return Math.cbrt(v);
    case 'non-linear':
    case 'unknown':
      return null;
  }
}

/**
 * Exact decimal scaling: multiplying by 10^-n in binary floating point gives 45.300000000000004
 * where dividing by 10^n gives 45.3, and readings end up on MQTT and in comparisons.
 */
function scale10(v: number, exp: number): number {
  return exp >= 0 ? v * 10 ** exp : v / 10 ** -exp;
}

/**
 * The value of a raw reading, or null when it has none: no analog format, factors that must come
 * from the BMC per reading (non-linear), or a result that is not a finite number (log of 0, 1/0).
 */
export function convertReading(f: ConversionFactors, raw: number): number | null {
  const x = rawToX(raw, f.format);
  if (x === null) return null;
  const linear = scale10(f.m * x + scale10(f.b, f.bExp), f.rExp);
  const y = linearize(f.linearization, linear);
  // `+ 0` turns -0 (M < 0 and x = 0) into 0, which is what a reading of zero should print as.
  return y !== null && Number.isFinite(y) ? y + 0 : null;
}

/**
 * A hysteresis amount: an unsigned count of raw steps, so B (an offset) does not apply and neither
 * does a non-linear L (a width has no meaning there); only M and Rexp scale it.
 */
export function convertAmount(f: ConversionFactors, raw: number): number | null {
  if (f.format === 'none' || f.linearization !== 'linear') return null;
  return Math.abs(scale10(f.m * (raw & 0xff), f.rExp));
}

/** Tolerance is given in ±½ raw counts (§43.1 byte 26). */
export function convertTolerance(f: ConversionFactors, raw: number): number | null {
  const amount = convertAmount(f, raw & 0x3f);
  return amount === null ? null : amount / 2;
}
