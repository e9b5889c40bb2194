/**
 * SensorReader against fake BMCs built from the bytes captured from ipmi_sim
 * (test/fixtures/ipmi-sdr): a byte-exact replay of ipmitool's own walk, and a model BMC that
 * serves those records with a response-size limit, reservations that someone else can cancel,
 * broken next-record chains and failing sensors.
 */
import { decodeSdrRecord } from '../../../src/adapters/ipmi/sdr';
import { SensorReader, type IpmiRequest } from '../../../src/adapters/ipmi/sensors';
import { BlackstartError } from '../../../src/core/errors';
import { prng } from '../../helpers/prng';
import { rejection } from '../../helpers/rejection';
import { capturedReadings, capturedRecords, parseSdrList, sdrFixture, transcript } from '../../helpers/ipmi-sdr-fixtures';

class CompletionError extends BlackstartError {
  constructor(readonly completionCode: number) {
    super('PROTOCOL', `completion code 0x${completionCode.toString(16)}`);
  }
}

interface Call {
  netFn: number;
  cmd: number;
  data: number[];
  lun: number;
  cc?: number;
}

/** A BMC holding SDR records and sensor answers, strict the way ipmi_sim is (see the README). */
class FakeBmc {
  records: Buffer[] = capturedRecords().map((r) => Buffer.from(r.bytes));
  readings = capturedReadings('readings-normal.txt');
  /** Get SDR answers 0xCA when asked for more data bytes than this. */
  maxRead = 32;
  reservation = 0;
  lastAddition = 0x6b0466c2;
  calls: Call[] = [];
  /** Called before each Get SDR; may cancel the reservation as another client's reserve would. */
  beforeGetSdr: (n: number) => void = () => undefined;
  /** Next-record id override: record id → next id. */
  next = new Map<number, number>();
  getSdrCount = 0;

  private idOf(b: Buffer): number {
    return b.readUInt16LE(0);
  }

  nextOf(i: number): number {
    const id = this.idOf(this.records[i]!);
    return this.next.get(id) ?? (i + 1 < this.records.length ? this.idOf(this.records[i + 1]!) : 0xffff);
  }

  request: IpmiRequest = async (netFn, cmd, data = [], opts = {}) => {
    const d = [...data];
    const call: Call = { netFn, cmd, data: d, lun: opts.lun ?? 0 };
    this.calls.push(call);
    const fail = (cc: number): never => {
      call.cc = cc;
      throw new CompletionError(cc);
    };
    await Promise.resolve();
    if (netFn === 0x0a && cmd === 0x20) {
      const b = Buffer.alloc(14);
      b[0] = 0x51;
      b.writeUInt16LE(this.records.length, 1);
      b.writeUInt16LE(0xfffe, 3);
      b.writeUInt32LE(this.lastAddition, 5);
      b[13] = 0x02;
      return b;
    }
    if (netFn === 0x0a && cmd === 0x22) {
      this.reservation = (this.reservation + 1) & 0xffff || 1;
      return Buffer.from([this.reservation & 0xff, this.reservation >> 8]);
    }
    if (netFn === 0x0a && cmd === 0x23) {
      this.beforeGetSdr(this.getSdrCount++);
      if (d.length !== 6) return fail(0xc7);
      const [rl, rh, il, ih, offset, count] = d as [number, number, number, number, number, number];
      if ((rl | (rh << 8)) !== this.reservation) return fail(0xc5);
      const id = il | (ih << 8);
      const i = id === 0 ? 0 : id === 0xffff ? this.records.length - 1 : this.records.findIndex((r) => this.idOf(r) === id);
      const rec = this.records[i];
      if (!rec) return fail(0xcb);
      if (count > this.maxRead) return fail(0xca);
      const nx = this.nextOf(i);
      return Buffer.concat([Buffer.from([nx & 0xff, nx >> 8]), rec.subarray(offset, offset + count)]);
    }
    if (netFn === 0x04 && cmd === 0x2d) {
      const r = this.readings.get(d[0]!);
      if (!r) return fail(0xcb);
      if (!Buffer.isBuffer(r)) return fail(r.completionCode);
      return Buffer.from(r);
    }
    return fail(0xc1);
  };

  count(netFn: number, cmd: number): number {
    return this.calls.filter((c) => c.netFn === netFn && c.cmd === cmd).length;
  }
}

const expectedRecords = () => capturedRecords().map((r) => decodeSdrRecord(r.bytes));

describe('repository walk', () => {
  test('replays ipmitool\'s captured walk byte for byte with 16-byte chunks', async () => {
    const walk = transcript('walk.txt');
    let i = 0;
    const replay: IpmiRequest = async (netFn, cmd, data = []) => {
      const e = walk[i++];
      if (!e) throw new Error('the reader asked for more than ipmitool did');
      expect([netFn, cmd, ...data]).toEqual([e.netFn, e.cmd, ...e.data]);
      if (!Buffer.isBuffer(e.response)) throw new CompletionError(e.response.completionCode);
      return e.response;
    };
    const records = await new SensorReader(replay, { chunkSize: 16 }).sdr();
    expect(i).toBe(walk.length);
    expect(records).toEqual(expectedRecords());
  });

  test.each([1, 5, 7, 16, 24, 32])('chunk size %d reassembles the same records', async (chunkSize) => {
    const bmc = new FakeBmc();
    const records = await new SensorReader(bmc.request, { chunkSize }).sdr();
    expect(records).toEqual(expectedRecords());
    const bodyReads = bmc.calls.filter((c) => c.cmd === 0x23 && c.data[4] !== 0);
    expect(Math.max(...bodyReads.map((c) => c.data[5]!))).toBeLessThanOrEqual(chunkSize);
    // header read + ceil(body / chunk) per record
    const expected = bmc.records.reduce((n, r) => n + 1 + Math.ceil((r.length - 5) / chunkSize), 0);
    expect(bmc.count(0x0a, 0x23)).toBe(expected);
  });

  test('0xCA shrinks the chunk until the BMC answers, and the smaller size sticks', async () => {
    const bmc = new FakeBmc();
    bmc.maxRead = 10;
    const reader = new SensorReader(bmc.request, { chunkSize: 24 });
    expect(await reader.sdr()).toEqual(expectedRecords());
    expect(reader.chunkSize).toBeLessThanOrEqual(10);
    const refused = bmc.calls.filter((c) => c.cc === 0xca);
    // Record 1's body is 17 bytes: 17 refused, then 12, then 6 works.
    expect(refused.map((c) => c.data[5])).toEqual([17, 12]);
    expect(reader.chunkSize).toBe(6);
    // Bytes are not lost across the retries: every body offset is asked for once it succeeds.
    const ok = bmc.calls.filter((c) => c.cmd === 0x23 && c.cc === undefined);
    expect(ok.every((c) => c.data[5]! <= 10)).toBe(true);
  });

  test('a BMC that cannot return even one byte is a PROTOCOL error, not a hang', async () => {
    const bmc = new FakeBmc();
    bmc.maxRead = 0;
    const err = await rejection(new SensorReader(bmc.request).sdr());
    expect(err.code).toBe('PROTOCOL');
  });

  test('0xC5 mid-record: re-reserve and restart that record from its header', async () => {
    const bmc = new FakeBmc();
    // Another client reserves just before our 8th Get SDR (inside record 2's body).
    bmc.beforeGetSdr = (n) => {
      if (n === 7) bmc.reservation++;
    };
    const reader = new SensorReader(bmc.request, { chunkSize: 16 });
    expect(await reader.sdr()).toEqual(expectedRecords());
    expect(bmc.count(0x0a, 0x22)).toBe(2);
    const gets = bmc.calls.filter((c) => c.cmd === 0x23);
    const failed = gets.findIndex((c) => c.cc === 0xc5);
    expect(failed).toBe(7);
    const failedId = gets[failed]!.data[2];
    // The next Get SDR is that record's header again, under the new reservation.
    expect(gets[failed + 1]!.data).toEqual([bmc.reservation & 0xff, bmc.reservation >> 8, failedId, 0, 0, 5]);
  });

  test('a reservation cancelled every time gives up with BUSY naming the record', async () => {
    const bmc = new FakeBmc();
    bmc.beforeGetSdr = () => bmc.reservation++;
    const err = await rejection(new SensorReader(bmc.request, { maxReservations: 3 }).sdr());
    expect(err.code).toBe('BUSY');
    expect(err.message).toMatch(/record 0x0000: reservation cancelled 4 times/);
    expect(bmc.count(0x0a, 0x22)).toBe(4);
  });

  test('a next-record chain that loops is a PROTOCOL error naming the record', async () => {
    const bmc = new FakeBmc();
    bmc.next.set(3, 2);
    const err = await rejection(new SensorReader(bmc.request).sdr());
    expect(err.code).toBe('PROTOCOL');
    expect(err.message).toMatch(/record 0x0002 comes round again/);
  });

  test('a chain leading back to the first record (asked for as id 0) is caught on its real id', async () => {
    const bmc = new FakeBmc();
    bmc.next.set(3, 1);
    const err = await rejection(new SensorReader(bmc.request).sdr());
    expect(err.message).toMatch(/record 0x0001 comes round again/);
    expect(bmc.calls.filter((c) => c.cmd === 0x23 && c.data[4] === 0)).toHaveLength(3);
  });

  test('a chain longer than the record limit (a repository that never ends) stops at the limit', async () => {
    const bmc = new FakeBmc();
    const template = bmc.records[2]!;
    // Every record points at a fresh id, as a BMC with a corrupt chain might.
    bmc.records = Array.from({ length: 300 }, (_, k) => {
      const r = Buffer.from(template);
      r.writeUInt16LE(k + 1, 0);
      return r;
    });
    const err = await rejection(new SensorReader(bmc.request, { maxRecords: 50 }).sdr());
    expect(err.code).toBe('PROTOCOL');
    expect(err.message).toMatch(/more than 50 records/);
    expect(bmc.count(0x0a, 0x23)).toBeLessThan(50 * 10);
  });

  test('a BMC returning no bytes mid-record is a PROTOCOL error with id and offset', async () => {
    const bmc = new FakeBmc();
    const real = bmc.request;
    bmc.request = async (netFn, cmd, data, opts) => {
      const rsp = await real(netFn, cmd, data, opts);
      const d = [...(data ?? [])];
      return cmd === 0x23 && d[2] === 2 && d[4] === 21 ? rsp.subarray(0, 2) : rsp;
    };
    const err = await rejection(new SensorReader(bmc.request, { chunkSize: 16 }).sdr());
    expect(err.message).toMatch(/record 0x0002 at offset 21: no bytes returned/);
  });

  test('short answers (fewer bytes than asked) are continued from where they stop', async () => {
    const bmc = new FakeBmc();
    const real = bmc.request;
    bmc.request = async (netFn, cmd, data, opts) => {
      const rsp = await real(netFn, cmd, data, opts);
      return cmd === 0x23 && [...(data ?? [])][4] !== 0 ? rsp.subarray(0, Math.min(rsp.length, 2 + 3)) : rsp;
    };
    expect(await new SensorReader(bmc.request, { chunkSize: 16 }).sdr()).toEqual(expectedRecords());
  });

  test('a record the decoder refuses fails the walk with the record id and the BMC named', async () => {
    const bmc = new FakeBmc();
    bmc.records[1]![47] = 0xcf; // CPU Temp's name claims 15 bytes; the record has 8
    const err = await rejection(new SensorReader(bmc.request, { where: '10.0.0.5:623' }).sdr());
    expect(err.code).toBe('PROTOCOL');
    expect(err.message).toMatch(/SDR record 0x0002 at offset 47: ID string.*\(10\.0\.0\.5:623\)$/);
  });

  test('an empty repository needs no reservation', async () => {
    const bmc = new FakeBmc();
    bmc.records = [];
    expect(await new SensorReader(bmc.request).read()).toEqual({});
    expect(bmc.count(0x0a, 0x22)).toBe(0);
  });
});

describe('cache', () => {
  test('kept while the repository info is unchanged; walked again when its addition time moves', async () => {
    const bmc = new FakeBmc();
    const reader = new SensorReader(bmc.request);
    await reader.read();
    const walks = (): number => bmc.count(0x0a, 0x22);
    expect(walks()).toBe(1);
    await reader.read();
    expect(walks()).toBe(1);
    bmc.lastAddition++;
    await reader.read();
    expect(walks()).toBe(2);
    reader.invalidate();
    await reader.sdr();
    expect(walks()).toBe(3);
  });

  test('concurrent callers share one walk', async () => {
    const bmc = new FakeBmc();
    const reader = new SensorReader(bmc.request);
    const [a, b] = await Promise.all([reader.sdr(), reader.read()]);
    expect(a).toEqual(expectedRecords());
    expect(Object.keys(b)).toEqual(['CPU Temp', 'Fan 1']);
    expect(bmc.count(0x0a, 0x22)).toBe(1);
  });
});

describe('readings', () => {
  test.each(['normal', 'critical', 'noncritical', 'fan-low'])('%s: equal to what ipmitool sdr list printed', async (scenario) => {
    const bmc = new FakeBmc();
    bmc.readings = capturedReadings(`readings-${scenario}.txt`);
    const got = await new SensorReader(bmc.request).read();
    const want = Object.fromEntries(parseSdrList(sdrFixture(`sdr-list-${scenario}.txt`)).map((l) => [l.name, { value: l.value, unit: l.unit, status: l.status }]));
    expect(got).toEqual(want);
  });

  test('the detailed form carries raw value, thresholds and identity', async () => {
    const bmc = new FakeBmc();
    bmc.readings = capturedReadings('readings-critical.txt');
    const [temp, fan] = await new SensorReader(bmc.request).readDetailed();
    expect(temp).toMatchObject({ key: 'CPU Temp', raw: 85, value: 85, status: 'cr', crossed: ['unc', 'ucr'], thresholds: { unc: 70, ucr: 80, unr: 90 }, sensorTypeName: 'Temperature', entityId: 7, recordId: 2 });
    expect(fan).toMatchObject({ key: 'Fan 1', raw: 7, value: 350, status: 'nr', crossed: ['lcr', 'lnr'], thresholds: { lnc: 500, lcr: 400, lnr: 300 } });
  });

  test('one sensor answering a completion code is "ns"; the others are read', async () => {
    const bmc = new FakeBmc();
    bmc.readings.set(1, { completionCode: 0xcb });
    const got = await new SensorReader(bmc.request).readDetailed();
    expect(got[0]).toMatchObject({ key: 'CPU Temp', value: null, status: 'ns', reason: 'Get Sensor Reading: completion code 0xcb' });
    expect(got[1]).toMatchObject({ key: 'Fan 1', value: 3000, status: 'ok' });
  });

  test('scanning disabled and reading unavailable are "ns"', async () => {
    const bmc = new FakeBmc();
    bmc.readings.set(1, Buffer.from([0x2d, 0x80, 0x00]));
    bmc.readings.set(2, Buffer.from([0x3c, 0xe0, 0x00]));
    expect(await new SensorReader(bmc.request).read()).toEqual({
      'CPU Temp': { value: null, unit: 'degrees C', status: 'ns' },
      'Fan 1': { value: null, unit: 'RPM', status: 'ns' },
    });
  });

  test('a failure of the link itself rejects the sweep instead of reporting every sensor "ns"', async () => {
    const bmc = new FakeBmc();
    const real = bmc.request;
    bmc.request = (netFn, cmd, data, opts) => (netFn === 0x04 ? Promise.reject(new BlackstartError('TIMEOUT', 'no answer')) : real(netFn, cmd, data, opts));
    expect((await rejection(new SensorReader(bmc.request).read())).code).toBe('TIMEOUT');
  });

  test('names shared by sensors are suffixed with the sensor number; LUN goes with the request; foreign owners are not read', async () => {
    const bmc = new FakeBmc();
    const fan = bmc.records[2]!;
    const twin = Buffer.from(fan);
    twin.writeUInt16LE(4, 0);
    twin[6] = 0x01; // LUN 1
    twin[7] = 0x05; // sensor 5
    const foreign = Buffer.from(fan);
    foreign.writeUInt16LE(5, 0);
    foreign[5] = 0x2c; // owned by another controller (e.g. an ME at 0x2c)
    foreign[7] = 0x06;
    bmc.records.push(twin, foreign);
    bmc.readings.set(5, Buffer.from([0x14, 0xc0, 0x00]));
    bmc.readings.set(6, Buffer.from([0x14, 0xc0, 0x00]));
    const got = await new SensorReader(bmc.request).read();
    expect(got).toEqual({
      'CPU Temp': { value: 45, unit: 'degrees C', status: 'ok' },
      'Fan 1 #2': { value: 3000, unit: 'RPM', status: 'ok' },
      'Fan 1 #5': { value: 1000, unit: 'RPM', status: 'ok' },
      'Fan 1 #6': { value: null, unit: 'RPM', status: 'ns' },
    });
    const reads = bmc.calls.filter((c) => c.netFn === 0x04);
    expect(reads.map((c) => [c.data[0], c.lun])).toEqual([
      [1, 0],
      [2, 0],
      [5, 1],
    ]);
  });
});

describe('fuzz', () => {
  test('300 seeded BMCs answering garbage: every sweep resolves or rejects with a BlackstartError, in bounded requests', async () => {
    const rnd = prng(0xb5d12);
    const byte = (): number => Math.floor(rnd() * 256);
    let resolved = 0;
    for (let i = 0; i < 300; i++) {
      let calls = 0;
      const request: IpmiRequest = async (netFn, cmd) => {
        calls++;
        if (rnd() < 0.08) throw new CompletionError([0xc5, 0xca, 0xcb, 0xcc, 0xc0][Math.floor(rnd() * 5)]!);
        if (netFn === 0x0a && cmd === 0x20) {
          const b = Buffer.from(Array.from({ length: 14 }, byte));
          b[1] = 1 + (b[1]! % 8);
          return rnd() < 0.05 ? b.subarray(0, 5) : b;
        }
        if (netFn === 0x0a && cmd === 0x23) {
          // Mostly plausible: a small next id (so chains loop or end) and a sensor record type.
          const b = Buffer.from(Array.from({ length: 2 + Math.floor(rnd() * 30) }, byte));
          if (rnd() < 0.7) b.writeUInt16LE(rnd() < 0.2 ? 0xffff : Math.floor(rnd() * 6), 0);
          if (b.length >= 7 && rnd() < 0.7) {
            b[5] = [1, 2, 3, 0x12][Math.floor(rnd() * 4)]!;
            b[6] = 20 + Math.floor(rnd() * 50);
          }
          return b;
        }
        return Buffer.from(Array.from({ length: Math.floor(rnd() * 5) }, byte));
      };
      try {
        const readings = await new SensorReader(request, { maxRecords: 64, chunkSize: 1 + Math.floor(rnd() * 30) }).read();
        for (const v of Object.values(readings)) {
          expect(['ok', 'nc', 'cr', 'nr', 'ns']).toContain(v.status);
          if (v.value !== null) expect(Number.isFinite(v.value)).toBe(true);
        }
        resolved++;
      } catch (err) {
        if (!(err instanceof BlackstartError)) throw new Error(`BMC ${i} made the reader throw ${String(err)}`, { cause: err });
      }
      expect(calls).toBeLessThan(64 * 300);
    }
    // Some random repositories must get all the way through, or the fuzz only tests the first check.
    expect(resolved).toBeGreaterThan(0);
  });
});
