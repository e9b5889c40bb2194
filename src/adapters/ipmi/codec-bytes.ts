/**
 * Small helpers the IPMI decoders share, so every "too short" or "bad value" error names the
 * packet part and the byte offset the same way.
 */
import { BlackstartError } from '../../core/errors';

export function protocolError(what: string, detail: string): BlackstartError {
  return new BlackstartError('PROTOCOL', `IPMI ${what}: ${detail}`);
}

/** Throws unless `buf` holds at least `need` bytes. */
export function needBytes(buf: Uint8Array, need: number, what: string): void {
  if (buf.length < need) throw protocolError(what, `${buf.length} bytes, need at least ${need}`);
}

export function hex(buf: Uint8Array, max = 64): string {
  const b = Buffer.from(buf.buffer, buf.byteOffset, Math.min(buf.length, max));
  return b.toString('hex') + (buf.length > max ? '…' : '');
}

export function byteHex(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`;
}

/** IPMI's 8-bit two's-complement checksum: the block plus its checksum sums to 0 mod 256. */
export function checksum(buf: Uint8Array, start = 0, end = buf.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum = (sum + (buf[i] as number)) & 0xff;
  return (0x100 - sum) & 0xff;
}

export function toBuffer(data: Uint8Array | readonly number[] | undefined): Buffer {
  if (data === undefined) return Buffer.alloc(0);
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.length);
  for (const [i, v] of data.entries()) {
    if (!Number.isInteger(v) || v < 0 || v > 255) {
      throw new BlackstartError('BAD_REQUEST', `IPMI request data byte ${i} is ${String(v)}, not 0..255`);
    }
  }
  return Buffer.from(data);
}
