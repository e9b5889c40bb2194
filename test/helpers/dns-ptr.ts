/**
 * Just enough DNS (RFC 1035) to answer the reverse lookups `blackstart scan` makes: read one
 * question, answer PTR from a fixed table, NXDOMAIN for names it does not know, and stay silent
 * for the addresses the test wants to time out. Pure functions plus a handler for a UDP socket,
 * so the same code runs in-process in unit tests and inside a namespace via `node -e`.
 */
import type { Socket } from 'node:dgram';

export const TYPE_PTR = 12;
const CLASS_IN = 1;
const RCODE_NXDOMAIN = 3;
const HEADER = 12;
const MAX_NAME = 255;

export interface Question {
  id: number;
  /** The query's flags word; the reply copies opcode and RD from it. */
  flags: number;
  /** Lower case, no trailing dot. */
  name: string;
  type: number;
  class: number;
}

/** Who asked what and what the server did; the test reads these back to see which path ran. */
export interface QueryLog {
  name: string;
  type: number;
  reply: 'ptr' | 'nodata' | 'nxdomain' | 'dropped';
}

export interface PtrZone {
  /** IPv4 address → the name its PTR record holds. */
  names: Record<string, string>;
  /** Addresses whose PTR query gets no reply at all. */
  silent?: string[];
}

export function reverseName(address: string): string {
  const parts = address.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw new Error(`reverseName: "${address}" is not an IPv4 address`);
  return `${parts.reverse().join('.')}.in-addr.arpa`;
}

/** Reads a (possibly compressed) name at `at`; returns it and where the name's bytes end. */
function readName(msg: Buffer, at: number): { name: string; end: number } {
  const labels: string[] = [];
  let pos = at;
  let end: number | undefined;
  let length = 0;
  // A pointer must point backwards, so a loop of pointers would run out of bytes; this caps it anyway.
  for (let hops = 0; hops < 128; hops++) {
    if (pos >= msg.length) throw new Error(`DNS name at byte ${at}: runs past the end of the ${msg.length}-byte message`);
    const len = msg[pos] as number;
    if (len === 0) return { name: labels.join('.').toLowerCase(), end: end ?? pos + 1 };
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= msg.length) throw new Error(`DNS name at byte ${at}: pointer at byte ${pos} is cut off`);
      const target = ((len & 0x3f) << 8) | (msg[pos + 1] as number);
      if (target >= pos) throw new Error(`DNS name at byte ${at}: pointer at byte ${pos} points forward to ${target}`);
      end ??= pos + 2;
      pos = target;
      continue;
    }
    if (len & 0xc0) throw new Error(`DNS name at byte ${at}: label type 0x${(len & 0xc0).toString(16)} at byte ${pos} is not supported`);
    if (pos + 1 + len > msg.length) throw new Error(`DNS name at byte ${at}: label at byte ${pos} runs past the end of the message`);
    length += len + 1;
    if (length > MAX_NAME) throw new Error(`DNS name at byte ${at}: longer than ${MAX_NAME} bytes`);
    labels.push(msg.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  throw new Error(`DNS name at byte ${at}: more than 128 labels or pointers`);
}

export function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.');
  if (labels.some((l) => l.length === 0 || l.length > 63)) throw new Error(`encodeName: "${name}" has an empty label or one longer than 63 bytes`);
  const out = Buffer.concat([...labels.flatMap((l) => [Buffer.from([l.length]), Buffer.from(l, 'latin1')]), Buffer.from([0])]);
  if (out.length > MAX_NAME) throw new Error(`encodeName: "${name}" is longer than ${MAX_NAME} bytes`);
  return out;
}

/** The first question of a query; anything that is not a one-question query is an error. */
export function parseQuery(msg: Buffer): Question {
  if (msg.length < HEADER) throw new Error(`DNS query: ${msg.length} bytes, shorter than the ${HEADER}-byte header`);
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000) throw new Error('DNS query: the QR bit says this is a response');
  const qdcount = msg.readUInt16BE(4);
  if (qdcount !== 1) throw new Error(`DNS query: ${qdcount} questions, expected 1`);
  const { name, end } = readName(msg, HEADER);
  if (end + 4 > msg.length) throw new Error(`DNS query: question for "${name}" is cut off before its type and class`);
  return { id: msg.readUInt16BE(0), flags, name, type: msg.readUInt16BE(end), class: msg.readUInt16BE(end + 2) };
}

function header(q: Question, rcode: number, answers: number): Buffer {
  const h = Buffer.alloc(HEADER);
  h.writeUInt16BE(q.id, 0);
  // QR and AA set; opcode and RD echoed; RA clear, since this server never recurses.
  h.writeUInt16BE(0x8000 | (q.flags & 0x7800) | 0x0400 | (q.flags & 0x0100) | rcode, 2);
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(answers, 6);
  return h;
}

function question(q: Question): Buffer {
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(q.type, 0);
  tail.writeUInt16BE(q.class, 2);
  return Buffer.concat([encodeName(q.name), tail]);
}

/** A reply holding one PTR answer; its owner name points back at the question (offset 12). */
export function ptrReply(q: Question, target: string, ttl = 60): Buffer {
  const rdata = encodeName(target);
  const rr = Buffer.alloc(12);
  rr.writeUInt16BE(0xc000 | HEADER, 0);
  rr.writeUInt16BE(TYPE_PTR, 2);
  rr.writeUInt16BE(CLASS_IN, 4);
  rr.writeUInt32BE(ttl, 6);
  rr.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([header(q, 0, 1), question(q), rr, rdata]);
}

/** No answers: NXDOMAIN when the name is unknown, NOERROR (no data) when only the type is. */
export function emptyReply(q: Question, nxdomain: boolean): Buffer {
  return Buffer.concat([header(q, nxdomain ? RCODE_NXDOMAIN : 0, 0), question(q)]);
}

/** What to send for one query under `zone`, or undefined to say nothing. */
export function answer(q: Question, zone: PtrZone): { reply: Buffer | undefined; log: QueryLog } {
  const byName = new Map(Object.entries(zone.names).map(([a, n]) => [reverseName(a), n]));
  const silent = new Set((zone.silent ?? []).map(reverseName));
  const log = (reply: QueryLog['reply']): QueryLog => ({ name: q.name, type: q.type, reply });
  if (silent.has(q.name)) return { reply: undefined, log: log('dropped') };
  const target = byName.get(q.name);
  if (target === undefined) return { reply: emptyReply(q, true), log: log('nxdomain') };
  if (q.type !== TYPE_PTR || q.class !== CLASS_IN) return { reply: emptyReply(q, false), log: log('nodata') };
  return { reply: ptrReply(q, target), log: log('ptr') };
}

/** Serves `zone` on a bound UDP socket. A malformed packet is reported and otherwise ignored. */
export function servePtr(socket: Socket, zone: PtrZone, onQuery: (log: QueryLog) => void, onBadPacket: (why: string) => void): void {
  socket.on('message', (msg, from) => {
    let q: Question;
    try {
      q = parseQuery(msg);
    } catch (err) {
      onBadPacket(`from ${from.address}:${from.port}: ${(err as Error).message}`);
      return;
    }
    const { reply, log } = answer(q, zone);
    onQuery(log);
    if (reply) socket.send(reply, from.port, from.address);
  });
}
