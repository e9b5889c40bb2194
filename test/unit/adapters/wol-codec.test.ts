import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BlackstartError } from '../../../src/core/errors';
import {
  MAGIC_LENGTH,
  decodeMagicPacket,
  encodeMagicPacket,
  formatMac,
  parseMac,
  parsePassword,
} from '../../../src/adapters/power/wol-codec';
import { prng } from '../../helpers/prng';
import { repoRoot } from '../../helpers/repo';

const fixture = (name: string): Buffer => readFileSync(join(repoRoot(), 'test/fixtures/wol', name));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof BlackstartError ? err.code : 'not a BlackstartError';
  }
  return undefined;
}

describe('parseMac', () => {
  it.each([
    ['00:1b:21:3a:4c:5d'],
    ['00-1B-21-3A-4C-5D'],
    ['001b.213a.4c5d'],
    ['001B213a4C5d'],
    ['0:1b:21:3a:4c:5d'],
    ['  00:1b:21:3a:4c:5d  '],
  ])('reads %j', (text) => {
    expect(parseMac(text).toString('hex')).toBe('001b213a4c5d');
  });

  it.each([
    ['00:1b:21:3a:4c', 'is not a MAC address'],
    ['00:1b:21:3a:4c:5d:6e', 'is not a MAC address'],
    ['00:1b-21:3a:4c:5d', 'is not a MAC address'],
    ['00:1g:21:3a:4c:5d', 'is not a MAC address'],
    ['001b213a4c5', 'is not a MAC address'],
    ['001b.213a.4c5d.0000', 'is not a MAC address'],
    ['', 'is not a MAC address'],
    ['00:00:00:00:00:00', 'all-zero'],
    ['ff:ff:ff:ff:ff:ff', 'multicast or broadcast'],
    ['01:00:5e:00:00:01', 'multicast or broadcast'],
  ])('rejects %j naming the input', (text, why) => {
    expect(codeOf(() => parseMac(text))).toBe('BAD_REQUEST');
    expect(() => parseMac(text)).toThrow(`"${text}"`);
    expect(() => parseMac(text)).toThrow(why);
  });

  it('formats back to lowercase colon form', () => {
    expect(formatMac(parseMac('001B.213A.4C5D'))).toBe('00:1b:21:3a:4c:5d');
  });
});

describe('parsePassword', () => {
  it.each([
    ['de:ad:be:ef', 'deadbeef'],
    ['DE-AD-BE-EF', 'deadbeef'],
    ['de:ad:be:ef:00:01', 'deadbeef0001'],
    ['a:b:c:d', '0a0b0c0d'],
    ['deadbeef', 'deadbeef'],
    ['deadbeef0001', 'deadbeef0001'],
    ['127.1.2.3', '7f010203'],
    ['0.0.0.255', '000000ff'],
  ])('reads %j', (text, hex) => {
    expect(parsePassword(text).toString('hex')).toBe(hex);
  });

  it.each([['de:ad:be'], ['de:ad:be:ef:00'], ['de:ad:be:ef:00:01:02'], ['deadbe'], ['1.2.3'], ['1.2.3.256'], ['secret!'], ['']])(
    'rejects %j without repeating it',
    (text) => {
      expect(codeOf(() => parsePassword(text))).toBe('BAD_REQUEST');
      let message = '';
      try {
        parsePassword(text, 'password_env WOL_PW');
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toContain('password_env WOL_PW');
      if (text.length >= 3) expect(message).not.toContain(text);
    },
  );
});

describe('encodeMagicPacket', () => {
  it('matches the payload the wakeonlan tool sends', () => {
    const ref = fixture('wakeonlan-001b213a4c5d.bin');
    expect(encodeMagicPacket(parseMac('00:1B:21:3a:4C:5d')).equals(ref)).toBe(true);
  });

  it('lays out sync stream and 16 copies', () => {
    const p = encodeMagicPacket(Buffer.from('001122334455', 'hex'));
    expect(p.length).toBe(102);
    expect(p.toString('hex')).toBe('ff'.repeat(6) + '001122334455'.repeat(16));
  });

  it('appends a 4- or 6-byte SecureOn password', () => {
    const mac = Buffer.from('001122334455', 'hex');
    const four = encodeMagicPacket(mac, parsePassword('127.1.2.3'));
    expect(four.length).toBe(106);
    expect(four.subarray(102).toString('hex')).toBe('7f010203');
    const six = encodeMagicPacket(mac, parsePassword('de:ad:be:ef:00:01'));
    expect(six.toString('hex')).toBe('ff'.repeat(6) + '001122334455'.repeat(16) + 'deadbeef0001');
  });

  it('refuses a password of another length and a MAC that is not 6 bytes', () => {
    const mac = Buffer.from('001122334455', 'hex');
    expect(codeOf(() => encodeMagicPacket(mac, Buffer.alloc(5)))).toBe('BAD_REQUEST');
    expect(codeOf(() => encodeMagicPacket(Buffer.alloc(5)))).toBe('BAD_REQUEST');
  });
});

describe('decodeMagicPacket', () => {
  it('reads the wakeonlan fixture', () => {
    const r = decodeMagicPacket(fixture('wakeonlan-001b213a4c5d.bin'));
    expect(r).toMatchObject({ kind: 'packet', offset: 0, password: null });
    if (r.kind === 'packet') expect(formatMac(r.mac)).toBe('00:1b:21:3a:4c:5d');
  });

  it('round-trips random MACs and passwords', () => {
    const rand = prng(0x901);
    for (let i = 0; i < 200; i++) {
      const mac = Buffer.from(Array.from({ length: 6 }, () => Math.floor(rand() * 256)));
      const pwLen = [0, 4, 6][i % 3] as number;
      const pw = pwLen ? Buffer.from(Array.from({ length: pwLen }, () => Math.floor(rand() * 256))) : undefined;
      const r = decodeMagicPacket(encodeMagicPacket(mac, pw));
      expect(r.kind).toBe('packet');
      if (r.kind !== 'packet') continue;
      expect(r.mac.equals(mac)).toBe(true);
      expect(r.password?.toString('hex') ?? null).toBe(pw?.toString('hex') ?? null);
    }
  });

  it('finds the packet after a prefix, as a network card does', () => {
    const mac = Buffer.from('ff1122334455', 'hex');
    const r = decodeMagicPacket(Buffer.concat([Buffer.from('0102ffff', 'hex'), encodeMagicPacket(mac)]));
    expect(r).toMatchObject({ kind: 'packet', offset: 4 });
    if (r.kind === 'packet') expect(r.mac.equals(mac)).toBe(true);
  });

  it('says how many bytes are missing from a short datagram', () => {
    expect(decodeMagicPacket(Buffer.alloc(40, 0xff))).toEqual({ kind: 'incomplete', need: MAGIC_LENGTH - 40 });
  });

  it('calls a broken copy or odd trailer garbage, without throwing', () => {
    const good = encodeMagicPacket(Buffer.from('001122334455', 'hex'));
    const broken = Buffer.from(good);
    broken[50] = 0x99;
    const r1 = decodeMagicPacket(broken);
    expect(r1.kind).toBe('garbage');
    if (r1.kind === 'garbage') expect(r1.reason).toMatch(/copies of 00:11:22:33:44:55, not 16/);
    const r2 = decodeMagicPacket(Buffer.concat([good, Buffer.alloc(3)]));
    expect(r2.kind).toBe('garbage');
    if (r2.kind === 'garbage') expect(r2.reason).toMatch(/3 bytes/);
    expect(decodeMagicPacket(Buffer.alloc(200, 0x00)).kind).toBe('garbage');
    const rand = prng(7);
    for (let i = 0; i < 300; i++) {
      const junk = Buffer.from(Array.from({ length: Math.floor(rand() * 200) }, () => (rand() < 0.5 ? 0xff : Math.floor(rand() * 256))));
      expect(() => decodeMagicPacket(junk)).not.toThrow();
    }
  });
});
