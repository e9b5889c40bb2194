/**
 * The apcupsd source against a REAL apcupsd (3.14.x) that polls our TypeScript Smart-UPS emulator
 * over a socat pty and serves NIS on 127.0.0.1 (test/helpers/apcupsd.ts). Every state the test
 * checks went emulator → serial protocol → apcupsd → NIS → our codec, so this also proves the
 * emulator speaks the smart protocol well enough for apcupsd's own driver.
 */
import { findApcupsd, startApcupsd, type Apcupsd } from '../helpers/apcupsd';
import { createApcupsdSource, type ApcupsdSource } from '../../src/adapters/ups/apcupsd';
import { apcupsdSchema } from '../../src/adapters/ups/apcupsd/config';
import { PolledUps } from '../../src/adapters/ups/polled';
import { systemClock } from '../../src/core/clock';
import { BlackstartError } from '../../src/core/errors';
import type { EventType } from '../../src/core/events';
import { Hub } from '../../src/core/hub';
import { silentLogger } from '../../src/core/logger';
import type { UpsStatus } from '../../src/core/state';

const found = findApcupsd();
const suite = 'bin' in found ? describe : describe.skip;
if ('missing' in found) {
  // Visible in the jest output; CI provides the binary, so there this suite runs.
  console.warn(`SKIPPED apcupsd-nis.test: ${found.missing}`);
}

const DEAD_TIME = 2000;
/** apcupsd here polls its UPS every second (POLLTIME 1), so 3 s without a new DATE is stale. */
const STALE_AFTER = 3000;

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What the direct source reads now: a status, or the error code it rejected with. */
async function readNow(src: ApcupsdSource): Promise<UpsStatus | string> {
  try {
    return (await src.read()).status;
  } catch (err) {
    return err instanceof BlackstartError ? err.code : String(err);
  }
}

suite('apcupsd source against a real apcupsd serving our Smart-UPS emulator', () => {
  let peer: Apcupsd;
  let direct: ApcupsdSource;
  let hub: Hub | undefined;
  const deps = { clock: systemClock, log: silentLogger() };

  beforeAll(async () => {
    if (!('bin' in found)) return;
    peer = await startApcupsd(found.bin);
    direct = createApcupsdSource(apcupsdSchema.parse({ host: '127.0.0.1', port: peer.port, timeout: '2s' }), deps);
  }, 20_000);

  beforeEach(async () => {
    if (!peer) return;
    // Each test starts from a healthy UPS on mains, whatever the one before left behind.
    peer.ups.fault = null;
    peer.ups.set({ onBattery: false, lowBattery: false, chargePct: 100, runtimeMin: 45, batteryV: 27.3 });
    await until(
      'apcupsd to report ONLINE at full charge',
      async () => {
        const r = await direct.read();
        return r.status === 'online' && r.chargePct === 100 ? true : undefined;
      },
      30_000,
    );
  }, 35_000);

  afterEach(async () => {
    await hub?.stop();
    hub = undefined;
  });

  afterAll(async () => {
    await direct?.close();
    await peer?.close();
  });

  /** A hub with PolledUps over its own apcupsd source, recording statuses and events. */
  async function startHub() {
    const h = new Hub({ clock: systemClock });
    h.addUps('lab');
    const source = createApcupsdSource(apcupsdSchema.parse({ host: '127.0.0.1', port: peer.port, timeout: '1s', stale_after: `${STALE_AFTER}ms` }), deps);
    h.attach(
      new PolledUps('lab', source, {
        pollInterval: 250,
        timeout: 1000,
        deadTime: DEAD_TIME,
        onBatteryDelay: 0,
        reconnectMax: 500,
        commands: [],
        impl: 'apcupsd',
      }),
    );
    const statuses: UpsStatus[] = [];
    const events: { type: EventType; at: number }[] = [];
    h.on('ups', (_id, s) => {
      if (statuses[statuses.length - 1] !== s.status) statuses.push(s.status);
    });
    h.on('event', (e) => events.push({ type: e.type, at: e.at }));
    hub = h;
    await h.start();
    const status = (): UpsStatus | undefined => h.ups('lab')?.status;
    const reach = (want: UpsStatus, timeoutMs?: number) => until(`hub status ${want}`, () => (status() === want ? Date.now() : undefined), timeoutMs);
    return { hub: h, statuses, events, status, reach };
  }

  it('follows online → on battery → low battery → online, directly and through PolledUps + Hub', async () => {
    const started = Date.now();
    const h = await startHub();
    await h.reach('online');
    expect(await direct.read()).toEqual({ status: 'online', flags: ['ONLINE'], chargePct: 100, runtimeS: 2700, loadPct: 23.4, inputV: 230.4, batteryV: 27.3, onBatteryS: 0 });
    expect(h.hub.ups('lab')).toMatchObject({ status: 'online', chargePct: 100, source: `apcupsd://127.0.0.1:${peer.port}` });

    peer.ups.set({ onBattery: true, chargePct: 61.5, runtimeMin: 12, batteryV: 25.1 });
    const onBatt = await until('ONBATT over NIS', async () => {
      const r = await direct.read();
      // STATUS follows the alert at once; the numbers come with apcupsd's next poll (POLLTIME 1).
      return r.status === 'on_battery' && r.chargePct === 61.5 ? r : undefined;
    });
    expect(onBatt).toMatchObject({ flags: ['ONBATT'], chargePct: 61.5, runtimeS: 720, inputV: 0, batteryV: 25.1 });
    await h.reach('on_battery');

    // Runtime and charge stay above apcupsd's MINUTES/BATTERYLEVEL, so it does not start its own shutdown.
    peer.ups.set({ lowBattery: true, chargePct: 30, runtimeMin: 10 });
    const low = await until('ONBATT LOWBATT over NIS', async () => {
      const r = await direct.read();
      return r.status === 'low_battery' && r.chargePct === 30 ? r : undefined;
    });
    expect(low).toMatchObject({ flags: ['ONBATT', 'LOWBATT'], chargePct: 30, runtimeS: 600 });
    await h.reach('low_battery');

    peer.ups.set({ onBattery: false, lowBattery: false, chargePct: 35, runtimeMin: 14 });
    await until('ONLINE over NIS', async () => ((await direct.read()).status === 'online' ? true : undefined));
    await h.reach('online');

    // The hub starts every UPS as comm_lost until its first reading.
    expect(h.statuses).toEqual(['comm_lost', 'online', 'on_battery', 'low_battery', 'online']);
    const types = h.events.map((e) => e.type);
    expect(types.indexOf('power_lost')).toBeGreaterThanOrEqual(0);
    expect(types.indexOf('low_battery')).toBeGreaterThan(types.indexOf('power_lost'));
    expect(types.indexOf('power_restored')).toBeGreaterThan(types.indexOf('low_battery'));

    // apcupsd's own event log, read over NIS, saw the same outage (its clock has 1 s resolution).
    const log = await direct.events();
    const recent = log.filter((e) => e.at !== null && e.at >= Math.floor(started / 1000) * 1000);
    expect(recent.map((e) => e.message)).toEqual(
      expect.arrayContaining(['Power failure.', 'Running on UPS batteries.', 'Mains returned. No longer on UPS batteries.']),
    );
    // and it ran our harmless apccontrol, never the system one
    expect(peer.apccontrolCalls()).toEqual(expect.arrayContaining([expect.stringMatching(/^powerout labapc/), expect.stringMatching(/^mainsback labapc/)]));
  }, 25_000);

  it('apcupsd killed: reads fail UNREACHABLE and the hub says comm_lost after dead_time; restarted: recovers', async () => {
    const h = await startHub();
    await h.reach('online');
    await peer.kill();
    const killedAt = Date.now();
    await expect(direct.read()).rejects.toMatchObject({ code: 'UNREACHABLE', message: expect.stringContaining('connection refused') });
    const lostAt = await h.reach('comm_lost', 6000);
    // The dead timer started at the last good reading, at most one poll before the kill.
    expect(lostAt - killedAt).toBeGreaterThanOrEqual(DEAD_TIME - 300);
    expect(lostAt - killedAt).toBeLessThan(DEAD_TIME + 1500);
    expect(h.hub.ups('lab')).toMatchObject({ chargePct: null, runtimeS: null });

    await peer.start();
    await h.reach('online', 6000);
    expect(await readNow(direct)).toBe('online');
    expect(h.events.map((e) => e.type)).toEqual(expect.arrayContaining(['ups_comm_lost', 'ups_comm_restored']));
  }, 20_000);

  it('UPS silent: stale values are caught within stale_after, then apcupsd itself reports COMMLOST', async () => {
    const h = await startHub();
    await h.reach('online');
    peer.ups.fault = 'mute';
    const mutedAt = Date.now();
    // apcupsd keeps printing ONLINE for ~20 s; its DATE stops moving at once, which is what we watch.
    const lostAt = await h.reach('comm_lost', STALE_AFTER + DEAD_TIME + 3000);
    console.info(`comm_lost ${lostAt - mutedAt} ms after the UPS went silent (stale_after ${STALE_AFTER} ms, dead_time ${DEAD_TIME} ms)`);
    expect(lostAt - mutedAt).toBeLessThan(15_000);

    // apcupsd 3.14.14 needs about 21–23 s to give up on a silent smart UPS (measured with this
    // emulator and with the Python simulator of real-peers.md §4), hence this test's longer limit.
    const err = await until(
      'COMMLOST over NIS',
      async () => {
        try {
          await direct.read();
          return undefined;
        } catch (e) {
          return e instanceof BlackstartError && /COMMLOST/.test(e.message) ? e : undefined;
        }
      },
      35_000,
    );
    const noticedMs = Date.now() - mutedAt;
    expect(err).toMatchObject({ code: 'UNREACHABLE', message: `apcupsd://127.0.0.1:${peer.port}: apcupsd lost its UPS (STATUS COMMLOST)` });
    console.info(`apcupsd itself noticed the silent UPS after ${noticedMs} ms`);

    peer.ups.fault = null;
    await h.reach('online', 8000);
    expect(await readNow(direct)).toBe('online');
    const log = await direct.events();
    expect(log.map((e) => e.message)).toEqual(expect.arrayContaining(['Communications with UPS lost.', 'Communications with UPS restored.']));
  }, 50_000);
});
