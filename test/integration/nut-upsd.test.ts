/**
 * The NUT source against a REAL upsd 2.8 with dummy-ups drivers on 127.0.0.1 (test/helpers/nut.ts).
 * Skips only when the NUT binaries are missing.
 */
import { systemClock } from '../../src/core/clock';
import { Hub } from '../../src/core/hub';
import { silentLogger } from '../../src/core/logger';
import { Secret } from '../../src/core/secret';
import type { UpsState } from '../../src/core/state';
import { PolledUps } from '../../src/adapters/ups/polled';
import { NutClient, createNutSource, listUps, nutSchema, type NutConfig } from '../../src/adapters/ups/nut';
import type { UpsSource } from '../../src/adapters/ups/source';
import { NUT_USERS, nutMissing, startNut, type DevVars, type NutServer } from '../helpers/nut';
import { rejection } from '../helpers/rejection';

const missing = nutMissing();
if (missing) console.warn(`SKIPPED nut-upsd integration tests: ${missing}`);
const suite = missing ? describe.skip : describe;

const OL: DevVars = { 'ups.status': 'OL', 'battery.charge': 100, 'battery.runtime': 1800, 'battery.voltage': 27.3, 'input.voltage': '230.0', 'ups.load': 23 };
const deps = { clock: systemClock, log: silentLogger() };

suite('NUT source against a real upsd', () => {
  let nut: NutServer;
  const sources: UpsSource[] = [];

  const config = (extra: Record<string, unknown> = {}, password?: string): NutConfig => {
    const cfg = nutSchema.parse({
      host: '127.0.0.1',
      port: nut.port,
      ups: 'labups',
      timeout: '2s',
      poll_interval: '250ms',
      dead_time: '1500ms',
      on_battery_delay: '0s',
      reconnect_max: '500ms',
      ...extra,
      ...(password !== undefined ? { password } : {}),
    });
    if (password !== undefined) cfg.password?.resolve(new Secret(password, 'test'));
    return cfg;
  };
  const source = (extra: Record<string, unknown> = {}, password?: string): UpsSource => {
    const s = createNutSource(config(extra, password), deps);
    sources.push(s);
    return s;
  };

  beforeAll(async () => {
    nut = await startNut({
      ups: {
        labups: OL,
        second: { 'ups.status': 'OB DISCHRG', 'battery.charge': 55, 'battery.runtime': 600 },
        fsdups: { 'ups.status': 'OL', 'battery.charge': 90 },
      },
    });
  }, 20_000);

  afterEach(async () => {
    await Promise.all(sources.splice(0).map((s) => s.close()));
  });

  afterAll(async () => {
    await nut?.stop();
  });

  it('lists the UPSes the server serves', async () => {
    const list = await listUps({ host: nut.host, port: nut.port, timeoutMs: 2000 });
    // upsd keeps the order of ups.conf.
    expect(list).toEqual([
      { name: 'labups', description: 'test UPS labups' },
      { name: 'second', description: 'test UPS second' },
      { name: 'fsdups', description: 'test UPS fsdups' },
    ]);
  });

  it('reads OL, OB, OB LB and OL again as each normalized state', async () => {
    const s = source();
    expect(s.label).toBe(`nut://127.0.0.1:${nut.port}/labups`);
    expect(await s.read()).toEqual({ status: 'online', flags: ['OL'], chargePct: 100, runtimeS: 1800, loadPct: 23, inputV: 230, batteryV: 27.3 });

    nut.setVars('labups', { ...OL, 'ups.status': 'OB DISCHRG', 'battery.charge': 60, 'input.voltage': 0 });
    await nut.waitForStatus('labups', 'OB DISCHRG');
    expect(await s.read()).toMatchObject({ status: 'on_battery', flags: ['OB', 'DISCHRG'], chargePct: 60, inputV: 0 });

    nut.setVars('labups', { ...OL, 'ups.status': 'OB LB', 'battery.charge': 8, 'battery.runtime': 90 });
    await nut.waitForStatus('labups', 'OB LB');
    expect(await s.read()).toMatchObject({ status: 'low_battery', flags: ['OB', 'LB'], chargePct: 8, runtimeS: 90 });

    nut.setVars('labups', OL);
    await nut.waitForStatus('labups', 'OL');
    expect(await s.read()).toMatchObject({ status: 'online', chargePct: 100 });
  });

  it('reads several UPSes on one server', async () => {
    const [a, b] = await Promise.all([source().read(), source({ ups: 'second' }).read()]);
    expect(a.status).toBe('online');
    expect(b).toMatchObject({ status: 'on_battery', chargePct: 55, runtimeS: 600, loadPct: null });
  });

  it('wrong password: AUTH naming the server code, without the password', async () => {
    const s = source({ role: 'secondary', username: NUT_USERS.monuser.username }, 'not-the-right-pw-5521');
    const err = await rejection(s.read());
    expect(err.code).toBe('AUTH');
    expect(err.message).toBe(`nut://127.0.0.1:${nut.port}/labups: ERR ACCESS-DENIED on LOGIN labups`);
    expect(err.message).not.toContain('not-the-right-pw');
  });

  it('unknown UPS: NOT_FOUND', async () => {
    const err = await rejection(source({ ups: 'nosuch' }).read());
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toContain('ERR UNKNOWN-UPS on LIST VAR nosuch');
  });

  it('LOGIN as secondary counts in NUMLOGINS, and LOGOUT on close removes it', async () => {
    const watcher = new NutClient({ host: nut.host, port: nut.port, timeoutMs: 2000 });
    await watcher.connect();
    try {
      expect(await watcher.numLogins('second')).toBe(0);
      const s = source({ ups: 'second', role: 'secondary', username: NUT_USERS.monuser.username }, NUT_USERS.monuser.password);
      await s.read();
      expect(await watcher.numLogins('second')).toBe(1);
      expect(await watcher.listClient('second')).toEqual(['127.0.0.1']);
      await s.close();
      // upsd drops the login when it sees the connection go, right after LOGOUT.
      for (let i = 0; i < 40 && (await watcher.numLogins('second')) !== 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(await watcher.numLogins('second')).toBe(0);
    } finally {
      await watcher.logout();
    }
  });

  it('instant commands: one dummy-ups lists runs; one it lacks is UNSUPPORTED', async () => {
    const s = source({ username: NUT_USERS.admin.username, commands: ['load.off'] }, NUT_USERS.admin.password);
    // dummy-ups 2.8.0 lists load.off (upscmd -l) and accepts it.
    await expect(s.run?.('load.off')).resolves.toBeUndefined();
    const err = await rejection(s.run?.('beeper.mute') as Promise<void>);
    expect(err.code).toBe('UNSUPPORTED');
    expect(err.message).toContain('no instant command "beeper.mute" (it offers: load.off)');
  });

  it('instant command without the right: AUTH from upsd', async () => {
    const s = source({ username: NUT_USERS.monuser.username, commands: ['load.off'] }, NUT_USERS.monuser.password);
    const err = await rejection(s.run?.('load.off') as Promise<void>);
    expect(err.code).toBe('AUTH');
    expect(err.message).toContain('ERR ACCESS-DENIED on INSTCMD labups load.off');
  });

  it('FSD as primary latches: the status reads FSD … and maps to shutting_down', async () => {
    const s = source({ ups: 'fsdups', role: 'primary', username: NUT_USERS.monuser.username, commands: ['fsd'] }, NUT_USERS.monuser.password);
    expect((await s.read()).status).toBe('online');
    await s.run?.('fsd');
    expect(await s.read()).toMatchObject({ status: 'shutting_down', flags: ['FSD', 'OL'] });
  });

  it('STARTTLS: auto goes on in plain text against a upsd without TLS; required refuses clearly', async () => {
    expect((await source({ tls: 'auto' }).read()).status).toBe('online');
    const err = await rejection(source({ tls: 'required' }).read());
    expect(err.code).toBe('REFUSED');
    expect(err.message).toContain('ERR FEATURE-NOT-CONFIGURED on STARTTLS: tls is "required" but this upsd offers no TLS');
  });

  it('through PolledUps and the hub: OL → OB → OB LB → OL, comm_lost when upsd dies, online when it is back', async () => {
    const hub = new Hub({ clock: systemClock });
    hub.addUps('lab');
    const cfg = config();
    hub.attach(new PolledUps('lab', createNutSource(cfg, deps), { ...cfg, commands: [], impl: 'nut' }));
    const seen: UpsState['status'][] = [];
    const waitFor = (status: UpsState['status'], ms = 6000): Promise<void> =>
      new Promise((resolve, reject) => {
        if (hub.ups('lab')?.status === status) return resolve();
        const timer = setTimeout(() => {
          hub.off('ups', on);
          reject(new Error(`hub never said ${status} (saw ${seen.join(' → ')})`));
        }, ms);
        const on = (_id: string, st: UpsState): void => {
          if (st.status !== status) return;
          clearTimeout(timer);
          hub.off('ups', on);
          resolve();
        };
        hub.on('ups', on);
      });
    hub.on('ups', (_id, st, prev) => {
      if (st.status !== prev.status) seen.push(st.status);
    });
    await hub.start();
    try {
      await waitFor('online');
      expect(hub.ups('lab')).toMatchObject({ chargePct: 100, source: `nut://127.0.0.1:${nut.port}/labups` });

      nut.setVars('labups', { ...OL, 'ups.status': 'OB' });
      await waitFor('on_battery');
      nut.setVars('labups', { ...OL, 'ups.status': 'OB LB', 'battery.charge': 7 });
      await waitFor('low_battery');
      expect(hub.ups('lab')?.chargePct).toBe(7);
      nut.setVars('labups', OL);
      await waitFor('online');

      const killedAt = Date.now();
      await nut.stopUpsd();
      await waitFor('comm_lost');
      // dead_time is 1.5 s, counted from the last good reading (at most one poll before the kill).
      expect(Date.now() - killedAt).toBeGreaterThanOrEqual(1500 - 300);

      await nut.startUpsd();
      await waitFor('online');
      expect(seen).toEqual(['online', 'on_battery', 'low_battery', 'online', 'comm_lost', 'online']);
    } finally {
      await hub.stop();
    }
  }, 25_000);
});
