/**
 * The NIS server codec against byte vectors: requests as apcaccess and apcupsd slaves send them,
 * our replies compared line by line with replies a REAL apcupsd 3.14.14 sent
 * (test/fixtures/apcupsd/, see its README), and a round trip through our own NIS client codec.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReplyDecoder, parseEvents, parseStatus, parseTimestamp, recordText } from '../../../src/adapters/ups/apcupsd/codec';
import { readingFromStatus } from '../../../src/adapters/ups/apcupsd';
import {
  MAX_EVENT_LINES,
  MAX_REQUEST_BYTES,
  RequestDecoder,
  encodeEvents,
  encodeStatus,
  eventLine,
  formatStamp,
  invalidCommandReply,
  statFlag,
  statusLines,
  statusWords,
  type RequestStep,
  type StatusInput,
} from '../../../src/compat/apcupsd-nis/codec';
import { EventRing, nisMessages } from '../../../src/compat/apcupsd-nis/events';
import { TransferLog } from '../../../src/compat/apcupsd-nis/transfers';
import type { UpsState } from '../../../src/core/state';
import { prng } from '../../helpers/prng';
import { repoRoot } from '../../helpers/repo';

const fixture = (name: string): Buffer => readFileSync(join(repoRoot(), 'test/fixtures/apcupsd', name));
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** The records of a whole reply, through the client's decoder (which also checks the framing). */
function replyRecords(bytes: Buffer): Buffer[] {
  const step = new ReplyDecoder().push(bytes);
  if (step.kind !== 'reply') throw new Error(`not a whole reply: ${JSON.stringify(step)}`);
  return step.records;
}

/** KEY → the whole line (with its newline) of a reply, as received. */
function linesByKey(records: Buffer[]): Map<string, string> {
  return new Map(records.map((r) => r.toString('latin1')).map((l) => [l.slice(0, l.indexOf(':')).trim(), l]));
}

const T0 = Date.UTC(2026, 11, 1, 13, 0, 0);

function upsState(patch: Partial<UpsState> = {}): UpsState {
  return {
    status: 'online',
    flags: ['OL'],
    chargePct: 100,
    runtimeS: 2700,
    loadPct: 23.4,
    inputV: 230.4,
    batteryV: 27.3,
    onBatteryS: 0,
    source: 'nut://127.0.0.1/ups',
    updated: T0,
    ...patch,
  };
}

function input(patch: Partial<StatusInput> = {}): StatusInput {
  return {
    state: upsState(),
    lastKnown: 'online',
    masterShuttingDown: false,
    identity: { upsName: 'rack', hostname: 'ctl', version: '1.2.3 (Blackstart)', driver: 'Blackstart (nut://127.0.0.1/ups)', model: 'Blackstart', startedAt: T0 - 60_000 },
    transfers: { count: 0, lastOn: null, lastOff: null, completedS: 0 },
    now: T0 + 2000,
    ...patch,
  };
}

describe('requests', () => {
  const decode = (...chunks: Buffer[]): RequestStep[] => {
    const d = new RequestDecoder();
    return chunks.flatMap((c) => d.push(c));
  };

  it('reads `status` and `events` as apcaccess and slaves send them: exactly six bytes', () => {
    expect(decode(hex('00 06 73 74 61 74 75 73'))).toEqual([{ kind: 'status' }]);
    expect(decode(hex('00 06 65 76 65 6e 74 73'))).toEqual([{ kind: 'events' }]);
  });

  it('waits for the rest of a request split anywhere, one byte at a time included', () => {
    const d = new RequestDecoder();
    const bytes = hex('00 06 73 74 61 74 75 73');
    for (let i = 0; i < bytes.length - 1; i++) {
      expect(d.push(bytes.subarray(i, i + 1))).toEqual([]);
      expect(d.pending).toBe(i + 1);
    }
    expect(d.push(bytes.subarray(-1))).toEqual([{ kind: 'status' }]);
    expect(d.pending).toBe(0);
  });

  it('answers several requests sent in one chunk, in order', () => {
    expect(decode(hex('00 06 73 74 61 74 75 73 00 06 65 76 65 6e 74 73 00 06 73 74 61 74 75 73'))).toEqual([
      { kind: 'status' },
      { kind: 'events' },
      { kind: 'status' },
    ]);
  });

  it('treats anything else as an invalid command, as 3.14.14 does (`status\\n`, `status\\0`, `STATUS`, empty-ish)', () => {
    for (const body of ['status\n', 'status\0', 'STATUS', 'statu', 'eventss', 'rawupsinfo']) {
      const steps = decode(Buffer.concat([Buffer.from([0, body.length]), Buffer.from(body, 'latin1')]));
      expect(steps).toEqual([{ kind: 'invalid', request: Buffer.from(body, 'latin1') }]);
    }
  });

  it('a zero-length record ends the conversation, and nothing after it is read', () => {
    expect(decode(hex('00 06 73 74 61 74 75 73 00 00 00 06 65 76 65 6e 74 73'))).toEqual([{ kind: 'status' }, { kind: 'end' }]);
  });

  it(`a length above ${MAX_REQUEST_BYTES} is garbage at once, before its bytes arrive, and the decoder stays closed`, () => {
    const d = new RequestDecoder();
    expect(d.push(hex('01 01'))).toEqual([{ kind: 'garbage', error: expect.stringMatching(/257 bytes/) }]);
    expect(d.push(hex('00 06 73 74 61 74 75 73'))).toEqual([]);
    expect(decode(hex('ff ff'))).toEqual([{ kind: 'garbage', error: expect.stringMatching(/65535 bytes/) }]);
    // The longest apcupsd accepts is still a (invalid) request.
    const longest = Buffer.concat([hex('01 00'), Buffer.alloc(MAX_REQUEST_BYTES, 0x61)]);
    expect(decode(longest)).toEqual([{ kind: 'invalid', request: Buffer.alloc(MAX_REQUEST_BYTES, 0x61) }]);
  });

  it('random bytes never throw, never buffer more than one request, and end in at most one end/garbage', () => {
    const rnd = prng(3551);
    for (let run = 0; run < 500; run++) {
      const d = new RequestDecoder();
      const steps: RequestStep[] = [];
      for (let c = 0; c < 8; c++) {
        const chunk = Buffer.from(Array.from({ length: Math.floor(rnd() * 40) }, () => (rnd() < 0.3 ? 0 : Math.floor(rnd() * 256))));
        steps.push(...d.push(chunk));
        expect(d.pending).toBeLessThanOrEqual(2 + MAX_REQUEST_BYTES);
      }
      const terminal = steps.filter((s) => s.kind === 'end' || s.kind === 'garbage');
      expect(terminal.length).toBeLessThanOrEqual(1);
      if (terminal.length) expect(steps[steps.length - 1]).toBe(terminal[0]);
    }
  });
});

describe('replies', () => {
  it('`Invalid command` is byte for byte what a real apcupsd sent (NUL inside the record, then 00 00)', () => {
    expect(invalidCommandReply()).toEqual(fixture('invalid.bin'));
    expect(invalidCommandReply()).toEqual(hex('00 11 49 6e 76 61 6c 69 64 20 63 6f 6d 6d 61 6e 64 0a 00 00 00'));
  });

  it('a status reply: every byte of a fixed input', () => {
    const bytes = encodeStatus(input());
    const expected = [
      'APC      : 001,021,0533\n',
      'DATE     : 2026-12-01 13:00:00 +0000  \n',
      'HOSTNAME : ctl\n',
      'VERSION  : 1.2.3 (Blackstart)\n',
      'UPSNAME  : rack\n',
      'DRIVER   : Blackstart (nut://127.0.0.1/ups)\n',
      'UPSMODE  : Stand Alone\n',
      'STARTTIME: 2026-12-01 12:59:00 +0000  \n',
      'MODEL    : Blackstart\n',
      'STATUS   : ONLINE \n',
      'LINEV    : 230.4 Volts\n',
      'LOADPCT  : 23.4 Percent\n',
      'BCHARGE  : 100.0 Percent\n',
      'TIMELEFT : 45.0 Minutes\n',
      'BATTV    : 27.3 Volts\n',
      'LASTXFER : No transfers since turnon\n',
      'NUMXFERS : 0\n',
      'TONBATT  : 0 Seconds\n',
      'CUMONBATT: 0 Seconds\n',
      'XOFFBATT : N/A\n',
      'STATFLAG : 0x05000008\n',
      'END APC  : 2026-12-01 13:00:02 +0000  \n',
    ];
    const framed = Buffer.concat([...expected.map((l) => Buffer.concat([Buffer.from([0, l.length]), Buffer.from(l, 'latin1')])), hex('00 00')]);
    expect(bytes.toString('latin1')).toBe(framed.toString('latin1'));
    // The header's counts: lines after it, and their bytes without framing (as a real reply: 052,1150).
    expect(expected.slice(1).reduce((n, l) => n + l.length, 0)).toBe(533);
    expect(bytes.subarray(0, 26)).toEqual(hex('00 18 41 50 43 20 20 20 20 20 20 3a 20 30 30 31 2c 30 32 31 2c 30 35 33 33 0a'));
  });

  it("the header's counts hold for a real capture too, so the rule the test above relies on is apcupsd's", () => {
    const recs = replyRecords(fixture('status-online.bin'));
    const m = /001,(\d{3}),(\d{4})/.exec(recordText(recs[0] as Buffer)) as RegExpExecArray;
    expect(Number(m[1])).toBe(recs.length - 1);
    expect(Number(m[2])).toBe(recs.slice(1).reduce((n, r) => n + r.length, 0));
  });

  /** State, lastKnown and transfers matching each real capture (values read from the capture). */
  const captures: { file: string; in: StatusInput; same: string[]; reasonBits?: number }[] = [
    {
      file: 'status-online.bin',
      in: input({ state: upsState({ chargePct: 100, runtimeS: 2700, inputV: 230.4, loadPct: 23.4, batteryV: 27.3 }) }),
      same: ['STATUS', 'LINEV', 'LOADPCT', 'BCHARGE', 'TIMELEFT', 'BATTV', 'NUMXFERS', 'TONBATT', 'CUMONBATT', 'XOFFBATT', 'STATFLAG'],
    },
    {
      file: 'status-onbatt.bin',
      in: input({
        state: upsState({ status: 'on_battery', chargePct: 60, runtimeS: 600, inputV: 0, updated: Date.UTC(2026, 10, 23, 11, 22, 31) }),
        lastKnown: 'on_battery',
        transfers: { count: 1, lastOn: Date.UTC(2026, 10, 23, 11, 22, 29), lastOff: null, completedS: 0 },
        now: Date.UTC(2026, 10, 23, 11, 22, 31),
      }),
      same: ['STATUS', 'LINEV', 'BCHARGE', 'TIMELEFT', 'NUMXFERS', 'XONBATT', 'TONBATT', 'CUMONBATT', 'XOFFBATT', 'STATFLAG'],
    },
    {
      file: 'status-lowbatt.bin',
      in: input({
        state: upsState({ status: 'low_battery', chargePct: 10, runtimeS: 60, inputV: 0 }),
        lastKnown: 'low_battery',
        transfers: { count: 1, lastOn: Date.UTC(2026, 10, 23, 11, 22, 29), lastOff: null, completedS: 0 },
        now: Date.UTC(2026, 10, 23, 11, 22, 33),
      }),
      same: ['STATUS', 'LINEV', 'BCHARGE', 'TIMELEFT', 'NUMXFERS', 'XONBATT', 'TONBATT', 'CUMONBATT', 'XOFFBATT'],
      // apcupsd adds the reason it would shut down itself (0x200000: TIMELEFT under its MINUTES).
      reasonBits: 0x200000,
    },
    {
      file: 'status-shutting.bin',
      in: input({
        state: upsState({ status: 'low_battery', chargePct: 10, runtimeS: 60, inputV: 0 }),
        lastKnown: 'low_battery',
        masterShuttingDown: true,
        transfers: { count: 2, lastOn: Date.UTC(2026, 10, 23, 11, 22, 42), lastOff: Date.UTC(2026, 10, 23, 11, 22, 33), completedS: 4 },
        now: Date.UTC(2026, 10, 23, 11, 23, 0),
      }),
      same: ['STATUS', 'LINEV', 'BCHARGE', 'TIMELEFT', 'NUMXFERS', 'XONBATT', 'TONBATT', 'CUMONBATT', 'XOFFBATT'],
      reasonBits: 0x200000,
    },
    {
      file: 'status-commlost.bin',
      in: input({ state: upsState({ status: 'comm_lost', chargePct: 100, runtimeS: 2700, inputV: 230.4 }), lastKnown: 'online' }),
      same: ['STATUS', 'LINEV', 'BCHARGE', 'TIMELEFT', 'NUMXFERS', 'TONBATT', 'CUMONBATT', 'XOFFBATT', 'STATFLAG'],
    },
  ];

  it.each(captures)('$file: the lines we share with the real reply are byte-identical, in the same order', (c) => {
    const real = replyRecords(fixture(c.file));
    const ours = replyRecords(encodeStatus(c.in));
    const realLines = linesByKey(real);
    const ourLines = linesByKey(ours);
    for (const key of c.same) expect([key, ourLines.get(key)]).toEqual([key, realLines.get(key)]);
    if (c.reasonBits !== undefined) {
      const flagOf = (l: string | undefined): number => parseInt(/0x([0-9A-F]{8})/.exec(l ?? '')?.[1] ?? 'x', 16);
      expect(flagOf(ourLines.get('STATFLAG'))).toBe(flagOf(realLines.get('STATFLAG')) & ~c.reasonBits);
    }
    // Every key we send, apcupsd sends too, and in the same relative order.
    const realOrder = [...realLines.keys()];
    const ourKeys = [...ourLines.keys()].filter((k) => k !== 'APC');
    expect(ourKeys.filter((k) => !realOrder.includes(k))).toEqual([]);
    expect(ourKeys.map((k) => realOrder.indexOf(k))).toEqual([...ourKeys.map((k) => realOrder.indexOf(k))].sort((a, b) => a - b));
  });

  it.each(captures)('$file: round trip through our NIS client gives back the state', (c) => {
    const block = parseStatus(replyRecords(encodeStatus(c.in)));
    if (!block.ok) throw new Error(block.error);
    if (c.in.state.status === 'comm_lost') {
      expect(() => readingFromStatus(block.value, 'nis')).toThrow(/COMMLOST/);
      return;
    }
    const r = readingFromStatus(block.value, 'nis');
    const expected = c.in.masterShuttingDown ? 'shutting_down' : c.in.state.status;
    expect(r).toMatchObject({
      status: expected,
      chargePct: c.in.state.chargePct,
      runtimeS: c.in.state.runtimeS,
      inputV: c.in.state.inputV,
      loadPct: c.in.state.loadPct,
      batteryV: c.in.state.batteryV,
    });
    expect(parseTimestamp(block.value.fields.get('END APC') as string)?.at).toBe(c.in.now);
    expect(parseTimestamp(block.value.fields.get('DATE') as string)?.at).toBe(c.in.state.updated);
  });

  it('leaves out what is unknown, as apcupsd leaves out what its UPS cannot report', () => {
    const lines = statusLines(input({ state: upsState({ chargePct: null, runtimeS: null, loadPct: null, inputV: null, batteryV: null }) }));
    const keys = lines.map((l) => l.slice(0, 9).trim());
    for (const k of ['LINEV', 'LOADPCT', 'BCHARGE', 'TIMELEFT', 'BATTV']) expect(keys).not.toContain(k);
    expect(parseStatus(replyRecords(encodeStatus(input({ state: upsState({ chargePct: null }) }))))).toMatchObject({ ok: true });
  });

  it('keeps every line printable and bounded whatever a name or a source label holds', () => {
    const nasty = input({ identity: { ...input().identity, hostname: 'a\nb\0c\u00e9\u2603', driver: `Blackstart (${'x'.repeat(600)})` } });
    const recs = replyRecords(encodeStatus(nasty));
    const lines = linesByKey(recs);
    expect(lines.get('HOSTNAME')).toBe('HOSTNAME : a?b?c\u00e9?\n');
    expect((lines.get('DRIVER') as string).length).toBeLessThan(256);
    expect(parseStatus(recs)).toMatchObject({ ok: true });
  });
});

describe('STATUS and STATFLAG', () => {
  const base = { lastKnown: null, masterShuttingDown: false };
  it.each([
    ['online', null, false, 'ONLINE ', 0x05000008],
    ['on_battery', null, false, 'ONBATT ', 0x05060010],
    ['low_battery', null, false, 'ONBATT LOWBATT ', 0x05060050],
    ['comm_lost', null, false, 'COMMLOST ', 0x05000100],
    ['comm_lost', 'online', false, 'COMMLOST ', 0x05000108],
    // A slave of a master that lost its UPS on low battery still goes down: it acts on these bits.
    ['comm_lost', 'low_battery', false, 'COMMLOST ', 0x05060150],
    ['off', 'on_battery', false, 'COMMLOST ', 0x05060110],
    ['shutting_down', 'low_battery', false, 'SHUTTING DOWN', 0x05060250],
    ['online', 'online', true, 'SHUTTING DOWN', 0x05000208],
    ['on_battery', 'on_battery', true, 'SHUTTING DOWN', 0x05060210],
  ] as const)('%s (last known %s, master shutting down %s) → "%s" %s', (status, lastKnown, master, words, flag) => {
    const i = { ...base, state: upsState({ status }), lastKnown, masterShuttingDown: master };
    expect(statusWords(i)).toBe(words);
    expect(statFlag(i)).toBe(flag);
  });
});

describe('timestamps and events', () => {
  it('prints apcupsd 3.14.14 timestamps with the offset and two trailing spaces, and our client reads them back', () => {
    expect(formatStamp(T0)).toBe('2026-12-01 13:00:00 +0000  ');
    expect(formatStamp(T0, 90)).toBe('2026-12-01 14:30:00 +0130  ');
    expect(formatStamp(T0, -300)).toBe('2026-12-01 08:00:00 -0500  ');
    for (const off of [0, 90, -300, 330]) expect(parseTimestamp(formatStamp(T0, off))?.at).toBe(T0);
  });

  it('an events reply has the shape of a real one: records of `stamp  message\\n`, then 00 00', () => {
    const bytes = encodeEvents([eventLine(T0, 'Power failure.'), eventLine(T0 + 1000, 'Running on UPS batteries.')]);
    expect(bytes).toEqual(
      Buffer.concat([
        hex('00 2a'),
        Buffer.from('2026-12-01 13:00:00 +0000  Power failure.\n', 'latin1'),
        hex('00 35'),
        Buffer.from('2026-12-01 13:00:01 +0000  Running on UPS batteries.\n', 'latin1'),
        hex('00 00'),
      ]),
    );
    // The same record lengths as the real capture for the same messages (0x2a, 0x35).
    const real = replyRecords(fixture('events.bin')).map((r) => r.toString('latin1'));
    expect(real[1]?.length).toBe(0x2a);
    expect(real[2]?.length).toBe(0x35);
    const parsed = parseEvents(replyRecords(bytes));
    expect(parsed).toEqual({ ok: true, value: [{ at: T0, message: 'Power failure.' }, { at: T0 + 1000, message: 'Running on UPS batteries.' }] });
  });

  it(`sends at most the newest ${MAX_EVENT_LINES} lines, oldest first, and an empty list as just 00 00`, () => {
    const lines = Array.from({ length: 70 }, (_, i) => eventLine(T0 + i * 1000, `event ${i}`));
    const recs = replyRecords(encodeEvents(lines));
    expect(recs).toHaveLength(MAX_EVENT_LINES);
    expect(recordText(recs[0] as Buffer)).toMatch(/event 20$/);
    expect(recordText(recs[49] as Buffer)).toMatch(/event 69$/);
    expect(encodeEvents([])).toEqual(hex('00 00'));
  });

  it('hub events about the served UPS become apcupsd messages; others are not listed', () => {
    expect(nisMessages({ type: 'power_lost', at: T0, ups: 'rack' }, 'rack')).toEqual(['Power failure.', 'Running on UPS batteries.']);
    expect(nisMessages({ type: 'power_restored', at: T0, ups: 'rack' }, 'rack')).toEqual([
      'Mains returned. No longer on UPS batteries.',
      'Power is back. UPS running on mains.',
    ]);
    expect(nisMessages({ type: 'low_battery', at: T0, ups: 'rack' }, 'rack')).toEqual(['Battery power exhausted.']);
    expect(nisMessages({ type: 'ups_comm_lost', at: T0, ups: 'rack' }, 'rack')).toEqual(['Communications with UPS lost.']);
    expect(nisMessages({ type: 'power_lost', at: T0, ups: 'other' }, 'rack')).toEqual([]);
    expect(nisMessages({ type: 'host_up', at: T0, host: 'nas' }, 'rack')).toEqual([]);
  });

  it('the ring keeps the newest lines only', () => {
    const ring = new EventRing(3);
    for (let i = 0; i < 5; i++) ring.push(T0 + i, `m${i}`);
    expect(ring.list().map((e) => e.message)).toEqual(['m2', 'm3', 'm4']);
  });
});

describe('transfers', () => {
  it('counts transfers to battery, their times and the time on battery, as apcupsd does since its start', () => {
    const log = new TransferLog();
    const at = (s: number): number => T0 + s * 1000;
    log.observe(upsState({ status: 'online', updated: at(0) }));
    expect(log.snapshot()).toEqual({ count: 0, lastOn: null, lastOff: null, completedS: 0 });
    // The first reading on battery came 3 s into the outage (the source's own debounce).
    log.observe(upsState({ status: 'on_battery', onBatteryS: 3, updated: at(10) }));
    log.observe(upsState({ status: 'low_battery', onBatteryS: 13, updated: at(20) }));
    // A lost link is no transfer either way.
    log.observe(upsState({ status: 'comm_lost', updated: at(25) }));
    expect(log.lastKnown).toBe('low_battery');
    log.observe(upsState({ status: 'online', updated: at(37) }));
    expect(log.snapshot()).toEqual({ count: 1, lastOn: at(7), lastOff: at(37), completedS: 30 });
    log.observe(upsState({ status: 'on_battery', updated: at(50) }));
    expect(log.snapshot()).toEqual({ count: 2, lastOn: at(50), lastOff: at(37), completedS: 30 });
    // CUMONBATT: the outages that are over plus the current one, counted to the reply's time.
    const lines = linesByKey(
      replyRecords(encodeStatus(input({ state: upsState({ status: 'on_battery', updated: at(50) }), lastKnown: 'on_battery', transfers: log.snapshot(), now: at(55) }))),
    );
    expect([lines.get('TONBATT'), lines.get('CUMONBATT'), lines.get('NUMXFERS'), lines.get('LASTXFER')]).toEqual([
      'TONBATT  : 5 Seconds\n',
      'CUMONBATT: 35 Seconds\n',
      'NUMXFERS : 2\n',
      'LASTXFER : UNKNOWN EVENT\n',
    ]);
  });

  it('a server started mid-outage counts it, from when the hub says it began', () => {
    const log = new TransferLog();
    log.observe(upsState({ status: 'on_battery', onBatteryS: 120, updated: T0 }));
    expect(log.snapshot()).toEqual({ count: 1, lastOn: T0 - 120_000, lastOff: null, completedS: 0 });
  });
});
