import { Writable } from 'node:stream';
import pino from 'pino';
import { IpmiClient, type IpmiClientOptions } from '../../../src/adapters/ipmi/client';
import { FakeClock } from '../../../src/core/clock';
import { FakeBmc } from '../../helpers/ipmi-fake-bmc';

function setup(extra: Partial<IpmiClientOptions> = {}): { bmc: FakeBmc; client: IpmiClient } {
  const bmc = new FakeBmc();
  const client = new IpmiClient({
    host: '127.0.0.1', port: 9623, username: 'admin', password: 'secret', cipherSuite: 1, timeoutMs: 50, retries: 2, keepAliveMs: 0,
    transport: bmc.transport, ...extra,
  });
  return { bmc, client };
}

const count = (bmc: FakeBmc, netFn: number, cmd: number): number => bmc.requests.filter((r) => r.netFn === netFn && r.cmd === cmd).length;

describe('IpmiClient over a fake BMC', () => {
  test('label names user and BMC, never the password', () => {
    const { client } = setup();
    expect(client.label).toBe('admin@127.0.0.1:9623');
  });

  test('requests are serialized: one outstanding at a time, answers in order', async () => {
    const { bmc, client } = setup();
    bmc.delayMs = 5;
    const results = await Promise.all([client.chassisStatus(), client.deviceId(), client.request(0, 1), client.chassisStatus()]);
    expect(bmc.maxInFlight).toBe(1);
    expect(results[0]).toMatchObject({ power: 'on' });
    expect(results[1]).toMatchObject({ manufacturerId: 0x157 });
    expect(bmc.opens).toBe(1);
    await client.close();
  });

  test('silence → TIMEOUT after retries + 1 sends of timeoutMs each', async () => {
    const { bmc, client } = setup({ timeoutMs: 40, retries: 2 });
    bmc.silent = true;
    const t0 = Date.now();
    const err = await client.chassisStatus().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TIMEOUT' });
    expect((err as Error).message).toMatch(/127\.0\.0\.1:9623 after 3 attempts of 40 ms/);
    expect(bmc.received.length).toBe(3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(115);
  });

  test('wrong password → AUTH, and RAKP is not retried', async () => {
    const { bmc, client } = setup({ password: 'wrong' });
    await expect(client.chassisStatus()).rejects.toMatchObject({ code: 'AUTH' });
    expect(bmc.rakp1s).toBe(1);
    expect(bmc.opens).toBe(1);
  });

  test('completion codes: 0xD4 → REFUSED with completionCode, no re-open', async () => {
    const { bmc, client } = setup();
    bmc.handler = (r) => (r.netFn === 0 && r.cmd === 2 ? { cc: 0xd4 } : undefined);
    await expect(client.chassisControl('off')).rejects.toMatchObject({ code: 'REFUSED', completionCode: 0xd4 });
    expect(bmc.opens).toBe(1);
  });

  test('session gone (BMC restarted) → a new session, and a read is sent again', async () => {
    const { bmc, client } = setup();
    await client.chassisStatus();
    bmc.forgetSessions();
    expect((await client.chassisStatus()).power).toBe('on');
    expect(bmc.opens).toBe(2);
    expect(count(bmc, 0, 1)).toBe(2);
  });

  test('after a re-open, power off is sent again but power cycle is not', async () => {
    const { bmc, client } = setup();
    await client.open();
    bmc.forgetSessions();
    await client.chassisControl('off');
    expect(count(bmc, 0, 2)).toBe(1);

    bmc.forgetSessions();
    const err = await client.chassisControl('cycle').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TIMEOUT' });
    expect((err as Error).message).toMatch(/not sent again/);
    expect(count(bmc, 0, 2)).toBe(1);
    expect(bmc.opens).toBe(3);
    // The fresh session is kept for the next call.
    await client.chassisStatus();
    expect(bmc.opens).toBe(3);
  });

  test("'auto' asks for auth caps and cipher suites and picks the best listed suite", async () => {
    const { bmc, client } = setup({ cipherSuite: 'auto' });
    await client.open();
    expect(client.activeCipherSuite).toBe(1);
    expect(client.sessionKind).toBe('rmcp+');
    expect(bmc.received[0]?.[4]).toBe(0x00);
  });

  test('keep-alive: a Get Device ID after keepAliveMs of idleness, timer cleared on close', async () => {
    const clock = new FakeClock();
    const { bmc, client } = setup({ clock, keepAliveMs: 30_000 });
    await client.chassisStatus();
    expect(client.keepAliveArmed).toBe(true);
    expect(count(bmc, 6, 1)).toBe(0);
    await clock.advance(29_000);
    expect(count(bmc, 6, 1)).toBe(0);
    await clock.advance(1_000);
    expect(count(bmc, 6, 1)).toBe(1);
    await clock.advance(30_000);
    expect(count(bmc, 6, 1)).toBe(2);
    await client.close();
    expect(client.keepAliveArmed).toBe(false);
    expect(clock.pending).toBe(0);
  });

  test('close sends Close Session once with the BMC session ID and is idempotent', async () => {
    const { bmc, client } = setup();
    await client.open();
    await client.close();
    await client.close();
    const closes = bmc.requests.filter((r) => r.netFn === 6 && r.cmd === 0x3c);
    expect(closes.length).toBe(1);
    expect(closes[0]?.data.readUInt32LE(0)).toBe(0x1001);
    expect(client.sessionKind).toBeUndefined();
  });

  test('Kg: the right key logs in, a wrong one fails RAKP 4 with AUTH', async () => {
    const ok = setup({ kg: Buffer.from('bmc-key') });
    ok.bmc.kg = Buffer.from('bmc-key');
    expect((await ok.client.chassisStatus()).power).toBe('on');
    const bad = setup({ kg: Buffer.from('other-key') });
    bad.bmc.kg = Buffer.from('bmc-key');
    await expect(bad.client.chassisStatus()).rejects.toMatchObject({ code: 'AUTH', message: expect.stringMatching(/RAKP 4/) });
  });

  test('no secret reaches a log line or an error', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'trace' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
    const kg = Buffer.from('kg-secret-0123456789');
    const { bmc, client } = setup({ log, password: 'hunter2-pass', kg, keepAliveMs: 0 });
    bmc.password = 'hunter2-pass';
    bmc.kg = kg;
    await client.chassisStatus().catch(() => undefined);
    bmc.forgetSessions();
    await client.chassisStatus().catch(() => undefined);
    const bad = setup({ log, password: 'hunter3-pass' });
    const err = await bad.client.chassisStatus().catch((e: unknown) => e);
    await client.close();
    const all = lines.join('') + String(err) + JSON.stringify(err);
    expect(lines.length).toBeGreaterThan(0);
    for (const secret of ['hunter2-pass', 'hunter3-pass', 'kg-secret', Buffer.from('hunter2-pass').toString('hex')]) expect(all).not.toContain(secret);
  });
});
