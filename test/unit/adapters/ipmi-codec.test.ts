import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BlackstartError } from '../../../src/core/errors';
import {
  PAYLOAD,
  checksum,
  cipherSuitePage,
  decodeAsfPong,
  decodeAuthCaps,
  decodeChassisStatus,
  decodeCipherSuites,
  decodeDeviceId,
  decodeIpmi15,
  decodeOpenSessionResponse,
  decodeRakp1,
  decodeRakp2,
  decodeRakp3,
  decodeRakp4,
  decodeRequest,
  decodeResponse,
  decodeRmcpPlus,
  encodeAsfPing,
  encodeIpmi15,
  encodeOpenSessionRequest,
  encodeRakp1,
  encodeRequest,
  encodeResponse,
  encodeRmcpPlus,
} from '../../../src/adapters/ipmi/codec';
import { completionError } from '../../../src/adapters/ipmi/completion';
import { CIPHER_SUITES, decryptPayload, integrityCode, rakp2AuthCode, rakp3AuthCode, rakp4Icv, sessionKeys, type RakpContext } from '../../../src/adapters/ipmi/crypto';
import { RmcpPlusSession, SequenceWindow } from '../../../src/adapters/ipmi/session';
import { prng } from '../../helpers/prng';
import { repoRoot } from '../../helpers/repo';

const h = (s: string): Buffer => Buffer.from(s.replace(/[\s|]+/g, ''), 'hex');

interface Capture {
  sessions: { username: string; password: string; suite: number; output: string; packets: { frame: number; dir: 'to-bmc' | 'from-bmc'; hex: string }[] }[];
}
const capture = JSON.parse(readFileSync(join(repoRoot(), 'test/fixtures/ipmi/ipmitool-lanplus-suite3.json'), 'utf8')) as Capture;

describe('reference packets (protocols.md §4)', () => {
  test('ASF ping and pong', () => {
    expect(encodeAsfPing(1).toString('hex')).toBe('0600ff06000011be80010000');
    const pong = h('0600ff06 000011be 40 01 00 10 000011be 00000000 81 00 000000000000');
    expect(decodeAsfPong(pong)).toMatchObject({ tag: 1, iana: 4542, ipmiSupported: true, asfVersion: 1 });
    expect(() => decodeAsfPong(pong.subarray(0, 20))).toThrow(/ASF pong/);
  });

  test('Get Channel Auth Caps request in IPMI 1.5 framing', () => {
    const msg = encodeRequest({ netFn: 6, cmd: 0x38, rqSeq: 0, data: Buffer.from([0x8e, 0x04]) });
    const pkt = encodeIpmi15({ authType: 0, sequence: 0, sessionId: 0, message: msg });
    expect(pkt.toString('hex')).toBe('0600ff07000000000000000000092018c88100388e04b5');
    expect(decodeIpmi15(pkt).message.equals(msg)).toBe(true);
  });

  test('Open Session request, suite 3 and 17', () => {
    const payload = encodeOpenSessionRequest({ tag: 0, privilege: 0, consoleSessionId: 0xa0a2a3a4, ...(CIPHER_SUITES[3] as NonNullable<(typeof CIPHER_SUITES)[3]>) });
    const pkt = encodeRmcpPlus({ payloadType: PAYLOAD.openSessionRequest, sessionId: 0, sequence: 0, payload });
    expect(pkt.toString('hex')).toBe(h('0600ff0706100000000000000000200000000000a4a3a2a0000000080100000001000008010000000200000801000000').toString('hex'));
    const p17 = encodeOpenSessionRequest({ tag: 0, privilege: 0, consoleSessionId: 0xa0a2a3a4, ...(CIPHER_SUITES[17] as NonNullable<(typeof CIPHER_SUITES)[17]>) });
    expect([p17[12], p17[20], p17[28]]).toEqual([3, 4, 1]);
  });

  test('RAKP 1 example and round trip', () => {
    const r = { tag: 0, bmcSessionId: 0x11223344, consoleRandom: h('000102030405060708090a0b0c0d0e0f'), role: 0x14, username: Buffer.from('admin') };
    const pkt = encodeRmcpPlus({ payloadType: PAYLOAD.rakp1, sessionId: 0, sequence: 0, payload: encodeRakp1(r) });
    expect(pkt.toString('hex')).toBe('0600ff0706120000000000000000210000000000443322110001020304050607' + '08090a0b0c0d0e0f1400000561646d696e');
    expect(decodeRakp1(decodeRmcpPlus(pkt).payload)).toEqual(r);
  });

  test('IPMI messages from §4.11 and their checksums', () => {
    expect(encodeRequest({ netFn: 6, cmd: 1, rqSeq: 0 }).toString('hex')).toBe('2018c88100017e');
    expect(encodeRequest({ netFn: 6, cmd: 0x3b, rqSeq: 3, data: Buffer.from([4]) }).toString('hex')).toBe('2018c8810c3b0434');
    expect(encodeRequest({ netFn: 6, cmd: 0x3c, rqSeq: 4, data: h('44332211') }).toString('hex')).toBe('2018c881103c4433221189');
    expect(encodeRequest({ netFn: 0, cmd: 2, rqSeq: 2, data: Buffer.from([2]) }).toString('hex')).toBe('2000e08108020273');
    const rsp = decodeResponse(h('81047b200401004100009a'));
    expect(rsp).toMatchObject({ netFn: 0, cmd: 1, rqSeq: 1, completionCode: 0 });
    expect(decodeChassisStatus(rsp.data)).toMatchObject({ power: 'on', restorePolicy: 'always-on' });
    expect(checksum(h('2018'))).toBe(0xc8);
  });

  test('request/response round trip keeps netFn, LUN, rqSeq, cmd, data', () => {
    const req = { netFn: 0x0a, cmd: 0x23, rqSeq: 63, lun: 2, data: h('34120000 0005') };
    expect(decodeRequest(encodeRequest(req))).toEqual(req);
    const rsp = { netFn: 0x0a, cmd: 0x23, rqSeq: 17, lun: 0, completionCode: 0xc5, data: h('ffff') };
    expect(decodeResponse(encodeResponse(rsp))).toEqual(rsp);
  });

  test('bad messages name what is wrong', () => {
    const good = h('81047b200401004100009a');
    const badSum = Buffer.from(good);
    badSum[10] = 0x9b;
    expect(() => decodeResponse(badSum)).toThrow(/body checksum/);
    const badHead = Buffer.from(good);
    badHead[2] = 0;
    expect(() => decodeResponse(badHead)).toThrow(/header checksum byte 2/);
    expect(() => decodeResponse(good.subarray(0, 5))).toThrow(/5 bytes, need at least 8/);
    expect(() => decodeRmcpPlus(h('0700ff07'))).toThrow(/version is 0x07/);
    expect(() => decodeRmcpPlus(h('0600ff0706000000000000000000ff00'))).toThrow(/payload length 255 at byte 14/);
    expect(() => decodeIpmi15(h('0600ff07 09 00000000 00000000 00'))).toThrow(/unknown auth type 0x09 at byte 4/);
  });

  test('Get Channel Auth Caps, cipher suite pages, device ID, chassis status', () => {
    const caps = decodeAuthCaps(h('01 97 04 03 000000 00'));
    expect(caps).toMatchObject({ channel: 1, ipmi15: true, ipmi20: true, nonNullUsers: true, kgSet: false });
    expect(caps.authTypes).toEqual({ none: true, md2: true, md5: true, password: true, oem: false });
    const v15 = decodeAuthCaps(h('01 14 04 00 000000 00'));
    expect(v15).toMatchObject({ ipmi20: false, ipmi15: true });
    expect(v15.authTypes.md5).toBe(true);

    const page1 = cipherSuitePage(h('01 c0 00 00 40 80 c0 01 01 40 80 c0 03 01 41 81 c0'));
    const page2 = cipherSuitePage(h('01 11 03 44 81 c1 2a 57 01 00 01 41 81'));
    expect(page1.last).toBe(false);
    expect(page2.last).toBe(true);
    const suites = decodeCipherSuites(Buffer.concat([page1.bytes, page2.bytes]));
    expect(suites.map((s) => s.id)).toEqual([0, 1, 3, 17, 42]);
    expect(suites[3]).toEqual({ id: 17, auth: [3], integrity: [4], confidentiality: [1] });
    expect(suites[4]?.oemIana).toBe(0x000157);
    expect(() => decodeCipherSuites(h('05 01'))).toThrow(/byte 0 is 0x05/);

    expect(decodeDeviceId(h('20 81 02 11 02 bf 57 01 00 34 12'))).toEqual({
      deviceId: 0x20, deviceRevision: 1, firmware: '2.11', ipmiVersion: '2.0', manufacturerId: 0x157, productId: 0x1234,
    });
    const st = decodeChassisStatus(h('7f 11 0f'));
    expect(st).toEqual({
      power: 'on', powerOverload: true, interlock: true, powerFault: true, controlFault: true, restorePolicy: 'unknown',
      lastPowerEvent: ['ac-failed', 'ipmi-command'], intrusion: true, frontPanelLockout: true, driveFault: true, coolingFault: true,
    });
    expect(decodeChassisStatus(h('20 00 00'))).toMatchObject({ power: 'off', restorePolicy: 'previous', lastPowerEvent: [] });
  });

  test('completion codes map to error codes and keep the number', () => {
    expect(completionError(0xd4, 'Chassis Control at x')).toMatchObject({ code: 'REFUSED', completionCode: 0xd4 });
    expect(completionError(0xc1, 'y')).toMatchObject({ code: 'UNSUPPORTED', completionCode: 0xc1 });
    const e = completionError(0xcc, 'Chassis Control at 127.0.0.1:623');
    expect(e).toMatchObject({ code: 'PROTOCOL' });
    expect(e.message).toBe('IPMI Chassis Control at 127.0.0.1:623: completion code 0xcc (invalid data field in request)');
  });
});

describe('captured ipmitool ↔ ipmi_sim sessions, suite 3', () => {
  for (const [i, s] of capture.sessions.entries()) {
    test(`session ${i + 1} (${s.username}): RAKP proofs verify, every packet authenticates and decrypts`, () => {
      const pk = s.packets.map((p) => ({ ...p, buf: Buffer.from(p.hex, 'hex') }));
      const caps = decodeIpmi15(pk[0]!.buf);
      expect(decodeRequest(caps.message)).toMatchObject({ netFn: 6, cmd: 0x38 });
      const capsRsp = decodeResponse(decodeIpmi15(pk[1]!.buf).message);
      expect(decodeAuthCaps(capsRsp.data).ipmi20).toBe(true);

      const open = decodeOpenSessionResponse(decodeRmcpPlus(pk[3]!.buf).payload);
      expect(open.status).toBe(0);
      expect(open.algorithms).toEqual(CIPHER_SUITES[3]);
      const rakp1 = decodeRakp1(decodeRmcpPlus(pk[4]!.buf).payload);
      expect(rakp1.username.toString()).toBe(s.username);
      const rakp2Pkt = decodeRmcpPlus(pk[5]!.buf);
      expect(rakp2Pkt.payloadType).toBe(PAYLOAD.rakp2);
      const rakp2 = decodeRakp2(rakp2Pkt.payload);
      const rakp3 = decodeRakp3(decodeRmcpPlus(pk[6]!.buf).payload);
      const rakp4 = decodeRakp4(decodeRmcpPlus(pk[7]!.buf).payload);

      const ctx: RakpContext = {
        auth: 1, password: Buffer.from(s.password), consoleSessionId: open.consoleSessionId as number, bmcSessionId: open.bmcSessionId as number,
        consoleRandom: rakp1.consoleRandom, bmcRandom: rakp2.bmcRandom, bmcGuid: rakp2.bmcGuid, role: rakp1.role, username: rakp1.username,
      };
      expect(rakp2AuthCode(ctx).equals(rakp2.authCode)).toBe(true);
      expect(rakp3AuthCode(ctx).equals(rakp3.authCode)).toBe(true);
      const keys = sessionKeys(ctx);
      expect(rakp4Icv(ctx, keys.sik).equals(rakp4.integrityCheck)).toBe(true);
      // The wrong password must not verify.
      expect(rakp2AuthCode({ ...ctx, password: Buffer.from(s.password + 'x') }).equals(rakp2.authCode)).toBe(false);

      let sawChassisStatus = false;
      for (const p of pk.slice(8)) {
        const d = decodeRmcpPlus(p.buf, 12);
        expect(d.encrypted && d.authenticated).toBe(true);
        expect(integrityCode(1, keys.k1, d.signed as Buffer).equals(d.authCode as Buffer)).toBe(true);
        const msg = decryptPayload(keys.k2, d.payload);
        if (p.dir === 'to-bmc') {
          expect(d.sessionId).toBe(open.bmcSessionId);
          decodeRequest(msg);
        } else {
          expect(d.sessionId).toBe(open.consoleSessionId);
          const r = decodeResponse(msg);
          if (r.netFn === 0 && r.cmd === 1 && r.completionCode === 0) {
            sawChassisStatus = true;
            expect(decodeChassisStatus(r.data).power).toBe('on');
          }
        }
      }
      expect(sawChassisStatus).toBe(true);

      // Our session object accepts the BMC's packets with these keys, and drops a replay.
      const sess = new RmcpPlusSession(3, CIPHER_SUITES[3]!, open.consoleSessionId as number, open.bmcSessionId as number, keys.k1, keys.k2);
      const fromBmc = pk.slice(8).filter((p) => p.dir === 'from-bmc');
      for (const p of fromBmc) expect(sess.unwrap(p.buf)).toBeDefined();
      expect(sess.unwrap(fromBmc[0]!.buf)).toBeUndefined();
    });
  }

  test('forged or corrupted packets are rejected by the integrity check', () => {
    const s = capture.sessions[0]!;
    const pk = s.packets.map((p) => Buffer.from(p.hex, 'hex'));
    const open = decodeOpenSessionResponse(decodeRmcpPlus(pk[3]!).payload);
    const rakp1 = decodeRakp1(decodeRmcpPlus(pk[4]!).payload);
    const rakp2 = decodeRakp2(decodeRmcpPlus(pk[5]!).payload);
    const keys = sessionKeys({
      auth: 1, password: Buffer.from(s.password), consoleSessionId: open.consoleSessionId as number, bmcSessionId: open.bmcSessionId as number,
      consoleRandom: rakp1.consoleRandom, bmcRandom: rakp2.bmcRandom, bmcGuid: rakp2.bmcGuid, role: rakp1.role, username: rakp1.username,
    });
    const reply = pk[9]!;
    const fresh = (): RmcpPlusSession => new RmcpPlusSession(3, CIPHER_SUITES[3]!, open.consoleSessionId as number, open.bmcSessionId as number, keys.k1, keys.k2);
    expect(fresh().unwrap(reply)).toBeDefined();
    for (let i = 4; i < reply.length; i++) {
      const bad = Buffer.from(reply);
      bad[i] = (bad[i] as number) ^ 0x01;
      expect(fresh().unwrap(bad)).toBeUndefined();
    }
    // A packet signed with another key (an attacker without the password) is dropped too.
    const forged = encodeRmcpPlus({ payloadType: 0, encrypted: false, sessionId: open.consoleSessionId as number, sequence: 99, payload: h('81047b200401004100009a') }, (c) =>
      integrityCode(1, Buffer.alloc(20, 1), c),
    );
    expect(fresh().unwrap(forged)).toBeUndefined();
  });
});

describe('sequence window', () => {
  test('accepts new and reordered numbers, drops duplicates and far-off ones', () => {
    const w = new SequenceWindow();
    expect(w.accept(10)).toBe(true);
    expect(w.accept(10)).toBe(false);
    expect(w.accept(12)).toBe(true);
    expect(w.accept(11)).toBe(true);
    expect(w.accept(11)).toBe(false);
    expect(w.accept(12 - 32)).toBe(false);
    expect(w.accept(12 + 33)).toBe(false);
    expect(w.accept(0x80000000)).toBe(false);
    const wrap = new SequenceWindow();
    expect(wrap.accept(0xfffffffe)).toBe(true);
    expect(wrap.accept(1)).toBe(true);
  });
});

describe('fuzz: decoders decode or throw BlackstartError, nothing else', () => {
  const decoders: [string, (b: Buffer) => unknown][] = [
    ['rmcp+', (b) => decodeRmcpPlus(b, 12)],
    ['rmcp+ 16', (b) => decodeRmcpPlus(b, 16)],
    ['ipmi15', decodeIpmi15],
    ['asf pong', decodeAsfPong],
    ['response', decodeResponse],
    ['request', decodeRequest],
    ['open session', decodeOpenSessionResponse],
    ['rakp1', decodeRakp1],
    ['rakp2', decodeRakp2],
    ['rakp3', decodeRakp3],
    ['rakp4', decodeRakp4],
    ['auth caps', decodeAuthCaps],
    ['cipher suites', decodeCipherSuites],
    ['cipher page', cipherSuitePage],
    ['device id', decodeDeviceId],
    ['chassis', decodeChassisStatus],
    ['decrypt', (b) => decryptPayload(Buffer.alloc(16, 3), b)],
  ];
  const seeds = capture.sessions.flatMap((s) => s.packets.map((p) => Buffer.from(p.hex, 'hex')));

  test('2500 random and mutated inputs, each through every decoder', () => {
    const rnd = prng(0x1b7c);
    const t0 = Date.now();
    let decoded = 0;
    for (let n = 0; n < 2500; n++) {
      let input: Buffer;
      if (n % 2 === 0) {
        input = Buffer.from(Array.from({ length: Math.floor(rnd() * 80) }, () => Math.floor(rnd() * 256)));
      } else {
        input = Buffer.from(seeds[Math.floor(rnd() * seeds.length)]!);
        const flips = 1 + Math.floor(rnd() * 4);
        for (let f = 0; f < flips && input.length > 0; f++) input[Math.floor(rnd() * input.length)] = Math.floor(rnd() * 256);
        if (rnd() < 0.3) input = input.subarray(0, Math.floor(rnd() * input.length));
      }
      for (const [name, dec] of decoders) {
        for (const candidate of [input, input.length > 16 ? input.subarray(16) : input]) {
          try {
            dec(candidate);
            decoded++;
          } catch (err) {
            if (!(err instanceof BlackstartError)) throw new Error(`${name} threw ${String(err)} on ${candidate.toString('hex')} (case ${n})`, { cause: err });
          }
        }
      }
    }
    expect(decoded).toBeGreaterThan(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});
