/**
 * SDR record decoding and reading conversion: records captured from a real ipmi_sim
 * (test/fixtures/ipmi-sdr, see its README), records built here byte by byte from IPMI 2.0 §43.1
 * with expected values worked out by hand, bad vectors, and a seeded fuzz of the decoder.
 */
import { decodeIdString, decodeSdrHeader, decodeSdrRecord, type FullSensorRecord, type SdrRecord, type ThresholdName } from '../../../src/adapters/ipmi/sdr';
import { UNIT_NAMES, unitString } from '../../../src/adapters/ipmi/sdr-units';
import { convertReading, rawToX, signed, type ConversionFactors } from '../../../src/adapters/ipmi/sensor-convert';
import { decodeSensorReading, thresholdStatus } from '../../../src/adapters/ipmi/sensors';
import { BlackstartError } from '../../../src/core/errors';
import { capturedReadings, capturedRecords, parseSdrList, sdrFixture } from '../../helpers/ipmi-sdr-fixtures';
import { prng } from '../../helpers/prng';

function asFull(r: SdrRecord): FullSensorRecord {
  if (r.kind !== 'full') throw new Error(`expected a full sensor record, got ${r.kind}`);
  return r;
}

/** Record-byte offsets of §43.1 (0-based, header included); the builder writes the spec's layout. */
interface FullSpec {
  recordId?: number;
  owner?: number;
  lun?: number;
  sensorNumber?: number;
  entity?: number;
  instance?: number;
  sensorType?: number;
  readingType?: number;
  /** Sensor Units 1: format bits 7:6, rate 5:3, modifier relation 2:1, percent 0. */
  units1?: number;
  base?: number;
  modifier?: number;
  linearization?: number;
  m?: number;
  b?: number;
  tolerance?: number;
  rExp?: number;
  bExp?: number;
  flags?: number;
  nominal?: number;
  sensorMax?: number;
  sensorMin?: number;
  thresholds?: Partial<Record<ThresholdName, number>>;
  readable?: number;
  hysteresis?: [number, number];
  name?: string;
}

const T_OFF: Record<ThresholdName, number> = { unr: 36, ucr: 37, unc: 38, lnr: 39, lcr: 40, lnc: 41 };

function fullRecord(s: FullSpec): Buffer {
  const name = Buffer.from(s.name ?? 'Test', 'latin1');
  const b = Buffer.alloc(48 + name.length);
  b.writeUInt16LE(s.recordId ?? 0x10, 0);
  b[2] = 0x51;
  b[3] = 0x01;
  b[4] = b.length - 5;
  b[5] = s.owner ?? 0x20;
  b[6] = s.lun ?? 0;
  b[7] = s.sensorNumber ?? 0x30;
  b[8] = s.entity ?? 0x07;
  b[9] = s.instance ?? 1;
  b[12] = s.sensorType ?? 0x02;
  b[13] = s.readingType ?? 0x01;
  b[18] = s.readable ?? 0;
  b[20] = s.units1 ?? 0;
  b[21] = s.base ?? 4;
  b[22] = s.modifier ?? 0;
  b[23] = s.linearization ?? 0;
  const m = (s.m ?? 1) & 0x3ff;
  const bb = (s.b ?? 0) & 0x3ff;
  b[24] = m & 0xff;
  b[25] = ((m >> 8) << 6) | ((s.tolerance ?? 0) & 0x3f);
  b[26] = bb & 0xff;
  b[27] = (bb >> 8) << 6;
  b[29] = (((s.rExp ?? 0) & 0x0f) << 4) | ((s.bExp ?? 0) & 0x0f);
  b[30] = s.flags ?? 0;
  b[31] = s.nominal ?? 0;
  b[34] = s.sensorMax ?? 0xff;
  b[35] = s.sensorMin ?? 0;
  for (const [k, v] of Object.entries(s.thresholds ?? {})) b[T_OFF[k as ThresholdName]] = v;
  b[42] = s.hysteresis?.[0] ?? 0;
  b[43] = s.hysteresis?.[1] ?? 0;
  b[47] = 0xc0 | name.length;
  name.copy(b, 48);
  return b;
}

const factors = (f: Partial<ConversionFactors>): ConversionFactors => ({ format: 'unsigned', linearization: 'linear', m: 1, b: 0, bExp: 0, rExp: 0, ...f });

describe('captured ipmi_sim records', () => {
  const recs = capturedRecords();
  const decoded = recs.map((r) => decodeSdrRecord(r.bytes));

  test('the repository holds an MC locator and two full sensors, ids as the walk saw them', () => {
    expect(decoded.map((r) => [r.kind, r.type, r.recordId])).toEqual([
      ['other', 0x12, 1],
      ['full', 0x01, 2],
      ['full', 0x01, 3],
    ]);
    expect(recs.map((r) => r.recordId)).toEqual(decoded.map((r) => r.recordId));
  });

  test('CPU Temp: identity, units, factors and the three upper thresholds the SDR declares', () => {
    const t = asFull(decoded[1]!);
    expect(t).toMatchObject({ name: 'CPU Temp', ownerId: 0x20, ownerLun: 0, sensorNumber: 1, sensorType: 0x01, sensorTypeName: 'Temperature', entityId: 7, entityInstance: 1, isThreshold: true });
    expect(t.units).toMatchObject({ format: 'unsigned', base: 1, text: 'degrees C', percent: false, modifierRelation: 'none', rate: 'none' });
    expect(t.factors).toEqual({ format: 'unsigned', linearization: 'linear', m: 1, b: 0, rExp: 0, bExp: 0 });
    expect(t.thresholds).toEqual({ unc: 70, ucr: 80, unr: 90 });
    expect(t.sensorMax).toBe(255);
    expect(t.sensorMin).toBe(0);
  });

  test('Fan 1: m=50 scales raw thresholds and range into RPM; only lower thresholds are readable', () => {
    const f = asFull(decoded[2]!);
    expect(f).toMatchObject({ name: 'Fan 1', sensorNumber: 2, sensorTypeName: 'Fan', entityId: 0x1d });
    expect(f.units.text).toBe('RPM');
    expect(f.factors.m).toBe(50);
    expect(f.thresholdsRaw).toEqual({ lnc: 10, lcr: 8, lnr: 6 });
    expect(f.thresholds).toEqual({ lnc: 500, lcr: 400, lnr: 300 });
    expect(f.sensorMax).toBe(255 * 50);
  });

  test.each(['normal', 'critical', 'noncritical', 'fan-low'])('readings %s convert to what ipmitool sdr list printed', (scenario) => {
    const readings = capturedReadings(`readings-${scenario}.txt`);
    const listed = parseSdrList(sdrFixture(`sdr-list-${scenario}.txt`));
    const sensors = decoded.filter((r): r is FullSensorRecord => r.kind === 'full');
    expect(listed.map((l) => l.name)).toEqual(sensors.map((s) => s.name));
    for (const s of sensors) {
      const rsp = readings.get(s.sensorNumber);
      if (!Buffer.isBuffer(rsp)) throw new Error(`no reading captured for sensor ${s.sensorNumber}`);
      const r = decodeSensorReading(rsp, s);
      const l = listed.find((x) => x.name === s.name)!;
      expect({ value: r.value, unit: s.units.text, status: r.status }).toEqual({ value: l.value, unit: l.unit, status: l.status });
    }
  });
});

describe('conversion, hand-computed', () => {
  test.each<[string, Partial<ConversionFactors>, number, number]>([
    // 12 V rail: M=63, Rexp=-3: 63·190 = 11970 → 11.970
    ['M=63 Rexp=-3', { m: 63, rExp: -3 }, 190, 11.97],
    // negative M and B: (−2·10 + −5·10²)·10⁻¹ = (−20 − 500)/10 = −52
    ['M=-2 B=-5 Bexp=2 Rexp=-1', { m: -2, b: -5, bExp: 2, rExp: -1 }, 10, -52],
    // positive Rexp: 1·5·10² = 500
    ['Rexp=+2', { rExp: 2 }, 5, 500],
    // negative Bexp: 10 + 25·10⁻¹ = 12.5
    ['B=25 Bexp=-1', { b: 25, bExp: -1 }, 10, 12.5],
    // two's complement: 0xF6 = −10
    ["2's complement 0xF6", { format: 'twos-complement' }, 0xf6, -10],
    // two's complement 0x80 = −128; ·5·10⁻¹ = −64
    ["2's complement 0x80 M=5 Rexp=-1", { format: 'twos-complement', m: 5, rExp: -1 }, 0x80, -64],
    // one's complement: 0xF6 = ~0x09 → −9; 0xFF is −0 → 0
    ["1's complement 0xF6", { format: 'ones-complement' }, 0xf6, -9],
    ["1's complement 0xFF", { format: 'ones-complement' }, 0xff, 0],
    ["1's complement 0x7F", { format: 'ones-complement' }, 0x7f, 127],
    // M<0 at x=0 is 0, not −0
    ['M=-1 x=0', { m: -1 }, 0, 0],
    // non-linear L applied after the linear part
    ['ln(e^0)=0 via raw 1', { linearization: 'ln' }, 1, 0],
    ['log10(100)', { linearization: 'log10' }, 100, 2],
    ['log2(8)', { linearization: 'log2' }, 8, 3],
    ['e^0', { linearization: 'e' }, 0, 1],
    ['10^2', { linearization: 'exp10' }, 2, 100],
    ['2^10', { linearization: 'exp2' }, 10, 1024],
    ['1/4', { linearization: '1/x' }, 4, 0.25],
    ['(12·10⁻¹)² = 1.44', { linearization: 'sqr', rExp: -1 }, 12, 1.44],
    ['3³', { linearization: 'cube' }, 3, 27],
    ['√64', { linearization: 'sqrt' }, 64, 8],
    ['∛27', { linearization: 'cube-root' }, 27, 3],
    // 1/x of (0.5·2)·… : M=5, Rexp=-1, raw 20 → 10 → 1/10 = 0.1
    ['1/(5·20·10⁻¹)', { linearization: '1/x', m: 5, rExp: -1 }, 20, 0.1],
  ])('%s', (_name, f, raw, expected) => {
    const v = convertReading(factors(f), raw);
    expect(v).not.toBeNull();
    expect(v!).toBeCloseTo(expected, 10);
    if (expected === 0) expect(Object.is(v, -0)).toBe(false);
  });

  test.each<[string, Partial<ConversionFactors>, number]>([
    ['no analog reading', { format: 'none' }, 10],
    ['ln(0)', { linearization: 'ln' }, 0],
    ['1/0', { linearization: '1/x' }, 0],
    ['sqrt of a negative', { linearization: 'sqrt', format: 'twos-complement' }, 0xff],
    ['non-linear needs per-reading factors', { linearization: 'non-linear' }, 10],
  ])('%s has no value', (_n, f, raw) => {
    expect(convertReading(factors(f), raw)).toBeNull();
  });

  test('decimal exponents do not leave binary noise (45.3, not 45.300000000000004)', () => {
    expect(convertReading(factors({ m: 3, rExp: -1 }), 151)).toBe(45.3);
    expect(convertReading(factors({ m: 3, rExp: -2 }), 7)).toBe(0.21);
  });

  test('signed fields sign-extend', () => {
    expect([signed(0x3ff, 10), signed(0x200, 10), signed(0x1ff, 10), signed(0x8, 4), signed(0x7, 4)]).toEqual([-1, -512, 511, -8, 7]);
    expect(rawToX(0x80, 'ones-complement')).toBe(-127);
  });

  test('a built record carries its factors through: M=-2 B=-5 Bexp=2 Rexp=-1, negative thresholds, hysteresis', () => {
    const r = asFull(
      decodeSdrRecord(
        fullRecord({
          m: -2,
          b: -5,
          bExp: 2,
          rExp: -1,
          tolerance: 3,
          readable: 0x3f,
          flags: 0x01,
          nominal: 10,
          // (−2·x − 500)/10: x=0 → −50, x=5 → −51, x=20 → −54
          thresholds: { unr: 0, ucr: 5, unc: 20, lnr: 250, lcr: 200, lnc: 100 },
          hysteresis: [2, 4],
        }),
      ),
    );
    expect(r.factors).toMatchObject({ m: -2, b: -5, bExp: 2, rExp: -1 });
    expect(r.thresholds).toEqual({ unr: -50, ucr: -51, unc: -54, lnr: -100, lcr: -90, lnc: -70 });
    expect(r.nominal).toBe(-52);
    expect(r.normalMax).toBeNull();
    // amounts: |M|·n·10^Rexp → 2·2/10 = 0.4, 2·4/10 = 0.8; tolerance ±½ step: 2·3/10/2 = 0.3
    expect(r.hysteresis.positive).toBeCloseTo(0.4, 10);
    expect(r.hysteresis.negative).toBeCloseTo(0.8, 10);
    expect(r.tolerance.value).toBeCloseTo(0.3, 10);
  });

  test('thresholds not marked readable are not reported, and non-threshold sensors report none', () => {
    const r = asFull(decodeSdrRecord(fullRecord({ readable: 0x10, thresholds: { ucr: 99, unr: 120 } })));
    expect(r.thresholds).toEqual({ ucr: 99 });
    const d = asFull(decodeSdrRecord(fullRecord({ readingType: 0x6f, readable: 0x3f, thresholds: { ucr: 99 } })));
    expect(d.isThreshold).toBe(false);
    expect(d.thresholds).toEqual({});
  });

  test('units byte 1 fields: format, rate, modifier relation, percent; owner LUN and channel', () => {
    const r = asFull(decodeSdrRecord(fullRecord({ units1: (0b10 << 6) | (3 << 3) | (0b01 << 1) | 1, base: 17, modifier: 23, lun: 0x32 })));
    expect(r.units).toMatchObject({ format: 'twos-complement', rate: 'per s', modifierRelation: 'divide', percent: true, text: '% CFM/minute' });
    expect(r.ownerLun).toBe(2);
    expect(r.channel).toBe(3);
  });
});

describe('unit strings as ipmitool prints them', () => {
  test('base table: 93 codes, the common ones by number', () => {
    expect(UNIT_NAMES).toHaveLength(93);
    expect([1, 2, 4, 5, 6, 18, 19, 22, 65, 92].map((c) => unitString(false, 'none', c, 0))).toEqual([
      'degrees C', 'degrees F', 'Volts', 'Amps', 'Watts', 'RPM', 'Hz', 'second', 'color temp deg K', 'grams',
    ]);
  });
  test('percent, relations, out-of-range codes', () => {
    expect(unitString(true, 'none', 0, 0)).toBe('percent');
    expect(unitString(true, 'none', 6, 0)).toBe('% Watts');
    expect(unitString(false, 'multiply', 6, 24)).toBe('Watts*hour');
    expect(unitString(false, 'divide', 4, 22)).toBe('Volts/second');
    expect(unitString(false, 'none', 200, 0)).toBe('invalid');
  });
});

describe('threshold status of Get Sensor Reading byte 3', () => {
  test.each<[number, string]>([
    [0x00, 'ok'],
    [0x01, 'nc'], // below LNC
    [0x08, 'nc'], // above UNC
    [0x02, 'cr'], // below LCR
    [0x18, 'cr'], // above UNC and UCR (CPU Temp at 85 on ipmi_sim)
    [0x04, 'nr'], // below LNR
    [0x06, 'nr'], // below LCR and LNR (Fan 1 at raw 7)
    [0x38, 'nr'], // above everything
    [0x0b, 'cr'], // LNC + LCR + UNC: the worst wins
    [0xc0, 'ok'], // bits 7:6 are reserved
  ])('bits %d → %s', (bits, status) => {
    expect(thresholdStatus(bits)).toBe(status);
  });

  const temp = asFull(decodeSdrRecord(capturedRecords()[1]!.bytes));
  test('scanning disabled, reading unavailable and a short response are "ns" with no value', () => {
    expect(decodeSensorReading(Buffer.from([0x2d, 0x80, 0x00]), temp)).toMatchObject({ status: 'ns', value: null, reason: 'sensor scanning disabled' });
    expect(decodeSensorReading(Buffer.from([0x2d, 0xe0, 0x00]), temp)).toMatchObject({ status: 'ns', value: null, reason: 'reading unavailable' });
    expect(decodeSensorReading(Buffer.from([0x2d]), temp)).toMatchObject({ status: 'ns', value: null });
  });
  test('a reading without byte 3 is ok; crossed thresholds are listed by name', () => {
    expect(decodeSensorReading(Buffer.from([0x2d, 0xc0]), temp)).toMatchObject({ status: 'ok', value: 45, crossed: [] });
    expect(decodeSensorReading(Buffer.from([0x55, 0xc0, 0x18]), temp)).toMatchObject({ status: 'cr', value: 85, crossed: ['unc', 'ucr'] });
  });
});

describe('ID strings', () => {
  test('6-bit packed: "ABC1" is 0xA1 0x38 0x46', () => {
    // 6-bit codes are ASCII−0x20: A=0x21 B=0x22 C=0x23 1=0x11, packed LSB first:
    // byte0 = 0x21 | (0x22<<6)&0xff = 0xA1; byte1 = 0x22>>2 | (0x23<<4)&0xff = 0x38; byte2 = 0x23>>4 | 0x11<<2 = 0x46
    expect(decodeIdString(Buffer.from([0x83, 0xa1, 0x38, 0x46]), 0, 1)).toBe('ABC1');
  });
  test('BCD plus: nibbles 1 2 b 3 c 4 read "12-3.4"', () => {
    expect(decodeIdString(Buffer.from([0x43, 0x12, 0xb3, 0xc4]), 0, 1)).toBe('12-3.4');
  });
  test('8-bit: cut at NUL and trailing blanks', () => {
    expect(decodeIdString(Buffer.from([0xc6, 0x46, 0x61, 0x6e, 0x20, 0x00, 0x41]), 0, 1)).toBe('Fan');
  });
});

describe('compact and event-only records', () => {
  test('compact (0x02): identity, units and a 6-bit name; no conversion', () => {
    const b = Buffer.alloc(32 + 3);
    b.writeUInt16LE(0x0042, 0);
    b[2] = 0x51;
    b[3] = 0x02;
    b[4] = b.length - 5;
    b[5] = 0x20;
    b[7] = 0x11;
    b[8] = 0x0a;
    b[9] = 0x82; // logical entity, instance 2
    b[12] = 0x08; // power supply
    b[13] = 0x6f;
    b[20] = 0xc0; // no analog reading
    b[31] = 0x83;
    Buffer.from([0xa1, 0x38, 0x46]).copy(b, 32);
    const r = decodeSdrRecord(b);
    expect(r).toMatchObject({ kind: 'compact', recordId: 0x42, sensorNumber: 0x11, entityId: 0x0a, entityInstance: 2, logicalEntity: true, sensorTypeName: 'Power Supply', eventReadingType: 0x6f, name: 'ABC1' });
    expect(r.kind === 'compact' && r.units.format).toBe('none');
  });
  test('event-only (0x03): sensor type and name at their own offsets', () => {
    const name = Buffer.from('Watchdog');
    const b = Buffer.alloc(17 + name.length);
    b.writeUInt16LE(0x0007, 0);
    b[2] = 0x51;
    b[3] = 0x03;
    b[4] = b.length - 5;
    b[5] = 0x20;
    b[7] = 0x00;
    b[10] = 0x23;
    b[11] = 0x6f;
    b[16] = 0xc0 | name.length;
    name.copy(b, 17);
    expect(decodeSdrRecord(b)).toMatchObject({ kind: 'event-only', recordId: 7, sensorType: 0x23, sensorTypeName: 'Watchdog2', name: 'Watchdog' });
  });
  test.each([0x11, 0x12, 0x13, 0x14, 0xc0])('type %d is kept as {type, recordId}', (type) => {
    const b = Buffer.from([0x09, 0x00, 0x51, type, 0x03, 0xaa, 0xbb, 0xcc]);
    expect(decodeSdrRecord(b)).toEqual({ kind: 'other', type, recordId: 9 });
  });
});

describe('bad records', () => {
  const temp = capturedRecords()[1]!.bytes;
  const protocolError = (fn: () => unknown, ...parts: (string | RegExp)[]): void => {
    let caught: unknown;
    try {
      fn();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(BlackstartError);
    expect((caught as BlackstartError).code).toBe('PROTOCOL');
    for (const p of parts) expect((caught as Error).message).toMatch(p);
  };

  test('a record cut short names its id and the length byte', () => {
    protocolError(() => decodeSdrRecord(temp.subarray(0, 30)), 'SDR record 0x0002', 'offset 4', /says 51 bytes.*got 25/);
  });
  test('a length byte larger or smaller than the bytes', () => {
    const longer = Buffer.from(temp);
    longer[4] = longer[4]! + 1;
    protocolError(() => decodeSdrRecord(longer), 'SDR record 0x0002', 'length byte');
    const trailing = Buffer.concat([temp, Buffer.from([0])]);
    protocolError(() => decodeSdrRecord(trailing), 'SDR record 0x0002', 'length byte');
  });
  test('a full record too short for its fixed fields', () => {
    const b = Buffer.from(temp.subarray(0, 40));
    b[4] = 35;
    protocolError(() => decodeSdrRecord(b), 'SDR record 0x0002', 'full sensor record needs at least 48 bytes');
  });
  test('an ID string longer than the record', () => {
    const b = Buffer.from(temp);
    b[47] = 0xcf;
    protocolError(() => decodeSdrRecord(b), 'SDR record 0x0002 at offset 47', 'ID string length byte says 15 bytes');
  });
  test('a header under 5 bytes', () => {
    protocolError(() => decodeSdrHeader(Buffer.from([1, 0, 0x51])), 'SDR record 0x0001', 'header needs 5 bytes');
    protocolError(() => decodeSdrRecord(Buffer.alloc(0)), 'SDR record', 'got 0');
  });
});

describe('fuzz', () => {
  test('4000 seeded inputs: each decodes or throws BlackstartError, values finite or null', () => {
    const rnd = prng(0x5d12);
    const types = [0x01, 0x02, 0x03, 0x11, 0x12, 0xc0, 0x01, 0x01];
    const real = capturedRecords().map((r) => r.bytes);
    let decoded = 0;
    for (let i = 0; i < 4000; i++) {
      let b: Buffer;
      const mode = i % 3;
      if (mode === 0) {
        b = Buffer.from(Array.from({ length: Math.floor(rnd() * 80) }, () => Math.floor(rnd() * 256)));
      } else if (mode === 1) {
        // Plausible header: length byte consistent, type a sensor type, so the field decoders run.
        const len = Math.floor(rnd() * 70);
        b = Buffer.from(Array.from({ length: 5 + len }, () => Math.floor(rnd() * 256)));
        b[3] = types[Math.floor(rnd() * types.length)]!;
        b[4] = len;
      } else {
        // Mutations of real records: flipped bytes, truncation.
        b = Buffer.from(real[Math.floor(rnd() * real.length)]!);
        for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
        if (rnd() < 0.3) b = b.subarray(0, Math.floor(rnd() * b.length));
      }
      try {
        const r = decodeSdrRecord(b);
        decoded++;
        if (r.kind === 'full') {
          for (const v of [r.sensorMax, r.sensorMin, r.nominal, ...Object.values(r.thresholds)]) {
            if (v !== null) expect(Number.isFinite(v)).toBe(true);
          }
          expect(typeof r.units.text).toBe('string');
          const reading = decodeSensorReading(Buffer.from([Math.floor(rnd() * 256), Math.floor(rnd() * 256), Math.floor(rnd() * 256)]), r);
          expect(['ok', 'nc', 'cr', 'nr', 'ns']).toContain(reading.status);
        }
      } catch (err) {
        if (!(err instanceof BlackstartError)) throw new Error(`input ${i} (${b.toString('hex')}) threw ${String(err)}`, { cause: err });
        expect(err.code).toBe('PROTOCOL');
      }
    }
    // The fuzz must reach the field decoders, not only the length check.
    expect(decoded).toBeGreaterThan(500);
  });
});
