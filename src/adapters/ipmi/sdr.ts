/**
 * SDR records (IPMI 2.0 §43) as pure decoders: bytes of one whole record in, a typed record out.
 * Sensor records (full, compact, event-only) are decoded; every other type is kept only as its
 * id and type so a repository listing stays complete. Bad bytes become BlackstartError('PROTOCOL')
 * naming the record id and the offset, never an out-of-range read.
 */
import { BlackstartError } from '../../core/errors';
import {
  LINEARIZATIONS,
  convertAmount,
  convertReading,
  convertTolerance,
  signed,
  type AnalogFormat,
  type ConversionFactors,
  type Linearization,
} from './sensor-convert';
import { MODIFIER_RELATIONS, RATE_UNITS, unitString, type ModifierRelation, type RateUnit } from './sdr-units';

export const SDR_HEADER_BYTES = 5;
export const SDR_TYPE = { full: 0x01, compact: 0x02, eventOnly: 0x03, fruLocator: 0x11, mcLocator: 0x12 } as const;
/** Event/Reading Type Code 0x01: the sensor compares its reading against thresholds. */
export const READING_TYPE_THRESHOLD = 0x01;

export interface SdrHeader {
  recordId: number;
  /** 0x51 for IPMI 1.5/2.0 records. */
  version: number;
  type: number;
  /** Bytes that follow the 5-byte header. */
  length: number;
}

export interface SensorCommon {
  recordId: number;
  ownerId: number;
  ownerLun: number;
  channel: number;
  sensorNumber: number;
  entityId: number;
  entityInstance: number;
  logicalEntity: boolean;
  sensorType: number;
  sensorTypeName: string;
  eventReadingType: number;
  name: string;
}

export type ThresholdName = 'lnc' | 'lcr' | 'lnr' | 'unc' | 'ucr' | 'unr';
/** Bit i of the readable/settable masks and of Get Sensor Reading byte 3 (§35.14). */
export const THRESHOLD_BITS: readonly ThresholdName[] = ['lnc', 'lcr', 'lnr', 'unc', 'ucr', 'unr'];

export interface SensorUnits {
  format: AnalogFormat;
  rate: RateUnit;
  modifierRelation: ModifierRelation;
  percent: boolean;
  base: number;
  modifier: number;
  /** As ipmitool prints it: "degrees C", "RPM", "Volts", "percent", … */
  text: string;
}

export interface FullSensorRecord extends SensorCommon {
  kind: 'full';
  type: 0x01;
  units: SensorUnits;
  factors: ConversionFactors;
  /** Raw 6-bit tolerance and its value (± in units). */
  tolerance: { raw: number; value: number | null };
  /** Accuracy in 1/100 percent steps, times 10^accuracyExp. */
  accuracy: { raw: number; exp: number; percent: number };
  direction: 'unspecified' | 'input' | 'output' | 'reserved';
  nominal: number | null;
  normalMax: number | null;
  normalMin: number | null;
  sensorMax: number | null;
  sensorMin: number | null;
  /** Only thresholds the record declares readable, converted to units. */
  thresholds: Partial<Record<ThresholdName, number>>;
  thresholdsRaw: Partial<Record<ThresholdName, number>>;
  readableThresholds: number;
  settableThresholds: number;
  hysteresis: { positiveRaw: number; negativeRaw: number; positive: number | null; negative: number | null };
  /** Whether byte 3 of Get Sensor Reading carries threshold comparison bits. */
  isThreshold: boolean;
}

export interface CompactSensorRecord extends SensorCommon {
  kind: 'compact';
  type: 0x02;
  units: SensorUnits;
}

export interface EventOnlyRecord extends SensorCommon {
  kind: 'event-only';
  type: 0x03;
}

export interface OtherSdrRecord {
  kind: 'other';
  type: number;
  recordId: number;
}

export type SdrRecord = FullSensorRecord | CompactSensorRecord | EventOnlyRecord | OtherSdrRecord;

/** Sensor Type Codes (§42.2, table 42-3), the words ipmitool uses. */
const SENSOR_TYPE_NAMES: readonly string[] = [
  'reserved', 'Temperature', 'Voltage', 'Current', 'Fan', 'Physical Security', 'Platform Security', 'Processor',
  'Power Supply', 'Power Unit', 'Cooling Device', 'Other', 'Memory', 'Drive Slot / Bay', 'POST Memory Resize',
  'System Firmwares', 'Event Logging Disabled', 'Watchdog1', 'System Event', 'Critical Interrupt', 'Button',
  'Module / Board', 'Microcontroller', 'Add-in Card', 'Chassis', 'Chip Set', 'Other FRU', 'Cable / Interconnect',
  'Terminator', 'System Boot Initiated', 'Boot Error', 'OS Boot', 'OS Critical Stop', 'Slot / Connector',
  'System ACPI Power State', 'Watchdog2', 'Platform Alert', 'Entity Presence', 'Monitor ASIC', 'LAN',
  'Management Subsys Health', 'Battery', 'Session Audit', 'Version Change', 'FRU State',
];

export function sensorTypeName(code: number): string {
  return SENSOR_TYPE_NAMES[code] ?? (code >= 0xc0 ? 'OEM' : 'unknown');
}

const hex4 = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;

function protocol(recordId: number | undefined, offset: number, what: string): BlackstartError {
  const rec = recordId === undefined ? 'SDR record' : `SDR record ${hex4(recordId)}`;
  return new BlackstartError('PROTOCOL', `${rec} at offset ${offset}: ${what}`);
}

export function decodeSdrHeader(bytes: Uint8Array): SdrHeader {
  if (bytes.length < SDR_HEADER_BYTES) {
    throw protocol(bytes.length >= 2 ? bytes[0]! | (bytes[1]! << 8) : undefined, bytes.length, `header needs ${SDR_HEADER_BYTES} bytes, got ${bytes.length}`);
  }
  return { recordId: bytes[0]! | (bytes[1]! << 8), version: bytes[2]!, type: bytes[3]!, length: bytes[4]! };
}

// ---------------------------------------------------------------------------------------------
// ID strings (§43.15 type/length byte)

const BCD_PLUS = '0123456789 -.:,_';

/**
 * The sensor's name. Types: 11b 8-bit ASCII+Latin-1, 10b 6-bit packed ASCII, 01b BCD plus,
 * 00b "Unicode" (no BMC we know sends it; read as Latin-1 so it is at least visible).
 */
export function decodeIdString(bytes: Uint8Array, at: number, recordId: number): string {
  const tl = bytes[at];
  if (tl === undefined) throw protocol(recordId, at, 'ID string type/length byte missing');
  const len = tl & 0x1f;
  const end = at + 1 + len;
  if (end > bytes.length) {
    throw protocol(recordId, at, `ID string length byte says ${len} bytes, record has ${bytes.length - at - 1} after it`);
  }
  const s = bytes.subarray(at + 1, end);
  let text: string;
  switch (tl >> 6) {
    case 0b10: {
      let out = '';
      const chars = Math.floor((s.length * 8) / 6);
      for (let i = 0; i < chars; i++) {
        const bit = i * 6;
        const lo = s[bit >> 3] ?? 0;
        const hi = s[(bit >> 3) + 1] ?? 0;
        out += String.fromCharCode(0x20 + ((((hi << 8) | lo) >> (bit & 7)) & 0x3f));
      }
      text = out;
      break;
    }
    case 0b01: {
      let out = '';
      for (const b of s) out += BCD_PLUS[b >> 4]! + BCD_PLUS[b & 0x0f]!;
      text = out;
      break;
    }
    default:
      text = Buffer.from(s).toString('latin1');
  }
  const nul = text.indexOf('\0');
  return (nul === -1 ? text : text.slice(0, nul)).trimEnd();
}

// ---------------------------------------------------------------------------------------------
// Records

const FULL_ID_AT = 47;
const COMPACT_ID_AT = 31;
const EVENT_ONLY_ID_AT = 16;

function need(bytes: Uint8Array, min: number, recordId: number, kind: string): void {
  if (bytes.length < min) throw protocol(recordId, bytes.length, `${kind} record needs at least ${min} bytes, got ${bytes.length}`);
}

function common(bytes: Uint8Array, recordId: number, typeAt: number, idAt: number): SensorCommon {
  const at = (i: number): number => bytes[i]!;
  return {
    recordId,
    ownerId: at(5),
    ownerLun: at(6) & 0x03,
    channel: at(6) >> 4,
    sensorNumber: at(7),
    entityId: at(8),
    entityInstance: at(9) & 0x7f,
    logicalEntity: (at(9) & 0x80) !== 0,
    sensorType: at(typeAt),
    sensorTypeName: sensorTypeName(at(typeAt)),
    eventReadingType: at(typeAt + 1),
    name: decodeIdString(bytes, idAt, recordId),
  };
}

const FORMATS: readonly AnalogFormat[] = ['unsigned', 'ones-complement', 'twos-complement', 'none'];

function units(u1: number, base: number, modifier: number): SensorUnits {
  const percent = (u1 & 0x01) !== 0;
  const modifierRelation = MODIFIER_RELATIONS[(u1 >> 1) & 0x03]!;
  return {
    format: FORMATS[u1 >> 6]!,
    rate: RATE_UNITS[(u1 >> 3) & 0x07]!,
    modifierRelation,
    percent,
    base,
    modifier,
    text: unitString(percent, modifierRelation, base, modifier),
  };
}

function linearizationOf(byte: number): Linearization {
  const l = byte & 0x7f;
  if (l < LINEARIZATIONS.length) return LINEARIZATIONS[l]!;
  return l >= 0x70 ? 'non-linear' : 'unknown';
}

const DIRECTIONS = ['unspecified', 'input', 'output', 'reserved'] as const;
/** Threshold bytes 36…41 are UNR, UCR, UNC, LNR, LCR, LNC. */
const THRESHOLD_OFFSETS: Record<ThresholdName, number> = { unr: 36, ucr: 37, unc: 38, lnr: 39, lcr: 40, lnc: 41 };

function decodeFull(bytes: Uint8Array, recordId: number): FullSensorRecord {
  need(bytes, FULL_ID_AT + 1, recordId, 'full sensor');
  const at = (i: number): number => bytes[i]!;
  const c = common(bytes, recordId, 12, FULL_ID_AT);
  const u = units(at(20), at(21), at(22));
  const factors: ConversionFactors = {
    format: u.format,
    linearization: linearizationOf(at(23)),
    m: signed(at(24) | ((at(25) & 0xc0) << 2), 10),
    b: signed(at(26) | ((at(27) & 0xc0) << 2), 10),
    rExp: signed(at(29) >> 4, 4),
    bExp: signed(at(29) & 0x0f, 4),
  };
  const value = (raw: number): number | null => convertReading(factors, raw);
  const flags = at(30);
  const isThreshold = c.eventReadingType === READING_TYPE_THRESHOLD;
  // For non-threshold sensors these two bytes are the discrete reading mask, not threshold masks.
  const readable = isThreshold ? at(18) & 0x3f : 0;
  const thresholds: Partial<Record<ThresholdName, number>> = {};
  const thresholdsRaw: Partial<Record<ThresholdName, number>> = {};
  THRESHOLD_BITS.forEach((name, bit) => {
    if (!(readable & (1 << bit))) return;
    const raw = at(THRESHOLD_OFFSETS[name]);
    thresholdsRaw[name] = raw;
    const v = value(raw);
    if (v !== null) thresholds[name] = v;
  });
  const accuracyRaw = (at(27) & 0x3f) | ((at(28) & 0xf0) << 2);
  const accuracyExp = (at(28) >> 2) & 0x03;
  return {
    ...c,
    kind: 'full',
    type: 0x01,
    units: u,
    factors,
    tolerance: { raw: at(25) & 0x3f, value: convertTolerance(factors, at(25)) },
    accuracy: { raw: accuracyRaw, exp: accuracyExp, percent: (accuracyRaw * 10 ** accuracyExp) / 100 },
    direction: DIRECTIONS[at(28) & 0x03]!,
    nominal: flags & 0x01 ? value(at(31)) : null,
    normalMax: flags & 0x02 ? value(at(32)) : null,
    normalMin: flags & 0x04 ? value(at(33)) : null,
    sensorMax: value(at(34)),
    sensorMin: value(at(35)),
    thresholds,
    thresholdsRaw,
    readableThresholds: readable,
    settableThresholds: isThreshold ? at(19) & 0x3f : 0,
    hysteresis: {
      positiveRaw: at(42),
      negativeRaw: at(43),
      positive: convertAmount(factors, at(42)),
      negative: convertAmount(factors, at(43)),
    },
    isThreshold,
  };
}

function decodeCompact(bytes: Uint8Array, recordId: number): CompactSensorRecord {
  need(bytes, COMPACT_ID_AT + 1, recordId, 'compact sensor');
  return { ...common(bytes, recordId, 12, COMPACT_ID_AT), kind: 'compact', type: 0x02, units: units(bytes[20]!, bytes[21]!, bytes[22]!) };
}

function decodeEventOnly(bytes: Uint8Array, recordId: number): EventOnlyRecord {
  need(bytes, EVENT_ONLY_ID_AT + 1, recordId, 'event-only sensor');
  return { ...common(bytes, recordId, 10, EVENT_ONLY_ID_AT), kind: 'event-only', type: 0x03 };
}

/**
 * One whole record: the 5-byte header and exactly as many bytes as its length byte says. A record
 * cut short, or with bytes past its length, is refused: either way the reader lost its place.
 */
export function decodeSdrRecord(bytes: Uint8Array): SdrRecord {
  const h = decodeSdrHeader(bytes);
  const total = SDR_HEADER_BYTES + h.length;
  if (bytes.length !== total) {
    throw protocol(h.recordId, 4, `length byte says ${h.length} bytes after the header, got ${bytes.length - SDR_HEADER_BYTES}`);
  }
  switch (h.type) {
    case SDR_TYPE.full:
      return decodeFull(bytes, h.recordId);
    case SDR_TYPE.compact:
      return decodeCompact(bytes, h.recordId);
    case SDR_TYPE.eventOnly:
      return decodeEventOnly(bytes, h.recordId);
    default:
      return { kind: 'other', type: h.type, recordId: h.recordId };
  }
}
