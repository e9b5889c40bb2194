import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ALERT_CHARS,
  ApcStreamDecoder,
  MAX_LINE,
  encodeShutdownReturn,
  parseDecimal,
  parseRuntime,
  parseStatus,
  pushForAlert,
  statusFromBits,
  type DecodeEvent,
} from '../../../src/adapters/ups/apc-smart/codec';
import { repoRoot } from '../../helpers/repo';
import { prng } from '../../helpers/prng';

interface Vectors {
  streams: { name: string; source: string; hex: string; events: [string, string?][]; pending?: number }[];
  status: { reply: string; flags: string[]; status: string }[];
  status_not_ready: string;
  decimal: [string, number][];
  runtime: [string, number][];
  bad: { status: string[]; decimal: string[]; runtime: string[] };
}

const vectors = JSON.parse(readFileSync(join(repoRoot(), 'test/fixtures/apc-smart/vectors.json'), 'utf8')) as Vectors;
const bytes = (hex: string) => Buffer.from(hex.replace(/\s+/g, ''), 'hex');
const brief = (evs: DecodeEvent[]) => evs.map((e) => (e.kind === 'line' ? ['line', e.text] : e.kind === 'alert' ? ['alert', e.char] : ['garbage']));


describe('APC smart stream decoder', () => {
  it.each(vectors.streams.map((s) => [s.name, s] as const))('%s', (_name, s) => {
    const d = new ApcStreamDecoder();
    expect(brief(d.push(bytes(s.hex)))).toEqual(s.events);
    expect(d.pending).toBe(s.pending ?? 0);
  });

  it('gives the same events whatever the chunking (byte by byte)', () => {
    for (const s of vectors.streams) {
      const d = new ApcStreamDecoder();
      const out: DecodeEvent[] = [];
      for (const b of bytes(s.hex)) out.push(...d.push(Uint8Array.of(b)));
      expect(brief(out)).toEqual(s.events);
    }
  });

  it('yields an alert the moment its byte arrives, before the line it interrupts ends', () => {
    const d = new ApcStreamDecoder();
    expect(d.push(Buffer.from('09'))).toEqual([]);
    expect(d.push(Buffer.from('%'))).toEqual([{ kind: 'alert', char: '%' }]);
    expect(d.push(Buffer.from('9.0\r\n'))).toEqual([{ kind: 'line', text: '099.0' }]);
  });

  it('reports a line that never ends once, without growing, and resyncs', () => {
    const d = new ApcStreamDecoder();
    const evs = d.push(Buffer.alloc(10_000, 0x41));
    expect(evs).toEqual([{ kind: 'garbage', reason: `reply longer than ${MAX_LINE} bytes without LF` }]);
    expect(d.pending).toBeLessThanOrEqual(MAX_LINE);
    expect(d.push(Buffer.from('x\r\nOK\r\n'))).toEqual([{ kind: 'line', text: 'OK' }]);
    // exactly MAX_LINE bytes is still a line
    expect(brief(d.push(Buffer.from(`${'B'.repeat(MAX_LINE)}\n`)))).toEqual([['line', 'B'.repeat(MAX_LINE)]]);
  });
});

describe('APC smart reply parsers', () => {
  it.each(vectors.status.map((v) => [v.reply, v] as const))('Q %s', (reply, v) => {
    expect(parseStatus(reply)).toEqual({ ok: true, value: { bits: parseInt(reply, 16), flags: v.flags, status: v.status } });
  });

  it('Q: SM means not ready, NA unsupported, anything else an error naming the reply', () => {
    expect(parseStatus(vectors.status_not_ready)).toMatchObject({ ok: false, notReady: true });
    expect(parseStatus('NA')).toEqual({ ok: false, na: true });
    for (const b of vectors.bad.status) {
      const r = parseStatus(b);
      expect(r.ok).toBe(false);
      if (!r.ok && !r.na) expect(r.error).toContain('status');
    }
  });

  it('round trip: every status byte, generated as the UPS sends it, parses back to the same bits', () => {
    for (let bits = 0; bits < 256; bits++) {
      const reply = bits.toString(16).toUpperCase().padStart(2, '0');
      const parsed = parseStatus(reply);
      expect(parsed).toEqual({ ok: true, value: statusFromBits(bits) });
      if (parsed.ok) {
        expect(parsed.value.flags.includes('OB')).toBe((bits & 0x10) !== 0);
        expect(parsed.value.flags.includes('LB')).toBe((bits & 0x40) !== 0);
      }
    }
  });

  it.each(vectors.decimal)('decimal %s', (reply, value) => {
    expect(parseDecimal(reply, 'x')).toEqual({ ok: true, value });
  });

  it.each(vectors.runtime)('runtime %s (minutes) in seconds', (reply, seconds) => {
    expect(parseRuntime(reply)).toEqual({ ok: true, value: seconds });
  });

  it('refuses bad numbers with a message naming the field and the reply; NA is not an error', () => {
    for (const b of vectors.bad.decimal) expect(parseDecimal(b, 'load (P)')).toEqual({ ok: false, na: false, error: expect.stringContaining('load (P)') });
    for (const b of vectors.bad.runtime) expect(parseRuntime(b)).toEqual({ ok: false, na: false, error: expect.stringContaining('runtime') });
    expect(parseDecimal('NA', 'x')).toEqual({ ok: false, na: true });
    expect(parseRuntime('NA')).toEqual({ ok: false, na: true });
    expect(parseDecimal('\x01\x02', 'x')).toEqual({ ok: false, na: false, error: expect.stringContaining('\\x01\\x02') });
  });

  it('encodes @ddd with three digits, clamped', () => {
    expect(encodeShutdownReturn(0)).toBe('@000');
    expect(encodeShutdownReturn(12)).toBe('@012');
    expect(encodeShutdownReturn(5000)).toBe('@999');
    expect(encodeShutdownReturn(-3)).toBe('@000');
  });
});

describe('APC smart alerts → pushes', () => {
  it('maps each alert against the last known flags', () => {
    expect(pushForAlert('!', ['OL'])).toEqual({ status: 'on_battery', flags: ['OB'] });
    expect(pushForAlert('$', ['OB', 'LB'])).toEqual({ status: 'online', flags: ['OL'] });
    expect(pushForAlert('%', ['OB'])).toEqual({ status: 'low_battery', flags: ['OB', 'LB'] });
    expect(pushForAlert('+', ['OB', 'LB'])).toEqual({ status: 'on_battery', flags: ['OB'] });
    expect(pushForAlert('+', ['OL', 'LB'])).toEqual({ status: 'online', flags: ['OL'] });
    expect(pushForAlert('#', ['OL'])).toEqual({ status: 'online', flags: ['OL', 'RB'] });
    expect(pushForAlert('?', ['OB'])).toEqual({ status: 'on_battery', flags: ['OB', 'ALARM'] });
    expect(pushForAlert('=', ['OB', 'ALARM'])).toEqual({ status: 'on_battery', flags: ['OB'] });
    expect(pushForAlert('*', ['OB', 'LB'])).toEqual({ status: 'shutting_down', flags: ['OB', 'LB', 'SD'] });
    expect(pushForAlert('&', ['OL'])).toBeNull();
  });
});

describe('APC smart codec fuzz (seeded)', () => {
  const samples = vectors.streams.map((s) => bytes(s.hex));

  function randomInput(rand: () => number): Buffer {
    if (rand() < 0.5) {
      // random bytes, biased towards the protocol's own characters
      const n = Math.floor(rand() * 200);
      const alphabet = Buffer.from(`0123456789ABCDEF.:NASMOK\r\n|${ALERT_CHARS}`);
      return Buffer.from(Array.from({ length: n }, () => (rand() < 0.7 ? alphabet[Math.floor(rand() * alphabet.length)]! : Math.floor(rand() * 256))));
    }
    // a good stream with a few bytes flipped, dropped or repeated
    const base = [...samples[Math.floor(rand() * samples.length)]!];
    const edits = 1 + Math.floor(rand() * 4);
    for (let i = 0; i < edits && base.length > 0; i++) {
      const at = Math.floor(rand() * base.length);
      const op = rand();
      if (op < 0.4) base[at] = Math.floor(rand() * 256);
      else if (op < 0.7) base.splice(at, 1);
      else base.splice(at, 0, ...base.slice(at, at + Math.floor(rand() * 80)));
    }
    return Buffer.from(base);
  }

  it('2,000 random and mutated inputs: no throw, bounded buffer, parsers answer every line', () => {
    const rand = prng(0xa9c5);
    for (let i = 0; i < 2000; i++) {
      const input = randomInput(rand);
      const d = new ApcStreamDecoder();
      let evs: DecodeEvent[] = [];
      // split at a random point to exercise partial lines
      const cut = Math.floor(rand() * (input.length + 1));
      expect(() => {
        evs = [...d.push(input.subarray(0, cut)), ...d.push(input.subarray(cut))];
      }).not.toThrow();
      expect(d.pending).toBeLessThanOrEqual(MAX_LINE);
      for (const e of evs) {
        if (e.kind === 'alert') expect(ALERT_CHARS).toContain(e.char);
        if (e.kind !== 'line') continue;
        expect(e.text.length).toBeLessThanOrEqual(MAX_LINE);
        expect(e.text).toMatch(/^[\x20-\x7e]*$/);
        for (const r of [parseStatus(e.text), parseDecimal(e.text, 'x'), parseRuntime(e.text)]) {
          if (r.ok) expect(typeof r.value === 'number' ? Number.isFinite(r.value) : true).toBe(true);
          else if (!r.na) expect(typeof r.error).toBe('string');
        }
      }
    }
  });
});
