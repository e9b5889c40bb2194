/**
 * Sensors of one BMC: walks its SDR repository (Get SDR Repository Info, Reserve SDR Repository,
 * Get SDR in partial reads) and reads every full sensor (Get Sensor Reading), through an injected
 * request function, so the same code runs over the native RMCP+ client, over `ipmitool raw` in
 * tests, or over a scripted fake.
 */
import { BlackstartError } from '../../core/errors';
import {
  SDR_HEADER_BYTES,
  THRESHOLD_BITS,
  decodeSdrHeader,
  decodeSdrRecord,
  type FullSensorRecord,
  type SdrRecord,
  type ThresholdName,
} from './sdr';
import { convertReading } from './sensor-convert';

/** Sends one request and resolves with the response data after the completion code; a non-zero
 *  completion code rejects with an error carrying a numeric `completionCode`. */
export type IpmiRequest = (netFn: number, cmd: number, data?: Uint8Array | number[], opts?: { lun?: number }) => Promise<Buffer>;

export const NETFN_SENSOR = 0x04;
export const NETFN_STORAGE = 0x0a;
export const CMD = { getSensorReading: 0x2d, getSdrRepositoryInfo: 0x20, reserveSdrRepository: 0x22, getSdr: 0x23 } as const;
export const CC = { reservationCancelled: 0xc5, cannotReturnBytes: 0xca } as const;
const LAST_RECORD = 0xffff;

export type SensorStatus = 'ok' | 'nc' | 'cr' | 'nr' | 'ns';

/** What the CLI prints and what goes to `blackstart/host/<host>/sensors`. */
export interface SensorValue {
  value: number | null;
  unit: string;
  status: SensorStatus;
}
export type SensorReadings = Record<string, SensorValue>;

export interface SensorDetail extends SensorValue {
  /** The key in SensorReadings: the ID string, suffixed with " #<sensor number>" on a collision. */
  key: string;
  name: string;
  recordId: number;
  sensorNumber: number;
  ownerId: number;
  lun: number;
  sensorType: number;
  sensorTypeName: string;
  entityId: number;
  entityInstance: number;
  raw: number | null;
  /** Threshold bits set in the reading's comparison byte. */
  crossed: ThresholdName[];
  thresholds: Partial<Record<ThresholdName, number>>;
  /** Why there is no reading (status 'ns'). */
  reason?: string;
}

export interface SdrRepositoryInfo {
  version: number;
  recordCount: number;
  freeBytes: number;
  /** Seconds (BMC clock) of the most recent addition and erase; 0xFFFFFFFF when never. */
  lastAddition: number;
  lastErase: number;
  operations: number;
}

export function decodeRepositoryInfo(data: Buffer): SdrRepositoryInfo {
  if (data.length < 14) throw new BlackstartError('PROTOCOL', `Get SDR Repository Info: 14 data bytes expected, got ${data.length}`);
  return {
    version: data[0]!,
    recordCount: data.readUInt16LE(1),
    freeBytes: data.readUInt16LE(3),
    lastAddition: data.readUInt32LE(5),
    lastErase: data.readUInt32LE(9),
    operations: data[13]!,
  };
}

/** Get Sensor Reading byte 3 as a status: the worst crossed level wins (nr over cr over nc). */
export function thresholdStatus(comparison: number): Exclude<SensorStatus, 'ns'> {
  if (comparison & 0x24) return 'nr';
  if (comparison & 0x12) return 'cr';
  if (comparison & 0x09) return 'nc';
  return 'ok';
}

export interface DecodedReading {
  raw: number | null;
  value: number | null;
  status: SensorStatus;
  crossed: ThresholdName[];
  reason?: string;
}

/** A Get Sensor Reading response (§35.14) against the record it belongs to. */
export function decodeSensorReading(data: Buffer, record: FullSensorRecord): DecodedReading {
  if (data.length < 2) return { raw: null, value: null, status: 'ns', crossed: [], reason: `reading has ${data.length} data bytes, 2 expected` };
  const flags = data[1]!;
  if (!(flags & 0x40)) return { raw: null, value: null, status: 'ns', crossed: [], reason: 'sensor scanning disabled' };
  if (flags & 0x20) return { raw: null, value: null, status: 'ns', crossed: [], reason: 'reading unavailable' };
  const raw = data[0]!;
  // Byte 3 is optional for threshold sensors that report no comparison, and means something else
  // (discrete state bits) for the rest.
  const comparison = record.isThreshold ? (data[2] ?? 0) & 0x3f : 0;
  return {
    raw,
    value: convertReading(record.factors, raw),
    status: thresholdStatus(comparison),
    crossed: THRESHOLD_BITS.filter((_, bit) => comparison & (1 << bit)),
  };
}

export interface SensorReaderOptions {
  /** Body bytes asked for per Get SDR; shrunk on completion code 0xCA. */
  chunkSize?: number;
  /** A repository with more records than this is taken as one that never ends. */
  maxRecords?: number;
  /** Re-reservations allowed for one record before giving up (someone keeps changing the SDR). */
  maxReservations?: number;
  /** Sensors owned by another controller would need bridging, which this reader does not do. */
  bmcAddress?: number;
  /** Names the BMC in error messages, e.g. "10.0.0.5:623". */
  where?: string;
}

function completionCodeOf(err: unknown): number | undefined {
  const cc = (err as { completionCode?: unknown } | null)?.completionCode;
  return typeof cc === 'number' ? cc : undefined;
}

const hex2 = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;
const hex4 = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;

interface CachedSdr {
  info: SdrRepositoryInfo;
  records: SdrRecord[];
}

export class SensorReader {
  private chunk: number;
  private readonly maxRecords: number;
  private readonly maxReservations: number;
  private readonly bmcAddress: number;
  private readonly where: string;
  private cache: CachedSdr | undefined;
  private inFlight: Promise<SdrRecord[]> | undefined;
  private reservation = 0;

  constructor(
    private readonly request: IpmiRequest,
    opts: SensorReaderOptions = {},
  ) {
    this.chunk = Math.max(1, Math.min(opts.chunkSize ?? 24, 255));
    this.maxRecords = opts.maxRecords ?? 1024;
    this.maxReservations = opts.maxReservations ?? 5;
    this.bmcAddress = opts.bmcAddress ?? 0x20;
    this.where = opts.where ? ` (${opts.where})` : '';
  }

  /** The body chunk size now in use (smaller after a BMC refused a larger one). */
  get chunkSize(): number {
    return this.chunk;
  }

  /**
   * The SDR records, read once and kept until the repository's addition/erase timestamps or
   * record count change (one Get SDR Repository Info per call checks that).
   */
  async sdr(): Promise<SdrRecord[]> {
    if (this.inFlight) return this.inFlight;
    this.inFlight = (async () => {
      const info = await this.repositoryInfo();
      const c = this.cache;
      if (c && c.info.lastAddition === info.lastAddition && c.info.lastErase === info.lastErase && c.info.recordCount === info.recordCount) {
        return c.records;
      }
      const records = await this.walk(info);
      this.cache = { info, records };
      return records;
    })().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  /** Forgets the cached repository; the next sdr() or read() walks it again. */
  invalidate(): void {
    this.cache = undefined;
  }

  async repositoryInfo(): Promise<SdrRepositoryInfo> {
    return decodeRepositoryInfo(await this.request(NETFN_STORAGE, CMD.getSdrRepositoryInfo));
  }

  /** Every full sensor's reading in the shape the CLI and MQTT use. */
  async read(): Promise<SensorReadings> {
    const out: SensorReadings = {};
    for (const d of await this.readDetailed()) out[d.key] = { value: d.value, unit: d.unit, status: d.status };
    return out;
  }

  /**
   * Every full sensor with its raw value, thresholds and identity. A sensor the BMC answers with
   * a completion code (absent, not readable) is 'ns'; a failure of the link itself (timeout,
   * lost session) rejects the whole sweep, since every other sensor would fail the same way.
   */
  async readDetailed(): Promise<SensorDetail[]> {
    const records = (await this.sdr()).filter((r): r is FullSensorRecord => r.kind === 'full');
    const keys = keysFor(records);
    const out: SensorDetail[] = [];
    for (const [i, r] of records.entries()) {
      const base = {
        key: keys[i]!,
        name: r.name,
        recordId: r.recordId,
        sensorNumber: r.sensorNumber,
        ownerId: r.ownerId,
        lun: r.ownerLun,
        sensorType: r.sensorType,
        sensorTypeName: r.sensorTypeName,
        entityId: r.entityId,
        entityInstance: r.entityInstance,
        unit: r.units.text,
        thresholds: r.thresholds,
      };
      if (r.ownerId !== this.bmcAddress) {
        out.push({ ...base, value: null, status: 'ns', raw: null, crossed: [], reason: `owned by ${hex2(r.ownerId)}; bridged reads are not supported` });
        continue;
      }
      let data: Buffer;
      try {
        data = await this.request(NETFN_SENSOR, CMD.getSensorReading, [r.sensorNumber], { lun: r.ownerLun });
      } catch (err) {
        const cc = completionCodeOf(err);
        if (cc === undefined) throw err;
        out.push({ ...base, value: null, status: 'ns', raw: null, crossed: [], reason: `Get Sensor Reading: completion code ${hex2(cc)}` });
        continue;
      }
      const reading = decodeSensorReading(data, r);
      out.push({ ...base, ...reading });
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Repository walk

  private async reserve(): Promise<void> {
    const data = await this.request(NETFN_STORAGE, CMD.reserveSdrRepository);
    if (data.length < 2) throw new BlackstartError('PROTOCOL', `Reserve SDR Repository${this.where}: 2 data bytes expected, got ${data.length}`);
    this.reservation = data.readUInt16LE(0);
  }

  private async walk(info: SdrRepositoryInfo): Promise<SdrRecord[]> {
    const records: SdrRecord[] = [];
    if (info.recordCount === 0) return records;
    await this.reserve();
    const asked = new Set<number>();
    let id = 0x0000;
    for (;;) {
      if (asked.has(id)) throw new BlackstartError('PROTOCOL', `SDR repository${this.where}: record ${hex4(id)} comes round again (the next-record chain loops)`);
      if (records.length >= this.maxRecords) {
        throw new BlackstartError('PROTOCOL', `SDR repository${this.where}: more than ${this.maxRecords} records (it reports ${info.recordCount})`);
      }
      asked.add(id);
      const { bytes, next } = await this.readRecord(id);
      // Id 0x0000 asked for "the first record"; a chain leading back to it uses its real id.
      asked.add(bytes.readUInt16LE(0));
      records.push(this.decode(bytes));
      if (next === LAST_RECORD) return records;
      id = next;
    }
  }

  private decode(bytes: Buffer): SdrRecord {
    try {
      return decodeSdrRecord(bytes);
    } catch (err) {
      if (!(err instanceof BlackstartError) || !this.where) throw err;
      throw new BlackstartError(err.code, `${err.message}${this.where}`, { cause: err });
    }
  }

  /** One record, header first then body in chunks, restarting it when the reservation is lost. */
  private async readRecord(id: number): Promise<{ bytes: Buffer; next: number }> {
    for (let attempt = 0; ; attempt++) {
      try {
        const head = await this.getSdr(id, 0, SDR_HEADER_BYTES);
        if (head.data.length < SDR_HEADER_BYTES) {
          throw new BlackstartError('PROTOCOL', `Get SDR${this.where} record ${hex4(id)} at offset 0: header of ${head.data.length} bytes`);
        }
        const header = decodeSdrHeader(head.data);
        const total = SDR_HEADER_BYTES + header.length;
        const bytes = Buffer.alloc(total);
        head.data.copy(bytes, 0, 0, SDR_HEADER_BYTES);
        // The header read names the record by its real id (id 0x0000 asks for "the first one").
        const realId = id === 0 ? header.recordId : id;
        let offset = SDR_HEADER_BYTES;
        while (offset < total) {
          const part = await this.getSdrChunk(realId, offset, total - offset);
          part.copy(bytes, offset, 0, Math.min(part.length, total - offset));
          offset += Math.min(part.length, total - offset);
        }
        return { bytes, next: head.next };
      } catch (err) {
        if (completionCodeOf(err) !== CC.reservationCancelled) throw err;
        if (attempt >= this.maxReservations) {
          throw new BlackstartError('BUSY', `Get SDR${this.where} record ${hex4(id)}: reservation cancelled ${attempt + 1} times (the repository keeps changing)`, { cause: err });
        }
        await this.reserve();
      }
    }
  }

  /** A body chunk at `offset`, shrinking the chunk size while the BMC answers 0xCA. */
  private async getSdrChunk(id: number, offset: number, remaining: number): Promise<Buffer> {
    if (offset > 0xff) throw new BlackstartError('PROTOCOL', `Get SDR${this.where} record ${hex4(id)}: offset ${offset} does not fit the 1-byte offset field`);
    for (;;) {
      try {
        const { data } = await this.getSdr(id, offset, Math.min(this.chunk, remaining));
        if (data.length === 0) throw new BlackstartError('PROTOCOL', `Get SDR${this.where} record ${hex4(id)} at offset ${offset}: no bytes returned, ${remaining} missing`);
        return data;
      } catch (err) {
        if (completionCodeOf(err) !== CC.cannotReturnBytes) throw err;
        if (this.chunk <= 1) {
          throw new BlackstartError('PROTOCOL', `Get SDR${this.where} record ${hex4(id)} at offset ${offset}: BMC cannot return even 1 byte (0xca)`, { cause: err });
        }
        this.chunk = Math.max(1, Math.floor(this.chunk / 2));
      }
    }
  }

  private async getSdr(id: number, offset: number, count: number): Promise<{ next: number; data: Buffer }> {
    const r = this.reservation;
    const rsp = await this.request(NETFN_STORAGE, CMD.getSdr, [r & 0xff, r >> 8, id & 0xff, id >> 8, offset, count]);
    if (rsp.length < 2) throw new BlackstartError('PROTOCOL', `Get SDR${this.where} record ${hex4(id)} at offset ${offset}: response of ${rsp.length} bytes`);
    return { next: rsp.readUInt16LE(0), data: rsp.subarray(2) };
  }
}

/** Keys for the readings map: a name shared by several sensors gets " #<sensor number>" on each. */
function keysFor(records: FullSensorRecord[]): string[] {
  const count = new Map<string, number>();
  const nameOf = (r: FullSensorRecord): string => r.name || `sensor ${r.sensorNumber}`;
  for (const r of records) count.set(nameOf(r), (count.get(nameOf(r)) ?? 0) + 1);
  const used = new Set<string>();
  return records.map((r) => {
    let key = nameOf(r);
    if ((count.get(key) ?? 0) > 1) key = `${key} #${r.sensorNumber}`;
    // Same name and number: different owners or LUNs; the record id is unique in a repository.
    if (used.has(key)) key = `${key} (record ${r.recordId})`;
    used.add(key);
    return key;
  });
}
