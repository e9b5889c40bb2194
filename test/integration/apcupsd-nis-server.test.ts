/**
 * Our apcupsd NIS server against the real clients: apcupsd 3.14.x's own `apcaccess`, and a REAL
 * apcupsd running as a network slave (`UPSTYPE net`) of our server, with a recorder in place of
 * its apccontrol (test/helpers/apcupsd-slave.ts). What the slave does is apcupsd's own logic: it
 * copies the master's STATFLAG bits, shuts down 5 s after LOWBATT while on battery ("failing",
 * then "doshutdown"), and at once when the master says SHUTTING DOWN ("remotedown", "doshutdown").
 * Loopback only; skipped with the reason when there is no apcupsd binary.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReplyDecoder, parseEvents, recordText } from '../../src/adapters/ups/apcupsd/codec';
import { startBlackstart, type Blackstart } from '../../src/app';
import { NisServer } from '../../src/compat/apcupsd-nis/server';
import { parseConfig } from '../../src/config/loader';
import { Hub } from '../../src/core/hub';
import { silentLogger } from '../../src/core/logger';
import type { UpsState } from '../../src/core/state';
import {
  apcaccess,
  apcaccessFields,
  findApcupsdBinaries,
  startApcupsdSlave,
  type ApcupsdBinaries,
  type ApcupsdCall,
  type ApcupsdSlave,
} from '../helpers/apcupsd-slave';
import { cli, stopRun, until, type CliRun } from '../helpers/cli-run';
import { freePort } from '../helpers/ports';

const found = findApcupsdBinaries();
const suite = 'apcupsd' in found ? describe : describe.skip;
if ('missing' in found) console.warn(`SKIPPED apcupsd-nis-server.test: ${found.missing}`);
const bins = found as ApcupsdBinaries;

const ONLINE: Partial<UpsState> = { status: 'online', flags: ['OL'], chargePct: 100, runtimeS: 2700, loadPct: 23, inputV: 230, batteryV: 27.3, source: 'test://hub' };
const ON_BATTERY: Partial<UpsState> = { status: 'on_battery', flags: ['OB'], chargePct: 80, runtimeS: 1500, inputV: 0 };
const LOW: Partial<UpsState> = { status: 'low_battery', flags: ['OB', 'LB'], chargePct: 10, runtimeS: 1200, inputV: 0 };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** A raw NIS conversation: sends `bytes`, then collects whatever comes until the server closes or `quietMs` passes. */
function exchange(port: number, bytes: Buffer, quietMs = 500): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let timer = setTimeout(() => finish(false), quietMs);
    const finish = (closed: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve({ data: Buffer.concat(chunks), closed });
    };
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      clearTimeout(timer);
      timer = setTimeout(() => finish(false), quietMs);
    });
    s.on('error', () => undefined);
    s.on('close', () => finish(true));
    s.write(bytes);
  });
}

const request = (text: string): Buffer => Buffer.concat([Buffer.from([0, text.length]), Buffer.from(text, 'latin1')]);

/** All whole replies in a byte stream, each as its records. */
function replies(data: Buffer): Buffer[][] {
  const out: Buffer[][] = [];
  let rest = data;
  while (rest.length > 0) {
    const d = new ReplyDecoder();
    let end = 0;
    for (let i = 0; i + 2 <= rest.length; ) {
      const len = rest.readUInt16BE(i);
      i += 2 + len;
      if (len === 0) {
        end = i;
        break;
      }
    }
    if (end === 0) break;
    const step = d.push(rest.subarray(0, end));
    if (step.kind !== 'reply') throw new Error(`bad reply: ${JSON.stringify(step)}`);
    out.push(step.records);
    rest = rest.subarray(end);
  }
  return out;
}

function openSocket(port: number): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

async function startHubAndServer(overrides: Partial<Parameters<typeof NisServer.start>[0]> = {}): Promise<{ hub: Hub; nis: NisServer }> {
  const hub = new Hub();
  hub.addUps('rack');
  hub.updateUps('rack', ONLINE);
  const nis = await NisServer.start({
    hub,
    ups: 'rack',
    listen: '127.0.0.1',
    port: 0,
    maxConnections: 8,
    idleTimeoutMs: 5000,
    slaveWaitMs: 10_000,
    version: '9.9.9',
    log: silentLogger(),
    ...overrides,
  });
  return { hub, nis };
}

/**
 * The first call of each named event, once all have been recorded. apcupsd forks apccontrol for
 * each event, so two events of one moment (failing + doshutdown) land in either order, ms apart.
 */
function recorded(slave: ApcupsdSlave | undefined, ...names: string[]): () => ApcupsdCall[] | undefined {
  return () => {
    const calls = slave?.calls() ?? [];
    const found = names.map((n) => calls.find((c) => c.event === n));
    return found.every((c) => c !== undefined) ? (found as ApcupsdCall[]) : undefined;
  };
}

/** The recorder's events in order, with ms since `t0`, for messages and the report. */
const timeline = (calls: ApcupsdCall[], t0: number): string => calls.map((c) => `${c.event}+${c.at - t0}ms`).join(' ');

suite('apcupsd NIS server read by the real apcaccess', () => {
  let hub: Hub;
  let nis: NisServer;

  beforeAll(async () => {
    ({ hub, nis } = await startHubAndServer({ maxConnections: 4, idleTimeoutMs: 2000 }));
  });
  afterAll(async () => {
    await nis?.close();
  });
  beforeEach(() => hub.updateUps('rack', ONLINE));

  it('apcaccess prints our status block: ONLINE, charge and runtime in its units', async () => {
    const r = await apcaccess(bins.apcaccess, nis.port);
    expect(r).toMatchObject({ code: 0, err: '' });
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^APC {6}: 001,0\d\d,0\d{3}$/);
    for (const line of [
      'UPSNAME  : rack',
      'MODEL    : Blackstart',
      'VERSION  : 9.9.9 (Blackstart)',
      'STATUS   : ONLINE ',
      'LINEV    : 230.0 Volts',
      'LOADPCT  : 23.0 Percent',
      'BCHARGE  : 100.0 Percent',
      'TIMELEFT : 45.0 Minutes',
      'BATTV    : 27.3 Volts',
      'NUMXFERS : 0',
      'STATFLAG : 0x05000008',
    ]) {
      expect(lines).toContain(line);
    }
    expect(lines.filter((l) => l.startsWith('END APC  : '))).toHaveLength(1);
  });

  it('apcaccess follows the hub: ONBATT, then ONBATT LOWBATT, then ONLINE again; -u strips the units', async () => {
    hub.updateUps('rack', ON_BATTERY);
    let f = await apcaccessFields(bins.apcaccess, nis.port);
    expect([f?.get('STATUS'), f?.get('BCHARGE'), f?.get('TIMELEFT'), f?.get('NUMXFERS'), f?.get('STATFLAG')]).toEqual([
      'ONBATT',
      '80.0 Percent',
      '25.0 Minutes',
      '1',
      '0x05060010',
    ]);
    hub.updateUps('rack', LOW);
    f = await apcaccessFields(bins.apcaccess, nis.port);
    expect([f?.get('STATUS'), f?.get('BCHARGE'), f?.get('TIMELEFT'), f?.get('STATFLAG')]).toEqual(['ONBATT LOWBATT', '10.0 Percent', '20.0 Minutes', '0x05060050']);
    expect((await apcaccess(bins.apcaccess, nis.port, ['-u', '-p', 'TIMELEFT'])).out).toBe('20.0\n');
    hub.updateUps('rack', ONLINE);
    f = await apcaccessFields(bins.apcaccess, nis.port);
    expect([f?.get('STATUS'), f?.get('XOFFBATT') === 'N/A', f?.get('LASTXFER')]).toEqual(['ONLINE', false, 'UNKNOWN EVENT']);
  });

  it('`events` lists the outage in apcupsd words, oldest first', async () => {
    const { data } = await exchange(nis.port, request('events'));
    const [records] = replies(data);
    const parsed = parseEvents(records as Buffer[]);
    if (!parsed.ok) throw new Error(parsed.error);
    const messages = parsed.value.map((e) => e.message);
    expect(messages[0]).toBe('blackstart 9.9.9 startup succeeded');
    expect(messages).toEqual(
      expect.arrayContaining(['Power failure.', 'Running on UPS batteries.', 'Battery power exhausted.', 'Mains returned. No longer on UPS batteries.', 'Power is back. UPS running on mains.']),
    );
    expect(messages.indexOf('Power failure.')).toBeLessThan(messages.indexOf('Battery power exhausted.'));
    expect(parsed.value.every((e) => e.at !== null)).toBe(true);
  });

  it('answers an unknown command with "Invalid command" and keeps the connection, as apcupsd does', async () => {
    const { data, closed } = await exchange(nis.port, Buffer.concat([request('status\n'), request('STATUS'), request('status')]));
    expect(closed).toBe(false);
    const r = replies(data);
    expect(r).toHaveLength(3);
    expect(r.slice(0, 2).map((recs) => recs.map((x) => x.toString('latin1')))).toEqual([['Invalid command\n\0'], ['Invalid command\n\0']]);
    expect(recordText((r[2] as Buffer[])[0] as Buffer)).toMatch(/^APC {6}: 001,/);
  });

  it('closes at once on an oversized request or the zero-length record, and survives a storm of garbage', async () => {
    expect(await exchange(nis.port, Buffer.from([0x01, 0x01, 0x41]))).toEqual({ data: Buffer.alloc(0), closed: true });
    expect(await exchange(nis.port, Buffer.from([0xff, 0xff]))).toEqual({ data: Buffer.alloc(0), closed: true });
    const afterEnd = await exchange(nis.port, Buffer.concat([request('status'), Buffer.from([0, 0]), request('status')]));
    expect(afterEnd.closed).toBe(true);
    expect(replies(afterEnd.data)).toHaveLength(1);
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from({ length: 4 }, () => exchange(nis.port, Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 600) }, () => Math.floor(rnd() * 256))), 100)),
      );
    }
    const r = await apcaccess(bins.apcaccess, nis.port, ['-p', 'STATUS']);
    expect(r).toMatchObject({ code: 0, out: 'ONLINE \n' });
  });

  it('closes connections beyond max_connections as they come, and serves again once one ends', async () => {
    // Earlier tests' connections may still be closing on the server's side.
    await waitFor('no open connections', () => (nis.connections === 0 ? true : undefined), 5000);
    const held = await Promise.all(Array.from({ length: 4 }, () => openSocket(nis.port)));
    try {
      await waitFor('4 connections held', () => (nis.connections === 4 ? true : undefined), 5000);
      const extra = await openSocket(nis.port);
      await Promise.race([extra.closed, sleep(2000).then(() => Promise.reject(new Error('the fifth connection stayed open')))]);
      expect(nis.connections).toBe(4);
      // apcaccess says "Connection reset by peer" (exit 1), or prints nothing at all (exit 0) when the
      // close overtook its request: either way it gets no status.
      const refused = await apcaccess(bins.apcaccess, nis.port);
      expect(refused.out).toBe('');
      held[0]?.socket.destroy();
      await held[0]?.closed;
      await waitFor('a free slot', async () => ((await apcaccess(bins.apcaccess, nis.port, ['-p', 'STATUS'])).code === 0 ? true : undefined), 5000);
    } finally {
      for (const h of held) h.socket.destroy();
    }
  });

  it('closes a connection that stays silent, or stops half-way through a request, after idle_timeout', async () => {
    await waitFor('no open connections', () => (nis.connections === 0 ? true : undefined), 5000);
    const started = Date.now();
    const silent = await openSocket(nis.port);
    const half = await openSocket(nis.port);
    half.socket.write(Buffer.from([0x00, 0x06, 0x73, 0x74]));
    await Promise.all([silent.closed, half.closed]);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(4000);
  });

  it('the shutdown announcement waits at most slave_wait for a client that polled and went quiet; over when the outage is', async () => {
    const { hub: h, nis: quick } = await startHubAndServer({ slaveWaitMs: 600 });
    try {
      const t0 = Date.now();
      await quick.announceShutdown();
      // Nobody has polled yet: nothing to wait for.
      expect(Date.now() - t0).toBeLessThan(200);
      expect((await apcaccess(bins.apcaccess, quick.port, ['-p', 'STATUS'])).out).toBe('SHUTTING DOWN\n');
      expect((await apcaccess(bins.apcaccess, quick.port, ['-p', 'STATFLAG'])).out).toBe('0x05000208\n');
      const events = parseEvents(replies((await exchange(quick.port, request('events'))).data)[0] as Buffer[]);
      expect(events.ok && events.value.map((e) => e.message)).toContain('Initiating system shutdown!');
      // Mains came back and hosts are being restored: slaves that boot again must find the master up.
      h.setOutage({ ...h.outage, phase: 'restoring' });
      expect(quick.shuttingDown).toBe(false);
      expect((await apcaccess(bins.apcaccess, quick.port, ['-p', 'STATUS'])).out).toBe('ONLINE \n');
      // 127.0.0.1 has polled (apcaccess above) and then goes quiet: the step gives up after slave_wait.
      const t1 = Date.now();
      await quick.announceShutdown();
      expect(Date.now() - t1).toBeGreaterThanOrEqual(550);
      expect(Date.now() - t1).toBeLessThan(2000);
    } finally {
      await quick.close();
    }
  });

  it('a port in use stops the start with REFUSED, naming the address', async () => {
    await expect(startHubAndServer({ port: nis.port })).rejects.toMatchObject({
      code: 'REFUSED',
      message: expect.stringContaining(`127.0.0.1:${nis.port}`),
    });
  });
});

suite('a real apcupsd slave (UPSTYPE net) follows Blackstart', () => {
  let hub: Hub;
  let nis: NisServer;
  let slave: ApcupsdSlave | undefined;

  beforeEach(async () => {
    ({ hub, nis } = await startHubAndServer());
    slave = await startApcupsdSlave(bins, nis.port);
  });
  afterEach(async () => {
    await slave?.close();
    await nis?.close();
  });

  it('on battery, then low battery: the slave runs onbattery, then failing and doshutdown', async () => {
    const slaveView = await apcaccessFields(bins.apcaccess, (slave as ApcupsdSlave).nisPort);
    expect(slaveView?.get('STATUS')).toBe('ONLINE SLAVE');
    expect(slaveView?.get('UPSNAME')).toBe('rack');

    const t0 = Date.now();
    hub.updateUps('rack', ON_BATTERY);
    const [onbattery] = (await waitFor('onbattery and powerout', recorded(slave, 'onbattery', 'powerout'))) as [ApcupsdCall];
    const t1 = Date.now();
    hub.updateUps('rack', LOW);
    const [shutdown] = await waitFor('failing and doshutdown', recorded(slave, 'doshutdown', 'failing'), 20_000);
    const calls = (slave as ApcupsdSlave).calls();
    const events = calls.map((c) => c.event);
    expect(events.slice(0, 2).sort()).toEqual(['onbattery', 'powerout']);
    expect(events).toContain('failing');
    expect(events).not.toContain('remotedown');
    expect(events).not.toContain('mainsback');
    expect(shutdown?.at).toBeGreaterThanOrEqual(onbattery.at);
    // apcupsd waits 5 s after LOWBATT before it acts (its debounce), and polls every 1–2 s.
    expect((shutdown?.at ?? 0) - t1).toBeGreaterThanOrEqual(4500);
    console.log(`slave, on battery at 0 ms and low battery at ${t1 - t0} ms: ${timeline(calls, t0)}`);
    const after = await apcaccessFields(bins.apcaccess, (slave as ApcupsdSlave).nisPort);
    expect(after?.get('STATUS')).toBe('SHUTTING DOWN');
  }, 40_000);

  it('on battery, then mains back before the battery runs low: offbattery and mainsback, no shutdown', async () => {
    const t0 = Date.now();
    hub.updateUps('rack', ON_BATTERY);
    await waitFor('powerout and onbattery', recorded(slave, 'powerout', 'onbattery'));
    hub.updateUps('rack', { ...ONLINE, chargePct: 95 });
    await waitFor('offbattery and mainsback', recorded(slave, 'offbattery', 'mainsback'));
    await sleep(2500);
    const calls = (slave as ApcupsdSlave).calls();
    const events = calls.map((c) => c.event);
    expect(events.slice(0, 2).sort()).toEqual(['onbattery', 'powerout']);
    expect(events.slice(2).sort()).toEqual(['mainsback', 'offbattery']);
    console.log(`slave, on battery at 0 ms, mains back after onbattery: ${timeline(calls, t0)}`);
  }, 30_000);

  it("the master's shutdown step: STATUS SHUTTING DOWN, the slave runs remotedown and doshutdown, the step returns once it has polled", async () => {
    hub.updateUps('rack', ON_BATTERY);
    await waitFor('powerout and onbattery', recorded(slave, 'powerout', 'onbattery'));
    const t0 = Date.now();
    await nis.announceShutdown();
    const returned = Date.now();
    expect(nis.shuttingDown).toBe(true);
    const [done] = await waitFor('remotedown and doshutdown', recorded(slave, 'doshutdown', 'remotedown'));
    const calls = (slave as ApcupsdSlave).calls();
    expect(calls.map((c) => c.event).slice(2).sort()).toEqual(['doshutdown', 'remotedown']);
    // It waited for the slave's poll (every 1–2 s), not for the 10 s limit.
    expect(returned - t0).toBeLessThan(5000);
    expect(done?.at).toBeGreaterThanOrEqual(t0);
    console.log(`slave, master shutdown announced at 0 ms, step returned at ${returned - t0} ms: ${timeline(calls, t0)}`);
    expect((await apcaccess(bins.apcaccess, nis.port, ['-p', 'STATUS'])).out).toBe('SHUTTING DOWN\n');
  }, 30_000);
});

suite('the orchestrator takes apcupsd slaves down before the controller (startBlackstart in-process)', () => {
  let app: Blackstart | undefined;
  let slave: ApcupsdSlave | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'bs-nis-journal-'));
  afterEach(async () => {
    await slave?.close();
    await app?.stop();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('simulated cut → plan → final step: the slave sees SHUTTING DOWN after the hosts are down', async () => {
    const nisPort = await freePort();
    const { config } = parseConfig(`
mqtt: { embedded: { port: ${await freePort()} } }
outage:
  journal: ${join(dir, 'journal.jsonl')}
  trigger: { on_battery_after: 1s }
ups:
  rack:
    simulated:
      interval: 200ms
      timeline: [{ at: 1s, mains: "off" }]
hosts:
  web: { simulated: { shutdown_takes: 1s } }
compat:
  apcupsd: { port: ${nisPort}, slave_wait: 10s }
`);
    app = await startBlackstart(config, { log: silentLogger() });
    let webDown = 0;
    app.hub.on('host', (id, s) => {
      if (id === 'web' && s.phase === 'down') webDown = Date.now();
    });
    slave = await startApcupsdSlave(bins, nisPort);
    const t0 = Date.now();
    const [done] = (await waitFor('remotedown and doshutdown', recorded(slave, 'doshutdown', 'remotedown'), 20_000)) as [ApcupsdCall];
    const calls = slave.calls();
    const events = calls.map((c) => c.event);
    const report = `orchestrated: slave up at 0 ms, web down at ${webDown - t0} ms: ${timeline(calls, t0)}`;
    console.log(report);
    expect([report, events]).toEqual([report, expect.arrayContaining(['powerout', 'onbattery', 'remotedown', 'doshutdown'])]);
    expect([report, events.includes('failing')]).toEqual([report, false]);
    // The final step runs once every host but the controller is down: never before.
    expect(webDown).toBeGreaterThan(0);
    expect(done.at).toBeGreaterThanOrEqual(webDown);
  }, 40_000);
});

suite('blackstart run with compat.apcupsd', () => {
  let run: CliRun | undefined;
  let blocker: Server | undefined;
  const dirs: string[] = [];
  afterEach(async () => {
    await stopRun(run);
    await new Promise<void>((r) => (blocker ? blocker.close(() => r()) : r()));
    blocker = undefined;
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  const yaml = async (nisPort: number): Promise<string> => {
    const dir = mkdtempSync(join(tmpdir(), 'bs-nis-daemon-'));
    dirs.push(dir);
    const file = join(dir, 'blackstart.yaml');
    writeFileSync(
      file,
      `mqtt: { embedded: { port: ${await freePort()} } }
outage: { journal: ${join(dir, 'journal.jsonl')} }
ups:
  rack:
    simulated:
      interval: 200ms
      timeline: [{ at: 4s, mains: "off" }]
compat:
  apcupsd:
    listen: 127.0.0.1
    port: ${nisPort}
`,
    );
    return file;
  };

  it('apcaccess reads the daemon: ONLINE at first, ONBATT after the simulated cut', async () => {
    const nisPort = await freePort();
    run = cli(['run', '-c', await yaml(nisPort)]);
    const first = await waitFor('the daemon to serve NIS', async () => (await apcaccessFields(bins.apcaccess, nisPort)) ?? undefined, 15_000);
    expect(first.get('STATUS')).toBe('ONLINE');
    expect(first.get('UPSNAME')).toBe('rack');
    expect(first.get('BCHARGE')).toBe('100.0 Percent');
    expect(first.get('TIMELEFT')).toBe('30.0 Minutes');
    const onBattery = await waitFor('ONBATT', async () => {
      const f = await apcaccessFields(bins.apcaccess, nisPort);
      return f?.get('STATUS') === 'ONBATT' ? f : undefined;
    });
    expect(onBattery.get('NUMXFERS')).toBe('1');
    expect(run.stdout()).toContain('apcupsd NIS server listening');
  }, 30_000);

  it('a NIS port in use stops the start: exit code 7 (REFUSED), and the log names the address', async () => {
    const nisPort = await freePort();
    blocker = createServer();
    await new Promise<void>((r) => (blocker as Server).listen(nisPort, '127.0.0.1', r));
    run = cli(['run', '-c', await yaml(nisPort)]);
    expect(await run.code).toBe(7);
    await until(() => run?.stdout().includes(`127.0.0.1:${nisPort}`) ?? false, 2000, 'the address in the log', run);
    expect(run.stdout()).toMatch(/REFUSED/);
  }, 30_000);
});
