/**
 * apcupsd NIS codec against byte vectors: replies captured from a real apcupsd 3.14.14 and one
 * illustrative older-format block (test/fixtures/apcupsd/README.md says which is which).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  MAX_RECORD_BYTES,
  MAX_REPLY_BYTES,
  ReplyDecoder,
  encodeRecord,
  encodeReply,
  encodeRequest,
  leadingNumber,
  parseEvents,
  parseStatFlag,
  parseStatus,
  parseTimestamp,
  recordText,
  replyError,
  statFlagNames,
  statusWords,
  type DecodeStep,
  type StatusBlock,
} from '../../../src/adapters/ups/apcupsd/codec';
import { readingFromStatus } from '../../../src/adapters/ups/apcupsd';
import { BlackstartError } from '../../../src/core/errors';
import { repoRoot } from '../../helpers/repo';
import { prng } from '../../helpers/prng';

const fixture = (name: string): Buffer => readFileSync(join(repoRoot(), 'test/fixtures/apcupsd', name));

function decodeAll(bytes: Buffer): DecodeStep {
  return new ReplyDecoder().push(bytes);
}

function records(name: string): Buffer[] {
  const step = decodeAll(fixture(name));
  if (step.kind !== 'reply') throw new Error(`${name}: ${step.kind}`);
  return step.records;
}

function status(name: string): StatusBlock {
  const p = parseStatus(records(name));
  if (!p.ok) throw new Error(`${name}: ${p.error}`);
  return p.value;
}

/** Old-format block kept as text, one record per line. */
function oldFormatRecords(): Buffer[] {
  return fixture('status-old-format.txt')
    .toString('latin1')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => Buffer.from(`${l}\n`, 'latin1'));
}

const LABEL = 'apcupsd://127.0.0.1:3551';

describe('NIS requests', () => {
  it('are the six command bytes behind a big-endian length, nothing appended', () => {
    expect(encodeRequest('status').toString('hex')).toBe('0006737461747573');
    expect(encodeRequest('events').toString('hex')).toBe('00066576656e7473');
  });

  it('records round-trip through the decoder', () => {
    const recs = ['APC      : 001,001,0010\n', 'END APC  : x\n', Buffer.alloc(300, 0x41)];
    const step = decodeAll(encodeReply(recs));
    expect(step.kind).toBe('reply');
    if (step.kind !== 'reply') return;
    expect(step.records.map((r) => r.toString('latin1'))).toEqual(recs.map((r) => r.toString()));
    expect(step.size).toBe(encodeReply(recs).length);
    expect(() => encodeRecord(Buffer.alloc(0x10000))).toThrow(RangeError);
  });
});

describe('reply framing', () => {
  it('decodes every captured reply, and re-encoding gives the same bytes', () => {
    for (const name of ['status-online.bin', 'status-onbatt.bin', 'status-lowbatt.bin', 'status-shutting.bin', 'status-commlost.bin', 'events.bin', 'events-shutdown.bin', 'invalid.bin']) {
      const bytes = fixture(name);
      const step = decodeAll(bytes);
      expect(step.kind).toBe('reply');
      if (step.kind === 'reply') expect(encodeReply(step.records).equals(bytes)).toBe(true);
    }
  });

  it('needs more bytes at every cut of a truncated reply, and completes when fed byte by byte', () => {
    const bytes = fixture('status-online.bin');
    for (let cut = 0; cut < bytes.length; cut++) expect(decodeAll(bytes.subarray(0, cut)).kind).toBe('need-more');
    const d = new ReplyDecoder();
    let last: DecodeStep = { kind: 'need-more' };
    for (let i = 0; i < bytes.length; i++) {
      expect(last.kind).toBe('need-more');
      last = d.push(bytes.subarray(i, i + 1));
    }
    expect(last).toMatchObject({ kind: 'reply', size: bytes.length });
    expect(last.kind === 'reply' && last.records.length).toBe(53);
  });

  it('calls an oversized record garbage as soon as its length is read, and stays failed', () => {
    const d = new ReplyDecoder();
    const head = Buffer.alloc(2);
    head.writeUInt16BE(MAX_RECORD_BYTES + 1);
    const step = d.push(head);
    expect(step).toEqual({ kind: 'garbage', error: expect.stringContaining(`record of ${MAX_RECORD_BYTES + 1} bytes`) });
    expect(d.push(encodeReply(['x'])).kind).toBe('garbage');
    // 0xffff from a stream of text that is not NIS (an HTTP server, say)
    expect(decodeAll(Buffer.from('HTTP/1.1 400 Bad Request\r\n')).kind).toBe('garbage');
  });

  it('bounds a reply made of many small records', () => {
    const d = new ReplyDecoder();
    const rec = encodeRecord(Buffer.alloc(1000, 0x61));
    let step: DecodeStep = { kind: 'need-more' };
    for (let i = 0; i < 100 && step.kind === 'need-more'; i++) step = d.push(rec);
    expect(step).toEqual({ kind: 'garbage', error: `reply longer than ${MAX_REPLY_BYTES} bytes` });
    const many = Buffer.concat(Array.from({ length: 600 }, () => encodeRecord('a\n')));
    expect(decodeAll(many)).toEqual({ kind: 'garbage', error: 'more than 512 records in one reply' });
  });

  it('refuses bytes after the end marker (lost framing)', () => {
    expect(decodeAll(Buffer.concat([fixture('invalid.bin'), Buffer.from([0])]))).toMatchObject({ kind: 'garbage' });
  });
});

describe('error answers', () => {
  it('recognises Invalid command (captured) and the not-running answers', () => {
    const invalid = records('invalid.bin');
    expect(invalid[0]?.toString('hex')).toBe(Buffer.from('Invalid command\n\0').toString('hex'));
    expect(replyError(invalid)).toEqual({ kind: 'invalid-command', text: 'Invalid command' });
    expect(replyError([Buffer.from('Apcupsd internal error\n\0')])).toEqual({ kind: 'not-running', text: 'Apcupsd internal error' });
    expect(replyError([Buffer.from('Apcupsd not running\n\0')])).toEqual({ kind: 'not-running', text: 'Apcupsd not running' });
    expect(replyError(records('status-online.bin'))).toBeNull();
    expect(parseStatus(invalid)).toEqual({ ok: false, error: 'apcupsd answered "Invalid command"' });
    expect(parseEvents(invalid)).toEqual({ ok: false, error: 'apcupsd answered "Invalid command"' });
  });
});

describe('status block', () => {
  it('parses the captured ONLINE block with its header checked', () => {
    const b = status('status-online.bin');
    expect(b.revision).toBe(1);
    expect(b.fields.size).toBe(52);
    expect(b.fields.get('STATUS')).toBe('ONLINE');
    expect(b.fields.get('MODEL')).toBe('Smart-UPS 1500');
    expect(b.fields.get('CUMONBATT')).toBe('0 Seconds');
    expect(b.fields.get('XOFFBATT')).toBe('N/A');
    expect(parseTimestamp(b.fields.get('END APC') ?? '')?.at).toBe(Date.UTC(2026, 10, 23, 11, 22, 28));
  });

  it('maps each captured state to a reading', () => {
    expect(readingFromStatus(status('status-online.bin'), LABEL)).toEqual({
      status: 'online', flags: ['ONLINE'], chargePct: 100, runtimeS: 2700, loadPct: 23.4, inputV: 230.4, batteryV: 27.3, onBatteryS: 0,
    });
    expect(readingFromStatus(status('status-onbatt.bin'), LABEL)).toMatchObject({ status: 'on_battery', flags: ['ONBATT'], chargePct: 60, runtimeS: 600, inputV: 0, onBatteryS: 2 });
    expect(readingFromStatus(status('status-lowbatt.bin'), LABEL)).toMatchObject({ status: 'low_battery', flags: ['ONBATT', 'LOWBATT'], chargePct: 10, runtimeS: 60, onBatteryS: 4 });
    expect(readingFromStatus(status('status-shutting.bin'), LABEL)).toMatchObject({ status: 'shutting_down', flags: ['SHUTTING DOWN'] });
  });

  it('turns COMMLOST into UNREACHABLE instead of the stale numbers apcupsd still prints', () => {
    const b = status('status-commlost.bin');
    expect(b.fields.get('BCHARGE')).toBe('100.0 Percent');
    let err: unknown;
    try {
      readingFromStatus(b, LABEL);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BlackstartError);
    expect(err).toMatchObject({ code: 'UNREACHABLE', message: `${LABEL}: apcupsd lost its UPS (STATUS COMMLOST)` });
  });

  it('reads an older block: other timestamp format, unit words, Status Flag suffix (illustrative)', () => {
    const p = parseStatus(oldFormatRecords());
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    expect(readingFromStatus(p.value, LABEL)).toEqual({
      status: 'low_battery', flags: ['ONBATT', 'LOWBATT'], chargePct: 8, runtimeS: 150, loadPct: 23, inputV: 0, batteryV: null, onBatteryS: 310,
    });
    expect(parseTimestamp(p.value.fields.get('DATE') ?? '')?.at).toBe(Date.UTC(2024, 0, 1, 12, 0, 0));
    expect(parseStatFlag(p.value.fields.get('STATFLAG'))).toBe(0x07000050);
  });

  it('falls back to STATFLAG when STATUS is missing', () => {
    const lines = ['APC      : 001,002,0000\n', 'STATFLAG : 0x05000050\n', 'END APC  : x\n'];
    const p = parseStatus(lines.map((l) => Buffer.from(l)));
    expect(p.ok && readingFromStatus(p.value, LABEL)).toMatchObject({ status: 'low_battery', flags: ['ONBATT', 'LOWBATT'] });
  });

  it('rejects truncated, padded and malformed blocks with a message that says where', () => {
    const recs = records('status-online.bin');
    expect(parseStatus(recs.slice(0, 20))).toEqual({ ok: false, error: 'header announces 52 lines, reply has 19' });
    expect(parseStatus([...recs, Buffer.from('EXTRA    : 1\n')])).toEqual({ ok: false, error: 'header announces 52 lines, reply has 53' });
    expect(parseStatus(recs.slice(1))).toMatchObject({ ok: false, error: expect.stringMatching(/^line 1: expected the "APC : 001,NNN,LLLL" header/) });
    const noColon = [...recs];
    noColon[5] = Buffer.from('garbage line\n');
    expect(parseStatus(noColon)).toEqual({ ok: false, error: 'line 6: no "KEY : value" in "garbage line"' });
    const ctrl = [...recs];
    ctrl[3] = Buffer.from('LINEV    : 23\x010 Volts\n');
    expect(parseStatus(ctrl)).toEqual({ ok: false, error: 'line 4: control characters in a status line' });
    const dup = [...recs];
    dup[4] = dup[3] as Buffer;
    expect(parseStatus(dup)).toMatchObject({ ok: false, error: expect.stringMatching(/appears twice/) });
    const noEnd = ['APC      : 001,001,0000\n', 'STATUS   : ONLINE\n'].map((l) => Buffer.from(l));
    expect(parseStatus(noEnd)).toEqual({ ok: false, error: 'no "END APC" line: the status block is incomplete' });
    expect(parseStatus([])).toEqual({ ok: false, error: 'empty status reply' });
  });

  it('refuses a STATUS that says neither ONLINE nor ONBATT', () => {
    const lines = ['APC      : 001,002,0000\n', 'STATUS   : CAL TRIM\n', 'END APC  : x\n'];
    const p = parseStatus(lines.map((l) => Buffer.from(l)));
    expect(p.ok).toBe(true);
    if (p.ok) expect(() => readingFromStatus(p.value, LABEL)).toThrow(/STATUS "CAL TRIM" says neither ONLINE nor ONBATT/);
  });
});

describe('values', () => {
  it('takes the leading number and ignores unit words', () => {
    expect(leadingNumber('41.5 Minutes')).toBe(41.5);
    expect(leadingNumber(' 23.0 Percent Load Capacity')).toBe(23);
    expect(leadingNumber('310 seconds')).toBe(310);
    expect(leadingNumber('-3.5 C')).toBe(-3.5);
    expect(leadingNumber('N/A')).toBeNull();
    expect(leadingNumber('12abc')).toBeNull();
    expect(leadingNumber('')).toBeNull();
    expect(leadingNumber(undefined)).toBeNull();
  });

  it('reads both timestamp formats and refuses impossible dates and unknown zones', () => {
    expect(parseTimestamp('2024-05-01 10:00:00 +0200  ')).toEqual({ at: Date.UTC(2024, 4, 1, 8), length: 25 });
    expect(parseTimestamp('2024-05-01 10:00:00 -0130')?.at).toBe(Date.UTC(2024, 4, 1, 11, 30));
    expect(parseTimestamp('Mon Jan 01 12:00:00 UTC 2024')).toEqual({ at: Date.UTC(2024, 0, 1, 12), length: 28 });
    expect(parseTimestamp('Tue Jul  2 09:15:00 CEST 2024')?.at).toBe(Date.UTC(2024, 6, 2, 7, 15));
    expect(parseTimestamp('Mon Jan 01 12:00:00 XYZ 2024')).toBeNull();
    expect(parseTimestamp('2024-02-30 10:00:00 +0000')).toBeNull();
    expect(parseTimestamp('2024-13-01 10:00:00 +0000')).toBeNull();
    expect(parseTimestamp('N/A')).toBeNull();
  });

  it('splits STATUS into words with SHUTTING DOWN as one', () => {
    expect(statusWords('ONLINE ')).toEqual(['ONLINE']);
    expect(statusWords('CAL TRIM BOOST ONLINE ONBATT OVERLOAD LOWBATT REPLACEBATT NOBATT SLAVE SLAVEDOWN')).toHaveLength(11);
    expect(statusWords('SHUTTING DOWN')).toEqual(['SHUTTING DOWN']);
    expect(statusWords('COMMLOST')).toEqual(['COMMLOST']);
    expect(statusWords('ONLINE NEWWORD')).toEqual(['ONLINE', 'NEWWORD']);
    expect(statusWords('')).toEqual([]);
  });

  it('decodes STATFLAG bits', () => {
    expect(parseStatFlag('0x05000008')).toBe(0x05000008);
    expect(statFlagNames(0x05000008)).toEqual(['ONLINE', 'PLUGGED', 'BATTPRESENT']);
    expect(statFlagNames(0x05260050)).toEqual(['ONBATT', 'LOWBATT', 'ONBATT_MSG', 'FASTPOLL', 'SHUT_LTIME', 'PLUGGED', 'BATTPRESENT']);
    expect(statFlagNames(0x300)).toEqual(['COMMLOST', 'SHUTTING DOWN']);
    expect(parseStatFlag('05000008')).toBeNull();
    expect(parseStatFlag('0x123456789')).toBeNull();
  });

  it('maps every STATUS word combination the way the adapter needs', () => {
    const read = (s: string) => {
      const p = parseStatus(['APC      : 001,002,0000\n', `STATUS   : ${s}\n`, 'END APC  : x\n'].map((l) => Buffer.from(l)));
      if (!p.ok) throw new Error(p.error);
      try {
        return readingFromStatus(p.value, LABEL).status;
      } catch (e) {
        return (e as BlackstartError).code;
      }
    };
    expect(read('ONLINE ')).toBe('online');
    expect(read('TRIM ONLINE REPLACEBATT')).toBe('online');
    expect(read('ONLINE LOWBATT')).toBe('online');
    expect(read('ONBATT')).toBe('on_battery');
    expect(read('ONBATT OVERLOAD')).toBe('on_battery');
    expect(read('ONBATT LOWBATT')).toBe('low_battery');
    expect(read('SHUTTING DOWN')).toBe('shutting_down');
    expect(read('COMMLOST ')).toBe('UNREACHABLE');
    expect(read('ONLINE SLAVE')).toBe('online');
    expect(read('SLAVEDOWN')).toBe('UNREACHABLE');
    expect(read('NOBATT')).toBe('PROTOCOL');
  });
});

describe('events', () => {
  it('parses the captured event log, oldest first', () => {
    const p = parseEvents(records('events-shutdown.bin'));
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    expect(p.value).toHaveLength(9);
    expect(p.value[1]).toEqual({ at: Date.UTC(2026, 10, 23, 11, 22, 29), message: 'Power failure.' });
    expect(p.value.map((e) => e.message)).toContain('Initiating system shutdown!');
    expect(p.value.every((e, i, all) => i === 0 || (e.at ?? 0) >= (all[i - 1]?.at ?? 0))).toBe(true);
  });

  it('reads "Not available" as no events, and keeps a line without a timestamp', () => {
    expect(parseEvents([Buffer.from('Not available\n\0')])).toEqual({ ok: true, value: [] });
    expect(parseEvents([Buffer.from('Mon Jan 01 12:00:00 UTC 2024  Power failure.\n'), Buffer.from('something else\n')])).toEqual({
      ok: true,
      value: [{ at: Date.UTC(2024, 0, 1, 12), message: 'Power failure.' }, { at: null, message: 'something else' }],
    });
    expect(parseEvents([Buffer.from('a\x02b\n')])).toEqual({ ok: false, error: 'event line 1: control characters' });
  });

  it('strips the trailing newline and NUL of a record', () => {
    expect(recordText(Buffer.from('Invalid command\n\0'))).toBe('Invalid command');
  });
});

describe('fuzz (seeded, bounded)', () => {

  const seeds = ['status-online.bin', 'status-lowbatt.bin', 'events.bin', 'invalid.bin'].map(fixture);

  function mutate(rand: () => number, input: Buffer): Buffer {
    const b = Buffer.from(input);
    const n = 1 + Math.floor(rand() * 8);
    for (let i = 0; i < n; i++) {
      const at = Math.floor(rand() * b.length);
      const op = rand();
      if (op < 0.5) b[at] = Math.floor(rand() * 256);
      else if (op < 0.7) b[at] = 0;
      else if (op < 0.85) b[at] = 0xff;
      else return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + Math.floor(rand() * 40))]);
    }
    return b;
  }

  it('never throws or hangs on 3,000 random and mutated inputs fed in random chunks', () => {
    const seed = 0x5eed_a9c;
    const rand = prng(seed);
    const kinds = { reply: 0, 'need-more': 0, garbage: 0 };
    for (let i = 0; i < 3000; i++) {
      let input: Buffer;
      if (i % 3 === 0) input = Buffer.from(Array.from({ length: Math.floor(rand() * 600) }, () => Math.floor(rand() * 256)));
      else input = mutate(rand, seeds[i % seeds.length] as Buffer);
      const d = new ReplyDecoder();
      let step: DecodeStep = { kind: 'need-more' };
      try {
        for (let off = 0; off < input.length && step.kind === 'need-more'; ) {
          const len = 1 + Math.floor(rand() * 200);
          step = d.push(input.subarray(off, off + len));
          off += len;
        }
        kinds[step.kind]++;
        if (step.kind === 'reply') {
          const s = parseStatus(step.records);
          if (s.ok) {
            try {
              readingFromStatus(s.value, LABEL);
            } catch (e) {
              // readingFromStatus may refuse a state, but only with a coded error.
              expect(e).toBeInstanceOf(BlackstartError);
            }
          }
          parseEvents(step.records);
          for (const r of step.records) {
            const text = recordText(r);
            parseTimestamp(text);
            leadingNumber(text);
            statusWords(text);
          }
        }
      } catch (e) {
        throw new Error(`case ${i} (seed ${seed}) threw: ${String(e)}; input ${input.toString('hex')}`, { cause: e });
      }
    }
    // The mix must really exercise each outcome, or the fuzz proves little.
    expect(kinds.reply).toBeGreaterThan(100);
    expect(kinds.garbage).toBeGreaterThan(100);
    expect(kinds['need-more']).toBeGreaterThan(100);
  });
});
