/** Readers for test/fixtures/ipmi-sdr (format in its README). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './repo';

export const sdrFixture = (name: string): string => readFileSync(join(repoRoot(), 'test/fixtures/ipmi-sdr', name), 'utf8');

const bytesOf = (s: string): number[] => s.split(/\s+/).filter(Boolean).map((w) => parseInt(w, 16));

export interface CapturedRecord {
  recordId: number;
  next: number;
  bytes: Buffer;
}

export function capturedRecords(): CapturedRecord[] {
  return sdrFixture('records.hex')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => {
      const [id, next, ...rest] = l.trim().split(/\s+/);
      return { recordId: parseInt(id!, 16), next: parseInt(next!, 16), bytes: Buffer.from(bytesOf(rest.join(' '))) };
    });
}

export interface Exchange {
  netFn: number;
  cmd: number;
  data: number[];
  response: Buffer | { completionCode: number };
}

export function transcript(name: string): Exchange[] {
  const out: Exchange[] = [];
  let pending: number[] | undefined;
  for (const line of sdrFixture(name).split('\n')) {
    if (line.startsWith('>')) pending = bytesOf(line.slice(1));
    else if ((line.startsWith('<') || line.startsWith('!')) && pending) {
      const [netFn, cmd, ...data] = pending;
      const body = bytesOf(line.slice(1));
      out.push({ netFn: netFn!, cmd: cmd!, data, response: line.startsWith('<') ? Buffer.from(body) : { completionCode: body[0]! } });
      pending = undefined;
    }
  }
  return out;
}

export interface ListedSensor {
  name: string;
  value: number | null;
  unit: string;
  status: string;
}

/** `ipmitool sdr list` lines: `name | value unit | status` (or `no reading`, or a hex state). */
export function parseSdrList(text: string): ListedSensor[] {
  return text
    .split('\n')
    .filter((l) => l.includes('|'))
    .map((l) => {
      const [name, reading, status] = l.split('|').map((s) => s.trim());
      const m = /^(-?[0-9.]+)\s+(.*)$/.exec(reading!);
      return { name: name!, value: m ? Number(m[1]) : null, unit: m ? m[2]! : '', status: status! };
    });
}

/** Get Sensor Reading responses by sensor number, from a readings-*.txt transcript. */
export function capturedReadings(name: string): Map<number, Buffer | { completionCode: number }> {
  return new Map(transcript(name).filter((e) => e.netFn === 0x04 && e.cmd === 0x2d).map((e) => [e.data[0]!, e.response]));
}
