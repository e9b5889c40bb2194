/**
 * The native IPMI client against a real OpenIPMI ipmi_sim on loopback, cross-checked with the
 * simulator's own state file, its chassis log and ipmitool.
 */
import { IpmiClient, type CipherSuiteChoice, type IpmiClientOptions } from '../../src/adapters/ipmi/client';
import { BlackstartError } from '../../src/core/errors';
import { IPMI_USERS, freeUdpPort, ipmiSimMissing, startIpmiSim, type IpmiSim, type IpmiWho } from '../helpers/ipmi-sim';

const missing = ipmiSimMissing();

describe('IpmiClient against ipmi_sim', () => {
  let sim: IpmiSim;
  const clients: IpmiClient[] = [];

  beforeAll(async () => {
    if (missing) throw new Error(`real-BMC tests cannot run: ${missing}`);
    sim = await startIpmiSim({ power: true });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await sim?.stop();
  });

  function client(who: IpmiWho = 'admin', extra: Partial<IpmiClientOptions> = {}): IpmiClient {
    const u = IPMI_USERS[who];
    const c = new IpmiClient({ host: sim.host, port: sim.port, username: u.username, password: u.password, timeoutMs: 500, retries: 2, keepAliveMs: 0, ...extra });
    clients.push(c);
    return c;
  }

  async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!check()) {
      if (Date.now() > end) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  test('deviceId reads the simulated MC', async () => {
    const c = client();
    const id = await c.deviceId();
    // sim.emu: mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 → rev 9, fw 8, IANA 0x1291, product 0xf02.
    expect(id.manufacturerId).toBe(0x1291);
    expect(id.productId).toBe(0xf02);
    expect(id.ipmiVersion).toBe('2.0');
    expect(c.sessionKind).toBe('rmcp+');
  });

  test('chassisStatus agrees with the state file and with ipmitool', async () => {
    const c = client();
    for (const on of [false, true]) {
      sim.setPowerState(on);
      const st = await c.chassisStatus();
      expect(st.power).toBe(on ? 'on' : 'off');
      const ref = await sim.ipmitool(['chassis', 'power', 'status']);
      expect(ref.stdout).toContain(on ? 'is on' : 'is off');
    }
  });

  test('chassisControl off / on / cycle / reset / soft reach the chassis script', async () => {
    const c = client('admin');
    sim.setPowerState(true);
    const before = sim.chassisLog().length;
    await c.chassisControl('off');
    expect(sim.powerState()).toBe('0');
    expect((await c.chassisStatus()).power).toBe('off');
    await c.chassisControl('on');
    expect(sim.powerState()).toBe('1');
    await c.chassisControl('reset');
    await c.chassisControl('soft');
    await c.chassisControl('cycle');
    // ipmi_sim powers a cycled chassis back on about a second later.
    await waitFor(() => sim.chassisLog().slice(before).filter((l) => l === 'set power 1').length >= 2);
    const log = sim.chassisLog().slice(before).filter((l) => l.startsWith('set'));
    expect(log).toEqual(['set power 0', 'set power 1', 'set reset 1', 'set shutdown 1', 'set power 0', 'set power 1']);
    expect(sim.powerState()).toBe('1');
  });

  test('the operator user may power off and on', async () => {
    const c = client('operator', { privilege: 'operator' });
    await c.chassisControl('off');
    expect(sim.powerState()).toBe('0');
    await c.chassisControl('on');
    expect(sim.powerState()).toBe('1');
  });

  test('a user-privilege user can read but is REFUSED power control', async () => {
    const c = client('user', { privilege: 'user' });
    expect((await c.chassisStatus()).power).toBe('on');
    const err = await c.chassisControl('off').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlackstartError);
    expect(err).toMatchObject({ code: 'REFUSED', completionCode: 0xd4 });
    expect(sim.powerState()).toBe('1');
  });

  // ipmi_sim does not hold a user to its max privilege (ipmitool -U viewer -L OPERATOR may power
  // off too), so there is no "refused at login" case to test against this simulator.

  for (const suite of ['auto', 3, 'ipmi15'] as const) {
    test(`wrong password → AUTH at once, not retried (${suite})`, async () => {
      // IPMI 1.5 has no proof from the BMC: a wrong password only shows as silence after the
      // challenge, so that case waits two attempts of timeoutMs.
      const timeoutMs = suite === 'ipmi15' ? 300 : 2000;
      const c = client('admin', { password: 'not-the-password', cipherSuite: suite, timeoutMs, retries: 3 });
      const t0 = Date.now();
      const err = await c.chassisStatus().catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'AUTH' });
      expect((err as Error).message).not.toContain('not-the-password');
      expect(Date.now() - t0).toBeLessThan(2000);
    });
  }

  test('nothing listening → TIMEOUT after about timeoutMs × (retries + 1)', async () => {
    const port = await freeUdpPort();
    const c = new IpmiClient({ host: '127.0.0.1', port, username: 'admin', password: 'x', timeoutMs: 200, retries: 1, keepAliveMs: 0 });
    clients.push(c);
    const t0 = Date.now();
    const err = await c.chassisStatus().catch((e: unknown) => e);
    const took = Date.now() - t0;
    expect(err).toMatchObject({ code: 'TIMEOUT' });
    expect((err as Error).message).toContain(`127.0.0.1:${port}`);
    expect(took).toBeGreaterThanOrEqual(390);
    expect(took).toBeLessThan(1500);
  });

  test('after sim.restart() the next command opens a new session and succeeds', async () => {
    const c = client('admin', { timeoutMs: 200, retries: 1 });
    expect((await c.chassisStatus()).power).toBe('on');
    await sim.restart();
    sim.setPowerState(false);
    expect((await c.chassisStatus()).power).toBe('off');
    sim.setPowerState(true);
    expect((await c.chassisStatus()).power).toBe('on');
  });

  for (const suite of [0, 1, 2, 3, 'ipmi15', 'auto'] as CipherSuiteChoice[]) {
    test(`cipher suite ${String(suite)} works`, async () => {
      const c = client('admin', { cipherSuite: suite });
      sim.setPowerState(true);
      expect((await c.chassisStatus()).power).toBe('on');
      await c.chassisControl('off');
      expect(sim.powerState()).toBe('0');
      await c.chassisControl('on');
      if (suite === 'ipmi15') {
        expect(c.sessionKind).toBe('ipmi15');
        expect(c.activeCipherSuite).toBe('ipmi15');
      } else {
        expect(c.sessionKind).toBe('rmcp+');
        // ipmi_sim lists suites 0–14; 'auto' must take the best of those it knows, which is 3.
        expect(c.activeCipherSuite).toBe(suite === 'auto' ? 3 : suite);
      }
    });
  }

  test('suite 17 fails cleanly: ipmi_sim has no SHA-256', async () => {
    const c = client('admin', { cipherSuite: 17, timeoutMs: 500, retries: 2 });
    const t0 = Date.now();
    const err = await c.chassisStatus().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UNSUPPORTED' });
    expect((err as Error).message).toMatch(/cipher suite 17.*authentication algorithm/);
    expect(Date.now() - t0).toBeLessThan(500);
  });

  test('close sends Close Session and is idempotent; a later call opens again', async () => {
    const c = client();
    await c.open();
    expect(c.sessionKind).toBe('rmcp+');
    await c.close();
    await c.close();
    expect(c.sessionKind).toBeUndefined();
    expect((await c.chassisStatus()).power).toBe('on');
  });
});
