/**
 * NUT codec against byte vectors in test/fixtures/nut (see its README: most captured from a real
 * upsd 2.8.0, a few illustrative), plus a seeded fuzz of every decoder.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  LineSplitter,
  MAX_LINE_BYTES,
  ReplyAssembler,
  encodeCommand,
  errorCodeFor,
  getVarOf,
  namesOf,
  numLoginsOf,
  numberOf,
  nutError,
  quote,
  readingOf,
  statusOf,
  tokenize,
  upsListOf,
  varsOf,
  type Feed,
  type Reply,
} from '../../../src/adapters/ups/nut/codec';
import { repoRoot } from '../../helpers/repo';
import { prng } from '../../helpers/prng';

const fixture = (name: string): Buffer => readFileSync(join(repoRoot(), 'test/fixtures/nut', name));

/** All replies in a server transcript, split and assembled as the client does. */
function replies(bytes: Buffer): { replies: Reply[]; last: Feed['status'] } {
  const { lines, error } = new LineSplitter().push(bytes);
  if (error) throw new Error(error);
  const out: Reply[] = [];
  let asm = new ReplyAssembler();
  let last: Feed['status'] = 'done';
  for (const line of lines) {
    const f = asm.feed(line);
    last = f.status;
    if (f.status === 'garbage') throw new Error(f.error);
    if (f.status === 'done') {
      out.push(f.reply);
      asm = new ReplyAssembler();
    }
  }
  return { replies: out, last };
}

function one(bytes: Buffer | string): Reply {
  const r = replies(Buffer.from(bytes));
  expect(r.replies).toHaveLength(1);
  return r.replies[0] as Reply;
}


describe('encoding commands', () => {
  it.each([
    [['LIST', 'VAR', 'labups'], 'LIST VAR labups\n'],
    [['USERNAME', 'monuser'], 'USERNAME monuser\n'],
    [['PASSWORD', 'pa ss"w\\rd'], 'PASSWORD "pa ss\\"w\\\\rd"\n'],
    [['INSTCMD', 'ups', 'load.off.delay', '120'], 'INSTCMD ups load.off.delay 120\n'],
    [['SET', 'VAR', 'ups', 'ups.id', ''], 'SET VAR ups ups.id ""\n'],
  ])('%j → %j', (words, line) => {
    expect(encodeCommand(words)).toBe(line);
  });

  it('refuses line breaks, NUL, empty commands and oversized lines', () => {
    expect(() => encodeCommand(['PASSWORD', 'a\nLOGOUT'])).toThrow(/line break or NUL/);
    expect(() => encodeCommand(['X', 'a\0b'])).toThrow(/line break or NUL/);
    expect(() => encodeCommand([])).toThrow(/empty command/);
    expect(() => encodeCommand(['X', 'a'.repeat(MAX_LINE_BYTES)])).toThrow(/longer than/);
  });

  it('quote and tokenize round-trip any printable words', () => {
    const rnd = prng(7);
    const alphabet = 'ab "\\\t.-_Zé€';
    for (let n = 0; n < 2000; n++) {
      const words = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () =>
        Array.from({ length: Math.floor(rnd() * 8) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join(''),
      );
      const line = words.map(quote).join(' ');
      expect(tokenize(line)).toEqual({ ok: true, value: words });
    }
  });
});

describe('tokenizing reply lines', () => {
  it('reads upsd escapes (captured UPS description with quotes)', () => {
    expect(tokenize('UPS labups "Lab \\"quoted\\" UPS"')).toEqual({ ok: true, value: ['UPS', 'labups', 'Lab "quoted" UPS'] });
    expect(tokenize('VAR u x "a\\\\b"')).toEqual({ ok: true, value: ['VAR', 'u', 'x', 'a\\b'] });
    expect(tokenize('  OK   ')).toEqual({ ok: true, value: ['OK'] });
  });

  it.each([
    ['VAR u x "open', /unterminated/],
    ['VAR u x "a\\', /dangling backslash/],
    ['VAR u x "a"b', /after a closing quote/],
    ['VA"R', /quote inside a bare word/],
  ])('rejects %j', (line, why) => {
    const t = tokenize(line);
    expect(t.ok).toBe(false);
    if (!t.ok) expect(t.error).toMatch(why);
  });
});

describe('line splitter', () => {
  it('gives the same lines whatever the chunking (captured LIST VAR)', () => {
    const bytes = fixture('list-var-labups-ol.txt');
    const whole = new LineSplitter().push(bytes).lines;
    expect(whole[0]).toBe('BEGIN LIST VAR labups');
    expect(whole.at(-1)).toBe('END LIST VAR labups');
    const rnd = prng(11);
    for (let n = 0; n < 200; n++) {
      const s = new LineSplitter();
      const got: string[] = [];
      for (let i = 0; i < bytes.length; ) {
        const len = 1 + Math.floor(rnd() * 40);
        got.push(...s.push(bytes.subarray(i, i + len)).lines);
        i += len;
      }
      expect(got).toEqual(whole);
      expect(s.pending).toBe(0);
    }
  });

  it('keeps a partial line until its end arrives; strips CR', () => {
    const s = new LineSplitter();
    expect(s.push(Buffer.from('OK STA')).lines).toEqual([]);
    expect(s.pending).toBe(6);
    expect(s.push(Buffer.from('RTTLS\r\nOK\n')).lines).toEqual(['OK STARTTLS', 'OK']);
  });

  it('refuses a line over the limit, also when it arrives in pieces, and stays failed', () => {
    const s = new LineSplitter({ maxBytes: 16 });
    expect(s.push(Buffer.from('0123456789')).error).toBeUndefined();
    expect(s.push(Buffer.from('0123456789')).error).toBe('line longer than 16 bytes');
    expect(s.push(Buffer.from('OK\n'))).toEqual({ lines: [], error: 'line longer than 16 bytes' });
    expect(new LineSplitter().push(Buffer.alloc(MAX_LINE_BYTES + 1, 0x41)).error).toMatch(/longer than 4096/);
  });
});

describe('replies (captured from upsd 2.8.0)', () => {
  it('LIST UPS', () => {
    expect(upsListOf(one(fixture('list-ups.txt')))).toEqual({
      ok: true,
      value: [
        { name: 'labups', description: 'Lab "quoted" UPS' },
        { name: 'second', description: 'Description unavailable' },
      ],
    });
  });

  it('LIST VAR while online, on battery low, and with FSD latched', () => {
    const read = (file: string) => {
      const vars = varsOf(one(fixture(file)), 'labups');
      if (!vars.ok) throw new Error(vars.error);
      return readingOf(vars.value);
    };
    const ol = varsOf(one(fixture('list-var-labups-ol.txt')), 'labups');
    expect(ol.ok && ol.value.get('driver.parameter.port')).toBe('/tmp/nutcap/etc/labups.dev');
    expect(read('list-var-labups-ol.txt')).toEqual({
      ok: true,
      value: { status: 'online', flags: ['OL'], chargePct: 100, runtimeS: 1800, loadPct: 23, inputV: 230, batteryV: 27.3 },
    });
    expect(read('list-var-labups-oblb.txt')).toMatchObject({ ok: true, value: { status: 'low_battery', flags: ['OB', 'LB', 'DISCHRG'], chargePct: 9 } });
    expect(read('list-var-labups-fsd.txt')).toMatchObject({ ok: true, value: { status: 'shutting_down', flags: ['FSD', 'OL'] } });
  });

  it('LIST RW, LIST CMD, LIST CLIENT (empty) and the illustrative §2.3 block', () => {
    const rw = varsOf(one(fixture('list-rw-labups.txt')), 'labups', 'RW');
    expect(rw.ok && rw.value.get('ups.status')).toBe('OL');
    expect(namesOf(one(fixture('list-cmd-labups.txt')), 'CMD', 'labups')).toEqual({ ok: true, value: ['load.off'] });
    expect(namesOf(one(fixture('list-client-empty.txt')), 'CLIENT', 'labups')).toEqual({ ok: true, value: [] });
    const ex = varsOf(one(fixture('protocols-example.txt')), 'su700');
    expect(ex.ok && [...ex.value]).toEqual([
      ['battery.charge', '100'],
      ['ups.status', 'OL'],
    ]);
  });

  it('single lines: NUMLOGINS, UPSDESC, GET VAR', () => {
    const [num, desc, get] = replies(fixture('single-lines.txt')).replies as Reply[];
    expect(numLoginsOf(num as Reply, 'labups')).toEqual({ ok: true, value: 0 });
    expect(desc).toMatchObject({ kind: 'line', words: ['UPSDESC', 'labups', 'Lab "quoted" UPS'] });
    expect(getVarOf(get as Reply, 'labups', 'ups.status')).toEqual({ ok: true, value: 'FSD OL' });
    expect(getVarOf(get as Reply, 'labups', 'battery.charge').ok).toBe(false);
    expect(numLoginsOf(get as Reply, 'labups').ok).toBe(false);
  });

  it('a primary session: OK lines, PRIMARY/MASTER granted, FSD set, an ERR, goodbye', () => {
    const r = replies(fixture('session-primary.txt')).replies;
    expect(r.map((x) => (x.kind === 'line' ? x.raw : x.kind === 'err' ? `ERR ${x.code}` : `LIST ${x.args.join(' ')}`))).toEqual([
      'OK',
      'OK',
      'OK',
      'NUMLOGINS labups 1',
      'LIST CLIENT labups',
      'OK PRIMARY-GRANTED',
      'OK MASTER-GRANTED',
      'OK FSD-SET',
      'ERR CMD-NOT-SUPPORTED',
      'OK Goodbye',
    ]);
    expect(namesOf(r[4] as Reply, 'CLIENT', 'labups')).toEqual({ ok: true, value: ['127.0.0.1'] });
  });

  it('decoders refuse a reply of the wrong kind or for another UPS', () => {
    const list = one(fixture('list-var-labups-ol.txt'));
    expect(varsOf(list, 'other')).toMatchObject({ ok: false, error: expect.stringMatching(/for UPS "labups" in the list of "other"/) });
    expect(upsListOf(list)).toMatchObject({ ok: false, error: 'expected LIST UPS, got a LIST VAR labups block' });
    expect(varsOf(one('ERR UNKNOWN-UPS\n'), 'x')).toMatchObject({ ok: false, error: 'expected LIST VAR, got ERR UNKNOWN-UPS' });
    expect(varsOf(one('BEGIN LIST VAR u\nVAR u x\nEND LIST VAR u\n'), 'u').ok).toBe(false);
  });
});

describe('ERR answers', () => {
  it('captured codes map to error codes and keep the server code in the message', () => {
    const errs = replies(fixture('errors.txt')).replies.map((r) => (r.kind === 'err' ? r.code : '?'));
    expect(errs).toEqual(['UNKNOWN-UPS', 'VAR-NOT-SUPPORTED', 'DRIVER-NOT-CONNECTED', 'FEATURE-NOT-CONFIGURED', 'UNKNOWN-COMMAND', 'USERNAME-REQUIRED', 'USERNAME-REQUIRED']);
    expect(errs.map(errorCodeFor)).toEqual(['NOT_FOUND', 'UNSUPPORTED', 'UNREACHABLE', 'REFUSED', 'PROTOCOL', 'AUTH', 'AUTH']);
  });

  it('illustrative codes, extras, and unknown codes', () => {
    const r = replies(fixture('errors-illustrative.txt')).replies;
    const errs = r.map((x) => (x.kind === 'err' ? [x.code, x.extra, errorCodeFor(x.code)] : []));
    expect(errs).toEqual([
      ['DATA-STALE', '', 'UNREACHABLE'],
      ['INVALID-PASSWORD', '', 'AUTH'],
      ['ACCESS-DENIED', 'SSL handshake failed', 'AUTH'],
      ['CMD-NOT-SUPPORTED', '', 'UNSUPPORTED'],
      ['INSTCMD-FAILED', '', 'REFUSED'],
      ['SOMETHING-NEW', 'with extra words', 'PROTOCOL'],
    ]);
  });

  it('messages name the server and command; a lost driver says so', () => {
    const e = nutError('DATA-STALE', '', 'nut://127.0.0.1:3493/labups', 'LIST VAR labups');
    expect(e.code).toBe('UNREACHABLE');
    expect(e.message).toBe('nut://127.0.0.1:3493/labups: ERR DATA-STALE on LIST VAR labups: the NUT driver lost the UPS (its data is stale)');
    expect(nutError('ACCESS-DENIED', '', 'nut://h:1/u', 'LOGIN u').message).toBe('nut://h:1/u: ERR ACCESS-DENIED on LOGIN u');
    expect(nutError('DRIVER-NOT-CONNECTED', '', 'w', 'x').message).toMatch(/driver lost the UPS/);
  });
});

describe('garbage, truncation, limits', () => {
  it('every line of garbage.txt is garbage to a fresh assembler', () => {
    const lines = fixture('garbage.txt').toString().split('\n').slice(0, -1);
    expect(lines.length).toBe(9);
    for (const line of lines) expect(new ReplyAssembler().feed(line)).toMatchObject({ status: 'garbage' });
  });

  it('a truncated list is "need more", not garbage', () => {
    const bytes = fixture('truncated-list.txt');
    const s = new LineSplitter();
    const asm = new ReplyAssembler();
    const feeds = s.push(bytes).lines.map((l) => asm.feed(l).status);
    expect(feeds).toEqual(['more', 'more']);
    expect(asm.open).toBe(true);
    expect(s.pending).toBeGreaterThan(0);
  });

  it('list structure errors: END for another list, ERR or BEGIN inside, too many items', () => {
    const feedAll = (text: string, max?: number) => {
      const asm = new ReplyAssembler(max);
      return text.split('\n').map((l) => asm.feed(l).status);
    };
    expect(feedAll('BEGIN LIST VAR a\nEND LIST VAR b')).toEqual(['more', 'garbage']);
    expect(feedAll('BEGIN LIST VAR a\nERR DATA-STALE')).toEqual(['more', 'garbage']);
    expect(feedAll('BEGIN LIST VAR a\nBEGIN LIST VAR a')).toEqual(['more', 'garbage']);
    expect(feedAll('BEGIN LIST VAR a\nVAR a x "1"\nVAR a y "2"\nVAR a z "3"', 2)).toEqual(['more', 'more', 'more', 'garbage']);
    expect(feedAll('BEGIN LIST VAR a\nVAR a x "1"\nEND LIST VAR A')).toEqual(['more', 'more', 'done']);
  });
});

describe('ups.status and numbers', () => {
  it.each([
    ['OL', 'online'],
    ['OL CHRG', 'online'],
    ['OB DISCHRG', 'on_battery'],
    ['OB LB', 'low_battery'],
    ['LB OB', 'low_battery'],
    ['OL LB', 'online'],
    ['FSD OB LB', 'shutting_down'],
    ['FSD OL', 'shutting_down'],
    ['OFF', 'off'],
    ['OB OFF LB', 'off'],
    ['OL BYPASS OVER TRIM ALARM', 'online'],
    ['OL RB HB CAL BOOST NEWTOKEN', 'online'],
  ])('%j → %s', (value, status) => {
    expect(statusOf(value)).toEqual({ ok: true, value: { status, flags: value.split(' ') } });
  });

  it.each(['WAIT', '', '   ', 'CHRG', 'LB'])('%j: no status yet', (value) => {
    expect(statusOf(value)).toMatchObject({ ok: false, error: expect.stringMatching(/^no status yet/) });
  });

  it('a reading without ups.status is "no status yet"; missing numbers are null', () => {
    expect(readingOf(new Map([['battery.charge', '5']]))).toEqual({ ok: false, error: 'no status yet (ups.status is missing)' });
    expect(readingOf(new Map([['ups.status', 'OL']]))).toEqual({
      ok: true,
      value: { status: 'online', flags: ['OL'], chargePct: null, runtimeS: null, loadPct: null, inputV: null, batteryV: null },
    });
  });

  it.each([
    ['023.4', 23.4],
    ['230.0', 230],
    ['100', 100],
    ['-5', -5],
    ['.5', 0.5],
    ['', null],
    ['abc', null],
    ['1e5', null],
    ['12,5', null],
    ['Infinity', null],
    [undefined, null],
  ])('number %j → %j', (text, n) => {
    expect(numberOf(text)).toBe(n);
  });
});

describe('fuzz (seeded)', () => {
  const seeds = ['list-var-labups-ol.txt', 'list-ups.txt', 'session-primary.txt', 'errors.txt', 'list-cmd-labups.txt', 'single-lines.txt'].map(fixture);

  /** Runs the whole decode path on bytes; returns normally whatever they are. */
  function decodeEverything(bytes: Buffer, chunk: number): void {
    const s = new LineSplitter({ maxBytes: 512 });
    let asm = new ReplyAssembler(50);
    for (let i = 0; i < bytes.length; i += chunk) {
      const { lines } = s.push(bytes.subarray(i, i + chunk));
      for (const line of lines) {
        const f = asm.feed(line);
        if (f.status === 'more') continue;
        asm = new ReplyAssembler(50);
        if (f.status === 'done') {
          const r = f.reply;
          varsOf(r, 'labups');
          upsListOf(r);
          namesOf(r, 'CMD', 'labups');
          getVarOf(r, 'labups', 'ups.status');
          numLoginsOf(r, 'labups');
          if (r.kind === 'line') statusOf(r.raw);
          const v = varsOf(r, 'labups');
          if (v.ok) readingOf(v.value);
        }
      }
    }
  }

  it('2,000 random and mutated inputs: no throw, bounded time', () => {
    const rnd = prng(20240607);
    const started = Date.now();
    const tokens = ['"', '\\', ' ', '\n', '\r', 'BEGIN LIST VAR labups\n', 'END LIST VAR labups\n', 'ERR ', 'VAR labups ups.status ', 'OK\n', '\0'];
    for (let n = 0; n < 2000; n++) {
      let bytes: Buffer;
      const kind = n % 3;
      if (kind === 0) {
        bytes = Buffer.from(Array.from({ length: Math.floor(rnd() * 600) }, () => Math.floor(rnd() * 256)));
      } else {
        const base = Buffer.from(seeds[Math.floor(rnd() * seeds.length)] as Buffer);
        const parts: Buffer[] = [base];
        for (let m = 0; m < 1 + Math.floor(rnd() * 8); m++) {
          const at = Math.floor(rnd() * base.length);
          if (kind === 1) base[at] = Math.floor(rnd() * 256);
          else parts.push(Buffer.from(tokens[Math.floor(rnd() * tokens.length)] as string));
        }
        bytes = Buffer.concat(parts);
        if (rnd() < 0.1) bytes = Buffer.concat([bytes, Buffer.alloc(700, 0x41)]);
      }
      expect(() => decodeEverything(bytes, 1 + Math.floor(rnd() * 64))).not.toThrow();
      expect(() => tokenize(bytes.toString('latin1'))).not.toThrow();
    }
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
