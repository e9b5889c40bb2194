import { BlackstartError } from '../../../src/core/errors';
import { AUTH_ALG, INTEGRITY_ALG, encodeRequest, encodeRmcpPlus } from '../../../src/adapters/ipmi/codec';
import {
  decryptPayload,
  encryptPayload,
  integrityCode,
  ipmi15AuthCode,
  ipmi15Md5,
  rakp2AuthCode,
  rakp3AuthCode,
  rakp4Icv,
  sessionKeys,
  type RakpContext,
} from '../../../src/adapters/ipmi/crypto';

const seq = (from: number): Buffer => Buffer.from(Array.from({ length: 16 }, (_, i) => from + i));
const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// protocols.md §4.10: username admin, password "password", no Kg, SIDm a0a2a3a4, SIDc 11223344.
function context(auth: number): RakpContext {
  return {
    auth,
    password: Buffer.from('password'),
    consoleSessionId: 0xa0a2a3a4,
    bmcSessionId: 0x11223344,
    consoleRandom: seq(0x00),
    bmcRandom: seq(0x10),
    bmcGuid: seq(0x20),
    role: 0x14,
    username: Buffer.from('admin'),
  };
}

describe('RAKP derivation, reference vectors (protocols.md §4.10)', () => {
  const vectors = [
    {
      suite: 3,
      auth: AUTH_ALG.hmacSha1,
      rakp2: '78e5f6cc59a92eb1c50e0169eb387ab09a5ed0ae',
      rakp3: '4ab420258775814f120682c8ab9275c29997effd',
      sik: '122c77c4b11ccd93251cbae6c34a9cb6310da154',
      k1: 'e4472be78f9a81fa68297aab696a7be8c97fc9f8',
      k2: '2b6552012a2517cb3b5713901d757a6efc7d8301',
      icv: 'd9e15b7475416719001dc211',
    },
    {
      suite: 17,
      auth: AUTH_ALG.hmacSha256,
      rakp2: 'e05b5788b56026545d34dbec0eca82c11926da5776893a39d46680f9b842aa1f',
      rakp3: '72a845290e0504673b2177d93a8dd844954778f3fe6b0476b2e7055a21663586',
      sik: 'e5935f7199865ad961063477b0662684e2ce9b1da8f2b8d41c5ce127d37e9bcf',
      k1: 'dc4fe73d075306f6897115dd63257385e845c10404fa1d73991790c6a101bec2',
      k2: '2a4f969ea6dfa83066f36674fdc2fea289fa1a21da90303e9b5269b54ec5adb5',
      icv: '91a53fdab337c174a7f2329dda8d4286',
    },
  ];
  for (const v of vectors) {
    test(`suite ${v.suite}`, () => {
      const c = context(v.auth);
      expect(rakp2AuthCode(c).toString('hex')).toBe(v.rakp2);
      expect(rakp3AuthCode(c).toString('hex')).toBe(v.rakp3);
      const keys = sessionKeys(c);
      expect(keys.sik.toString('hex')).toBe(v.sik);
      expect(keys.k1.toString('hex')).toBe(v.k1);
      expect(keys.k2.toString('hex')).toBe(v.k2);
      expect(rakp4Icv(c, keys.sik).toString('hex')).toBe(v.icv);
    });
  }

  test('a wrong password changes the RAKP 2 code, and Kg replaces the password only for the SIK', () => {
    const c = context(AUTH_ALG.hmacSha1);
    expect(rakp2AuthCode({ ...c, password: Buffer.from('passwore') }).equals(rakp2AuthCode(c))).toBe(false);
    const kg = Buffer.from('0123456789abcdef0123');
    const withKg = { ...c, kg };
    expect(rakp2AuthCode(withKg).equals(rakp2AuthCode(c))).toBe(true);
    expect(rakp3AuthCode(withKg).equals(rakp3AuthCode(c))).toBe(true);
    expect(sessionKeys(withKg).sik.equals(sessionKeys(c).sik)).toBe(false);
    // An all-zero Kg means "no Kg" on BMCs, so it must not change the keys.
    expect(sessionKeys({ ...c, kg: Buffer.alloc(20) }).sik.equals(sessionKeys(c).sik)).toBe(true);
  });

  test('auth algorithm none derives no codes and no keys', () => {
    const c = context(AUTH_ALG.none);
    expect(rakp2AuthCode(c).length).toBe(0);
    expect(sessionKeys(c).k2.length).toBe(0);
  });
});

describe('the worked encrypted Get Chassis Status packet (§4.10)', () => {
  const k1 = h('e4472be78f9a81fa68297aab696a7be8c97fc9f8');
  const k2 = h('2b6552012a2517cb3b5713901d757a6efc7d8301');
  const expected = h(`0600ff07 06c0 44332211 01000000 2000 a0a1a2a3a4a5a6a7a8a9aaabacadaeaf
    8297375f4c3e308b078c9d8780386ce0 ffff 02 07 7a1ffea266e5f523487d4ffc`);

  test('encrypt + sign reproduces the reference bytes', () => {
    const msg = encodeRequest({ netFn: 0, cmd: 1, rqSeq: 1 });
    expect(msg.toString('hex')).toBe('2000e08104017a');
    const payload = encryptPayload(k2, msg, seq(0xa0));
    const pkt = encodeRmcpPlus({ payloadType: 0, encrypted: true, sessionId: 0x11223344, sequence: 1, payload }, (covered) =>
      integrityCode(INTEGRITY_ALG.hmacSha1_96, k1, covered),
    );
    expect(pkt.toString('hex')).toBe(expected.toString('hex'));
  });

  test('decrypting the reference ciphertext gives the message back; a wrong key is caught by the pad check', () => {
    const data = expected.subarray(16, 48);
    expect(decryptPayload(k2, data).toString('hex')).toBe('2000e08104017a');
    expect(() => decryptPayload(Buffer.alloc(16, 7), data)).toThrow(BlackstartError);
  });
});

describe('AES-CBC-128 with IPMI pad bytes', () => {
  const k2 = Buffer.alloc(20, 0x42);
  test('round trip for every payload length 0..40, each a multiple of 16 after the IV', () => {
    for (let n = 0; n <= 40; n++) {
      const p = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37) & 0xff));
      const enc = encryptPayload(k2, p);
      expect((enc.length - 16) % 16).toBe(0);
      expect(enc.length).toBe(16 + Math.ceil((n + 1) / 16) * 16);
      expect(decryptPayload(k2, enc).equals(p)).toBe(true);
    }
  });

  test('a random IV makes two encryptions of one payload differ', () => {
    const p = Buffer.from('chassis');
    expect(encryptPayload(k2, p).equals(encryptPayload(k2, p))).toBe(false);
  });

  test('bad lengths are PROTOCOL errors', () => {
    for (const n of [0, 15, 16, 17, 40]) {
      expect(() => decryptPayload(k2, Buffer.alloc(n))).toThrow(expect.objectContaining({ code: 'PROTOCOL' }));
    }
  });
});

describe('per-packet integrity', () => {
  const k1 = Buffer.from('0123456789abcdef0123');
  const data = Buffer.from('06c0' + '00'.repeat(10), 'hex');
  test('lengths and truncation of the standard HMACs', () => {
    const { createHmac } = jest.requireActual<typeof import('node:crypto')>('node:crypto');
    expect(integrityCode(INTEGRITY_ALG.hmacSha1_96, k1, data).equals(createHmac('sha1', k1).update(data).digest().subarray(0, 12))).toBe(true);
    expect(integrityCode(INTEGRITY_ALG.hmacSha256_128, k1, data).equals(createHmac('sha256', k1).update(data).digest().subarray(0, 16))).toBe(true);
    expect(integrityCode(INTEGRITY_ALG.hmacMd5_128, k1, data).length).toBe(16);
    expect(integrityCode(INTEGRITY_ALG.md5_128, k1, data, Buffer.from('pw')).length).toBe(16);
  });
  test('one flipped bit changes the code', () => {
    const a = integrityCode(INTEGRITY_ALG.hmacSha1_96, k1, data);
    const flipped = Buffer.from(data);
    flipped[3] = (flipped[3] as number) ^ 1;
    expect(integrityCode(INTEGRITY_ALG.hmacSha1_96, k1, flipped).equals(a)).toBe(false);
  });
  test('an unknown algorithm is UNSUPPORTED', () => {
    expect(() => integrityCode(9, k1, data)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
  });
});

describe('IPMI 1.5 auth codes', () => {
  test('straight password is the password zero-padded to 16 bytes', () => {
    expect(ipmi15AuthCode(0x04, Buffer.from('secret'), 1, Buffer.alloc(0), 1).toString('hex')).toBe(Buffer.from('secret').toString('hex') + '00'.repeat(10));
  });
  test('MD5 covers password, session ID, message and sequence', () => {
    const { createHash } = jest.requireActual<typeof import('node:crypto')>('node:crypto');
    const pw = Buffer.alloc(16);
    Buffer.from('secret').copy(pw);
    const msg = Buffer.from('2018c88100388e04b5', 'hex');
    const want = createHash('md5').update(Buffer.concat([pw, h('04030201'), msg, h('08070605'), pw])).digest();
    expect(ipmi15Md5(Buffer.from('secret'), 0x01020304, msg, 0x05060708).equals(want)).toBe(true);
    expect(ipmi15Md5(Buffer.from('secret'), 0x01020304, msg, 0x05060709).equals(want)).toBe(false);
  });
});
