/**
 * The NUT server codec: request lines as upsd reads them, replies byte for byte as upsd writes
 * them (checked against the upsd 2.8.0 captures in test/fixtures/nut), round trips through the
 * client codec, Blackstart state as NUT variables, and bad input.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineSplitter, ReplyAssembler, encodeCommand, getVarOf, numLoginsOf, readingOf, statusOf, upsListOf, varsOf, type Reply, type SplitItem } from '../../../src/adapters/ups/nut/codec';
import {
  MAX_REQUEST_BYTES,
  REQUEST_SPLITTING,
  errLine,
  listBlock,
  nutNumber,
  nutStatus,
  nutVariables,
  parseRequest,
  quoted,
  varLine,
} from '../../../src/compat/nut/codec';
import { initialUpsState, type UpsState } from '../../../src/core/state';
import { prng } from '../../helpers/prng';
import { repoRoot } from '../../helpers/repo';

const upsdFixture = (name: string): string => readFileSync(join(repoRoot(), 'test/fixtures/nut', name), 'latin1');

/** Every reply in `text`, read the way the NUT client reads a server. */
function clientReads(text: string): Reply[] {
  const { lines, error } = new LineSplitter().push(Buffer.from(text, 'latin1'));
  if (error) throw new Error(error);
  const out: Reply[] = [];
  let asm = new ReplyAssembler();
  for (const line of lines) {
    const f = asm.feed(line);
    if (f.status === 'garbage') throw new Error(f.error);
    if (f.status === 'done') {
      out.push(f.reply);
      asm = new ReplyAssembler();
    }
  }
  if (asm.open) throw new Error('a list was left open');
  return out;
}

const lineOf = (line: string): SplitItem => ({ kind: 'line', line });

describe('cutting the request stream into lines', () => {
  it('joins lines split across chunks and strips CR', () => {
    const s = new LineSplitter(REQUEST_SPLITTING);
    expect(s.split(Buffer.from('GET VAR lab'))).toEqual([]);
    expect(s.pending).toBe(11);
    expect(s.split(Buffer.from('ups ups.status\r\nLIST UPS\nVER'))).toEqual([lineOf('GET VAR labups ups.status'), lineOf('LIST UPS')]);
    expect(s.split(Buffer.from('\n'))).toEqual([lineOf('VER')]);
    expect(s.pending).toBe(0);
  });

  it('reports an over-long line once, skips to its end and reads the next one', () => {
    const s = new LineSplitter({ ...REQUEST_SPLITTING, maxBytes: 16 });
    expect(s.split(Buffer.from('GET VAR labups ups.'))).toEqual([{ kind: 'too_long' }]);
    expect(s.split(Buffer.from('x'.repeat(5000)))).toEqual([]);
    expect(s.split(Buffer.from('status\nVER\n'))).toEqual([lineOf('VER')]);
  });

  it('a line of exactly the limit passes; one byte more does not', () => {
    const s = new LineSplitter(REQUEST_SPLITTING);
    expect(s.split(Buffer.from(`${'a'.repeat(MAX_REQUEST_BYTES)}\n`))).toEqual([lineOf('a'.repeat(MAX_REQUEST_BYTES))]);
    expect(s.split(Buffer.from(`${'a'.repeat(MAX_REQUEST_BYTES + 1)}\nVER\n`))).toEqual([{ kind: 'too_long' }, lineOf('VER')]);
  });

  it('gives the same lines however the bytes are chunked', () => {
    const text = Buffer.from(`USERNAME monuser\r\nPASSWORD "a b\\"c"\nLOGIN rack\n${'z'.repeat(2000)}\nGET VAR rack ups.status\n`);
    const whole = new LineSplitter(REQUEST_SPLITTING).split(text);
    const rand = prng(7);
    for (let round = 0; round < 50; round++) {
      const s = new LineSplitter(REQUEST_SPLITTING);
      const got: SplitItem[] = [];
      for (let i = 0; i < text.length; ) {
        const n = 1 + Math.floor(rand() * 40);
        got.push(...s.split(text.subarray(i, i + n)));
        i += n;
      }
      expect(got).toEqual(whole);
    }
    expect(whole.map((c) => (c.kind === 'line' ? c.line.split(' ')[0] : c.kind))).toEqual(['USERNAME', 'PASSWORD', 'LOGIN', 'too_long', 'GET']);
  });
});

describe('reading a request', () => {
  it.each([
    ['GET VAR labups ups.status', 'GET', ['VAR', 'labups', 'ups.status']],
    ['get var labups ups.status', 'GET', ['var', 'labups', 'ups.status']],
    ['  LIST   UPS  ', 'LIST', ['UPS']],
    ['GET VAR "labups" "ups.status"', 'GET', ['VAR', 'labups', 'ups.status']],
    ['PASSWORD "pass word \\"quoted\\" back\\\\slash"', 'PASSWORD', ['pass word "quoted" back\\slash']],
    ['INSTCMD rack test.battery.start "60"', 'INSTCMD', ['rack', 'test.battery.start', '60']],
    ['USERNAME\tmonuser', 'USERNAME', ['monuser']],
    ['SET VAR rack ups.id ""', 'SET', ['VAR', 'rack', 'ups.id', '']],
  ])('%j', (line, command, args) => {
    expect(parseRequest(line)).toEqual({ ok: true, request: { command, args } });
  });

  it.each([
    ['', 'UNKNOWN-COMMAND', 'empty line'],
    ['   ', 'UNKNOWN-COMMAND', 'empty line'],
    ['GET VAR labups "ups.status', 'INVALID-ARGUMENT', 'unterminated quoted string'],
    ['GET VAR labups ups.status\\', 'INVALID-ARGUMENT', 'dangling backslash'],
    ['GET VAR lab"ups ups.status', 'INVALID-ARGUMENT', 'quote inside a bare word'],
    ['GET VAR "labups"x ups.status', 'INVALID-ARGUMENT', 'text right after a closing quote'],
    ['GET VAR labups ups.\x01status', 'INVALID-ARGUMENT', 'byte 0x01 at column 20'],
    ['GET VAR lab\u00c3\u00a9ups ups.status', 'INVALID-ARGUMENT', 'byte 0xc3 at column 12'],
    ['GET VAR labups ups.status\0', 'INVALID-ARGUMENT', 'byte 0x00'],
    [`LIST ${'x '.repeat(32)}`, 'INVALID-ARGUMENT', 'more than 32 words'],
  ])('refuses %j with ERR %s', (line, error, why) => {
    const r = parseRequest(line);
    expect(r).toMatchObject({ ok: false, error });
    expect(r.ok ? '' : r.why).toContain(why);
  });

  it('reads what the client codec encodes, word for word', () => {
    const cases = [['LIST', 'VAR', 'labups'], ['PASSWORD', 'p"a\\s s'], ['INSTCMD', 'rack', 'load.off.delay', '120'], ['USERNAME', 'a\tb'], ['SET', 'VAR', 'rack', 'x', '']];
    for (const words of cases) {
      const r = parseRequest(encodeCommand(words).slice(0, -1));
      expect(r).toEqual({ ok: true, request: { command: (words[0] as string).toUpperCase(), args: words.slice(1) } });
    }
  });

  it('never throws on random bytes', () => {
    const rand = prng(42);
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.from(Array.from({ length: Math.floor(rand() * 80) }, () => Math.floor(rand() * 256)));
      const chunks = new LineSplitter({ ...REQUEST_SPLITTING, maxBytes: 64 }).split(bytes);
      for (const c of chunks) if (c.kind === 'line') expect(() => parseRequest(c.line)).not.toThrow();
      expect(() => parseRequest(bytes.toString('latin1'))).not.toThrow();
    }
  });
});

describe('writing replies as upsd 2.8.0 does', () => {
  it('a LIST VAR block, byte for byte', () => {
    for (const name of ['list-var-labups-ol.txt', 'list-var-labups-oblb.txt', 'list-var-labups-fsd.txt', 'protocols-example.txt']) {
      const text = upsdFixture(name);
      const [reply] = clientReads(text);
      const ups = (reply?.kind === 'list' ? reply.args[1] : '') as string;
      const vars = varsOf(reply as Reply, ups);
      if (!vars.ok) throw new Error(vars.error);
      expect(listBlock(['VAR', ups], [...vars.value].map(([k, v]) => varLine(ups, k, v)))).toBe(text);
    }
  });

  it('LIST UPS with an escaped description, LIST CMD, an empty LIST CLIENT', () => {
    expect(listBlock(['UPS'], [`UPS labups ${quoted('Lab "quoted" UPS')}\n`, `UPS second ${quoted('Description unavailable')}\n`])).toBe(upsdFixture('list-ups.txt'));
    expect(listBlock(['CMD', 'labups'], ['CMD labups load.off\n'])).toBe(upsdFixture('list-cmd-labups.txt'));
    expect(listBlock(['CLIENT', 'labups'], [])).toBe(upsdFixture('list-client-empty.txt'));
  });

  it('single lines and errors', () => {
    const single = upsdFixture('single-lines.txt').split('\n');
    expect(`UPSDESC labups ${quoted('Lab "quoted" UPS')}`).toBe(single[1]);
    expect(varLine('labups', 'ups.status', 'FSD OL')).toBe(`${single[2]}\n`);
    expect(['UNKNOWN-UPS', 'VAR-NOT-SUPPORTED', 'DRIVER-NOT-CONNECTED', 'FEATURE-NOT-CONFIGURED', 'UNKNOWN-COMMAND', 'USERNAME-REQUIRED'].every((c) => upsdFixture('errors.txt').includes(`ERR ${c}\n`))).toBe(true);
    expect(errLine('UNKNOWN-UPS')).toBe('ERR UNKNOWN-UPS\n');
    expect(errLine('DATA-STALE')).toBe('ERR DATA-STALE\n');
  });

  it('values with quotes, backslashes and blanks survive the client reading them back', () => {
    const values = ['', 'OL', 'FSD OB LB', 'a "quoted" value', 'back\\slash\\', '"', '\\"', 'tab\there', '  padded  '];
    const text = listBlock(['VAR', 'rack'], values.map((v, i) => varLine('rack', `x.v${i}`, v)));
    const vars = varsOf(clientReads(text)[0] as Reply, 'rack');
    expect(vars.ok && [...vars.value.values()]).toEqual(values);
    for (const v of values) {
      const got = getVarOf(clientReads(varLine('rack', 'ups.model', v))[0] as Reply, 'rack', 'ups.model');
      expect(got).toEqual({ ok: true, value: v });
    }
    expect(upsListOf(clientReads(listBlock(['UPS'], [`UPS rack ${quoted('Rack "A" UPS')}\n`]))[0] as Reply)).toEqual({ ok: true, value: [{ name: 'rack', description: 'Rack "A" UPS' }] });
    expect(numLoginsOf(clientReads('NUMLOGINS rack 2\n')[0] as Reply, 'rack')).toEqual({ ok: true, value: 2 });
  });
});

const at = (patch: Partial<UpsState>): UpsState => ({ ...initialUpsState(0), source: 'test', ...patch });

describe('ups.status from a Blackstart state', () => {
  it.each<[string, Partial<UpsState>, boolean, string | null]>([
    ['online from a NUT source', { status: 'online', flags: ['OL', 'CHRG'] }, false, 'OL CHRG'],
    ['on battery from a NUT source', { status: 'on_battery', flags: ['OB', 'DISCHRG'] }, false, 'OB DISCHRG'],
    ['low battery from a NUT source', { status: 'low_battery', flags: ['OB', 'DISCHRG', 'LB'] }, false, 'OB LB DISCHRG'],
    ['online, no flags (a simulated UPS before its first flags)', { status: 'online', flags: [] }, false, 'OL'],
    ['low battery with FSD latched', { status: 'low_battery', flags: ['OB', 'LB'] }, true, 'FSD OB LB'],
    ['online with FSD latched (a planned outage)', { status: 'online', flags: ['OL'] }, true, 'FSD OL'],
    ['apcupsd words with a NUT meaning', { status: 'online', flags: ['ONLINE', 'REPLACEBATT', 'OVERLOAD', 'TRIM'] }, false, 'OL RB OVER TRIM'],
    ['apcupsd words without one are left out', { status: 'on_battery', flags: ['ONBATT', 'COMMLOST', 'SLAVE'] }, false, 'OB'],
    ['a stale CHRG on battery is dropped', { status: 'on_battery', flags: ['OB', 'CHRG'] }, false, 'OB'],
    ['UPS output off', { status: 'off', flags: ['OFF'] }, false, 'OFF'],
    ['UPS output off with the line known', { status: 'off', flags: ['OFF', 'OL'] }, false, 'OFF OL'],
    ['the UPS itself shutting down', { status: 'shutting_down', flags: ['SD'] }, false, 'FSD OB LB'],
    ['a NUT source already in FSD', { status: 'shutting_down', flags: ['FSD', 'OL'] }, false, 'FSD OL'],
    ['contact lost', { status: 'comm_lost', flags: ['OL'] }, false, null],
    ['contact lost with FSD latched: FSD alone', { status: 'comm_lost', flags: ['OB'] }, true, 'FSD'],
  ])('%s', (_what, patch, fsd, want) => {
    expect(nutStatus(at(patch), fsd)).toBe(want);
  });

  it('reads back through the client codec to the same normalized status', () => {
    const states: Partial<UpsState>[] = [
      { status: 'online', flags: ['OL', 'CHRG'] },
      { status: 'on_battery', flags: ['OB', 'DISCHRG'] },
      { status: 'low_battery', flags: ['OB', 'LB'] },
      { status: 'off', flags: ['OFF'] },
      { status: 'shutting_down', flags: [] },
    ];
    for (const s of states) {
      const back = statusOf(nutStatus(at(s), false) as string);
      expect(back.ok && back.value.status).toBe(s.status);
    }
  });
});

describe('NUT variables from a Blackstart state', () => {
  const who = { name: 'Rack UPS', version: '1.2.3' };

  it('lists every known value, sorted, numbers in NUT form, nulls left out', () => {
    const v = nutVariables(at({ status: 'on_battery', flags: ['OB', 'DISCHRG'], chargePct: 87.25, runtimeS: 1234.6, loadPct: 38, inputV: 0, batteryV: null }), who, false);
    expect(v.stale).toBe(false);
    expect([...v.vars]).toEqual([
      ['battery.charge', '87.25'],
      ['battery.runtime', '1235'],
      ['device.mfr', 'Blackstart'],
      ['device.model', 'Rack UPS'],
      ['device.type', 'ups'],
      ['driver.name', 'blackstart'],
      ['driver.version', '1.2.3'],
      ['input.voltage', '0'],
      ['ups.load', '38'],
      ['ups.mfr', 'Blackstart'],
      ['ups.model', 'Rack UPS'],
      ['ups.status', 'OB DISCHRG'],
    ]);
  });

  it('the client codec reads the list back into the same reading', () => {
    const state = at({ status: 'low_battery', flags: ['OB', 'LB', 'DISCHRG'], chargePct: 9, runtimeS: 120, loadPct: 23.4, inputV: 0, batteryV: 23.1 });
    const { vars } = nutVariables(state, who, false);
    const text = listBlock(['VAR', 'rack'], [...vars].map(([k, v]) => varLine('rack', k, v)));
    const back = varsOf(clientReads(text)[0] as Reply, 'rack');
    const reading = back.ok ? readingOf(back.value) : back;
    expect(reading).toEqual({ ok: true, value: { status: 'low_battery', flags: ['OB', 'LB', 'DISCHRG'], chargePct: 9, runtimeS: 120, loadPct: 23.4, inputV: 0, batteryV: 23.1 } });
  });

  it('stale while contact is lost: nothing, or only the FSD status when latched', () => {
    const lost = at({ status: 'comm_lost', flags: ['OB'], chargePct: 50 });
    expect(nutVariables(lost, who, false)).toEqual({ stale: true, vars: new Map() });
    expect(nutVariables(lost, who, true)).toEqual({ stale: true, vars: new Map([['ups.status', 'FSD']]) });
  });

  it.each([
    [100, '100'],
    [0, '0'],
    [27.3, '27.3'],
    [87.256, '87.26'],
    [0.1 + 0.2, '0.3'],
    [1e-7, '0'],
    [-3.5, '-3.5'],
    [123456789012, '123456789012'],
  ])('number %d as %s', (n, s) => {
    expect(nutNumber(n)).toBe(s);
  });
});
