/**
 * Wake-on-LAN magic packets (AMD "Magic Packet", as sent by ether-wake and wakeonlan):
 * 6 × 0xFF, the target MAC 16 times, then an optional SecureOn password of 4 or 6 bytes.
 * Pure code: no sockets, so it is tested with byte vectors.
 */
import { BlackstartError } from '../../core/errors';

export const MAC_LENGTH = 6;
export const SYNC_LENGTH = 6;
export const MAC_REPEATS = 16;
/** Sync stream plus 16 copies of the MAC, without a password. */
export const MAGIC_LENGTH = SYNC_LENGTH + MAC_REPEATS * MAC_LENGTH;

const HEX_GROUPS = /^([0-9a-f]{1,2})([:-])([0-9a-f]{1,2})\2([0-9a-f]{1,2})\2([0-9a-f]{1,2})\2([0-9a-f]{1,2})\2([0-9a-f]{1,2})$/i;
const CISCO = /^([0-9a-f]{4})\.([0-9a-f]{4})\.([0-9a-f]{4})$/i;
const BARE = /^[0-9a-f]{12}$/i;

/**
 * Reads a MAC written as `aa:bb:cc:dd:ee:ff`, `aa-bb-cc-dd-ee-ff`, `aabb.ccdd.eeff` or `aabbccddeeff`
 * (single-digit groups such as `0:1b:…` are accepted, as ether-wake does).
 */
export function parseMac(text: string): Buffer {
  const t = text.trim();
  let hex: string | undefined;
  const groups = HEX_GROUPS.exec(t);
  if (groups) hex = groups.filter((_, i) => i > 0 && i !== 2).map((g) => g.padStart(2, '0')).join('');
  else if (CISCO.test(t)) hex = t.replaceAll('.', '');
  else if (BARE.test(t)) hex = t;
  if (hex === undefined) {
    throw new BlackstartError(
      'BAD_REQUEST',
      `"${text}" is not a MAC address (expected aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff, aabb.ccdd.eeff or aabbccddeeff)`,
    );
  }
  const mac = Buffer.from(hex, 'hex');
  // A magic packet for these can never reach one network card, so the input is certainly a mistake.
  if (mac.every((b) => b === 0)) throw new BlackstartError('BAD_REQUEST', `"${text}" is the all-zero MAC address, not a network card's`);
  if (((mac[0] as number) & 1) === 1) {
    throw new BlackstartError('BAD_REQUEST', `"${text}" is a multicast or broadcast MAC address (first byte odd), not a network card's`);
  }
  return mac;
}

export function formatMac(mac: Uint8Array): string {
  return Buffer.from(mac).toString('hex').replace(/(..)(?!$)/g, '$1:');
}

/** A card's MAC as aa:bb:cc:dd:ee:ff, or undefined for anything that is not one (all-zero, multicast, not text). */
export function normalMac(text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    return formatMac(parseMac(text));
  } catch {
    return undefined;
  }
}

const PW_HEX = /^[0-9a-f]{1,2}([:-][0-9a-f]{1,2}){3}$|^[0-9a-f]{1,2}([:-][0-9a-f]{1,2}){5}$/i;
const PW_BARE = /^(?:[0-9a-f]{8}|[0-9a-f]{12})$/i;
const PW_DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * Reads a SecureOn password: 4 or 6 hex bytes (`aa:bb:cc:dd`, `aa:bb:cc:dd:ee:ff`, `-` separators
 * or none), or 4 bytes in dotted decimal (`192.168.1.2`) as ether-wake accepts.
 * Errors never repeat the value: it is a secret.
 */
export function parsePassword(text: string, where = 'SecureOn password'): Buffer {
  const t = text.trim();
  if (PW_HEX.test(t)) return Buffer.from(t.split(/[:-]/).map((g) => parseInt(g, 16)));
  if (PW_BARE.test(t)) return Buffer.from(t, 'hex');
  const dotted = PW_DOTTED.exec(t);
  if (dotted) {
    const bytes = dotted.slice(1).map(Number);
    if (bytes.every((b) => b <= 255)) return Buffer.from(bytes);
    throw new BlackstartError('BAD_REQUEST', `${where}: a dotted-decimal password has numbers from 0 to 255`);
  }
  throw new BlackstartError(
    'BAD_REQUEST',
    `${where} (${t.length} characters) is not 4 or 6 bytes: write aa:bb:cc:dd, aa:bb:cc:dd:ee:ff or a.b.c.d`,
  );
}

/** The datagram body: sync stream, 16 × MAC, then the password when there is one. */
export function encodeMagicPacket(mac: Uint8Array, password?: Uint8Array): Buffer {
  if (mac.length !== MAC_LENGTH) throw new BlackstartError('BAD_REQUEST', `a MAC address has 6 bytes, got ${mac.length}`);
  if (password && password.length !== 4 && password.length !== 6) {
    throw new BlackstartError('BAD_REQUEST', `a SecureOn password has 4 or 6 bytes, got ${password.length}`);
  }
  const out = Buffer.alloc(MAGIC_LENGTH + (password?.length ?? 0), 0xff);
  for (let i = 0; i < MAC_REPEATS; i++) out.set(mac, SYNC_LENGTH + i * MAC_LENGTH);
  if (password) out.set(password, MAGIC_LENGTH);
  return out;
}

export type MagicDecode =
  | { kind: 'packet'; mac: Buffer; password: Buffer | null; offset: number }
  /** Too short to hold a magic packet yet (a truncated datagram or a partial capture). */
  | { kind: 'incomplete'; need: number }
  | { kind: 'garbage'; reason: string };

/**
 * Finds a magic packet in a datagram. Network cards look for the sync stream anywhere in a
 * frame, so this does too; what follows the 16th copy must be nothing, or a 4- or 6-byte
 * password. Never throws.
 */
export function decodeMagicPacket(data: Uint8Array): MagicDecode {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < MAGIC_LENGTH) return { kind: 'incomplete', need: MAGIC_LENGTH - buf.length };
  let lastReason = 'no sync stream of six 0xFF bytes';
  for (let at = 0; at + MAGIC_LENGTH <= buf.length; at++) {
    if (!isSync(buf, at)) continue;
    const mac = buf.subarray(at + SYNC_LENGTH, at + SYNC_LENGTH + MAC_LENGTH);
    let copies = 1;
    while (copies < MAC_REPEATS && buf.subarray(at + SYNC_LENGTH + copies * MAC_LENGTH, at + SYNC_LENGTH + (copies + 1) * MAC_LENGTH).equals(mac)) copies++;
    if (copies < MAC_REPEATS) {
      lastReason = `sync stream at byte ${at} is followed by ${copies} copies of ${formatMac(mac)}, not 16`;
      continue;
    }
    const rest = buf.length - (at + MAGIC_LENGTH);
    if (rest !== 0 && rest !== 4 && rest !== 6) {
      return { kind: 'garbage', reason: `magic packet for ${formatMac(mac)} at byte ${at} is followed by ${rest} bytes (a password has 4 or 6)` };
    }
    return {
      kind: 'packet',
      mac: Buffer.from(mac),
      password: rest === 0 ? null : Buffer.from(buf.subarray(at + MAGIC_LENGTH)),
      offset: at,
    };
  }
  return { kind: 'garbage', reason: lastReason };
}

function isSync(buf: Buffer, at: number): boolean {
  for (let i = 0; i < SYNC_LENGTH; i++) if (buf[at + i] !== 0xff) return false;
  return true;
}
