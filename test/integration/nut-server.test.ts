/**
 * Blackstart's NUT server against NUT's own clients on loopback: upsc and upscmd read and command
 * it, and a real upsmon secondary (whose SHUTDOWNCMD only records) follows it: on FSD it runs its
 * shutdown and drops its login, and the server sees NUMLOGINS reach 0 before the bounded wait ends,
 * set by hand or by the outage plan's final step before the controller goes down.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DestinationStream } from 'pino';
import { startBlackstart, type Blackstart } from '../../src/app';
import { fsdFinalStep } from '../../src/compat/nut/fsd-step';
import { startNutServer } from '../../src/compat/nut/server';
import { parseConfig } from '../../src/config/loader';
import type { Adapter, CommandRequest } from '../../src/core/adapter';
import { BlackstartError } from '../../src/core/errors';
import type { BlackstartEvent } from '../../src/core/events';
import { Hub, type CommandResult } from '../../src/core/hub';
import { createLogger, type Logger } from '../../src/core/logger';
import { until } from '../helpers/cli-run';
import { freePort } from '../helpers/ports';
import { UPSC, UPSCMD, nutClientsMissing, startUpsmon, type Upsmon } from '../helpers/upsmon';

/** Temp folders (journals) made by this file, removed after each test. */
const dirs: string[] = [];
const tempDir = (prefix: string): string => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const PASSWORDS = { BS_NUT_MON: 'mon-pw-5b1e', BS_NUT_BOSS: 'boss-pw-77d0', BS_NUT_ADMIN: 'admin-pw-c3a9' };
const missing = nutClientsMissing();
const itReal = missing ? it.skip : it;
if (missing) console.warn(`SKIPPED nut-server.test (the tests with NUT's own clients): ${missing}`);

function capturingLog(): { log: Logger; text: () => string } {
  const lines: string[] = [];
  const destination: DestinationStream = { write: (s: string) => void lines.push(s) };
  return { log: createLogger({ level: 'debug', pretty: false, destination }), text: () => lines.join('') };
}

const users = `
    users:
      - { username: monuser, password_env: BS_NUT_MON, role: secondary }
      - { username: boss, password_env: BS_NUT_BOSS, role: primary }
      - { username: admin, password_env: BS_NUT_ADMIN, role: admin }`;

/** What the NUT server logs when a logged-in client logs out or its connection closes. */
const LOGOUT_MESSAGES = ['NUT: client logged out', 'NUT: logged-in client disconnected'];
const FSD_SET = 'NUT: forced shutdown (FSD) set';

interface LogRecord {
  msg: string;
  /** When it was logged, epoch ms. */
  time: number;
  [key: string]: unknown;
}

/** The log records with one of these messages, in order: what the server says it saw, and when. */
function logged(r: Running, ...messages: string[]): LogRecord[] {
  return r
    .logs()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as LogRecord)
    .filter((rec) => messages.includes(rec.msg));
}

interface Running {
  app: Blackstart;
  port: number;
  logs: () => string;
  events: BlackstartEvent[];
}

/** Blackstart in this process with `body` (ups, hosts), extra `outage:` lines and extra `compat.nut` lines. */
async function start(body: string, extra: { outage?: string; nut?: string } = {}): Promise<Running> {
  const dir = tempDir('bs-nut-server-');
  const port = await freePort();
  const nutExtra = extra.nut ?? '';
  const yaml = `
mqtt: { embedded: { port: ${await freePort()} } }
outage:
  journal: ${join(dir, 'journal.jsonl')}${extra.outage ?? ''}
${body}
compat:
  nut:
    port: ${port}${users}${nutExtra}
`;
  const { config } = parseConfig(yaml, { env: PASSWORDS });
  const { log, text } = capturingLog();
  const app = await startBlackstart(config, { log });
  const events: BlackstartEvent[] = [];
  app.hub.on('event', (e) => events.push(e));
  return { app, port, logs: text, events };
}

const SIMPLE_UPS = `
ups:
  rack:
    name: Rack UPS
    simulated: { interval: 200ms }`;

/** Runs a NUT client; resolves with its exit code and output (it prints an SSL notice on stderr). */
function run(bin: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Sends `text` on one connection and collects `lines` reply lines (or what came before it closed). */
function converse(port: number, text: string | Buffer, lines: number, timeoutMs = 3000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    const finish = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(buf.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1));
    };
    const timer = setTimeout(finish, timeoutMs);
    s.on('connect', () => s.write(text));
    s.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.split('\n').length - 1 >= lines) finish();
    });
    s.on('close', finish);
    s.on('error', reject);
  });
}

const upscVars = (stdout: string): Record<string, string> =>
  Object.fromEntries(stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));

/** Commands for the UPS `rack`, recorded; `load.off` fails as a refusing UPS would. */
class RecordingUpsCommands implements Adapter<'ups'> {
  readonly kind = 'ups' as const;
  readonly name = 'ups:rack/recorder';
  readonly deviceId = 'rack';
  readonly capabilities = ['test.battery.start', 'load.off', 'fsd'];
  readonly got: CommandRequest[] = [];
  start(): void {}
  stop(): void {}
  async execute(request: CommandRequest): Promise<void> {
    this.got.push(request);
    if (request.action === 'load.off') throw new BlackstartError('REFUSED', 'the UPS said no');
  }
}

function expectNoSecrets(logs: string): void {
  for (const pw of Object.values(PASSWORDS)) expect(logs).not.toContain(pw);
}

describe('NUT server with NUT clients', () => {
  let r: Running | undefined;
  let upsmon: Upsmon | undefined;
  afterEach(async () => {
    await upsmon?.stop();
    upsmon = undefined;
    await r?.app.stop();
    r = undefined;
  });

  itReal('upsc lists the UPS and its variables; -L gives the description; one variable; an unknown UPS', async () => {
    r = await start(SIMPLE_UPS);
    const at = `127.0.0.1:${r.port}`;
    await until(() => r?.app.hub.ups('rack')?.status === 'online', 5000, 'the simulated UPS');
    expect((await run(UPSC, ['-l', at])).stdout).toBe('rack\n');
    expect((await run(UPSC, ['-L', at])).stdout).toBe('rack: Rack UPS\n');
    const all = await run(UPSC, [`rack@${at}`]);
    expect(all.code).toBe(0);
    expect(upscVars(all.stdout)).toEqual({
      'battery.charge': '100',
      'battery.runtime': '1800',
      'battery.voltage': '27.3',
      'device.mfr': 'Blackstart',
      'device.model': 'Rack UPS',
      'device.type': 'ups',
      'driver.name': 'blackstart',
      'driver.version': expect.stringMatching(/^\d+\.\d+\.\d+/),
      'input.voltage': '230',
      'ups.load': '40',
      'ups.mfr': 'Blackstart',
      'ups.model': 'Rack UPS',
      'ups.status': 'OL',
    });
    expect(await run(UPSC, [`rack@${at}`, 'ups.status'])).toMatchObject({ code: 0, stdout: 'OL\n' });
    expect(await run(UPSC, [`RACK@${at}`, 'battery.charge'])).toMatchObject({ code: 0, stdout: '100\n' });
    const unknown = await run(UPSC, [`nosuch@${at}`]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/Unknown UPS/i);
    const noVar = await run(UPSC, [`rack@${at}`, 'ups.serial']);
    expect(noVar.stderr).toMatch(/Variable not supported/i);
  });

  itReal('INSTCMD: refused without a user and for a secondary, run for an admin through the hub, a failed command is INSTCMD-FAILED', async () => {
    r = await start(SIMPLE_UPS);
    const at = `rack@127.0.0.1:${r.port}`;
    const recorder = new RecordingUpsCommands();
    r.app.hub.attach(recorder);
    const results: CommandResult[] = [];
    r.app.hub.on('result', (d, res) => d.id === 'rack' && results.push(res));
    await until(() => r?.app.hub.ups('rack')?.status === 'online', 5000, 'the simulated UPS');

    const list = await run(UPSCMD, ['-l', at]);
    expect(list.stdout).toContain('load.off - Turn off the load immediately');
    expect(list.stdout).toContain('test.battery.start - Start a battery test');
    expect(list.stdout).not.toMatch(/^fsd/m);

    expect(await converse(r.port, 'INSTCMD rack test.battery.start\nUSERNAME admin\nINSTCMD rack test.battery.start\n', 3)).toEqual(['ERR USERNAME-REQUIRED', 'OK', 'ERR PASSWORD-REQUIRED']);
    const secondary = await run(UPSCMD, ['-u', 'monuser', '-p', PASSWORDS.BS_NUT_MON, at, 'test.battery.start']);
    expect(secondary.code).not.toBe(0);
    // upscmd 2.8.0 prints the ERR line it did not expect at that point.
    expect(secondary.stderr).toContain('ERR ACCESS-DENIED');
    const wrongPw = await run(UPSCMD, ['-u', 'admin', '-p', 'not-it', at, 'test.battery.start']);
    expect(wrongPw.stderr).toContain('ERR ACCESS-DENIED');
    expect(recorder.got).toEqual([]);

    const ok = await run(UPSCMD, ['-u', 'admin', '-p', PASSWORDS.BS_NUT_ADMIN, at, 'test.battery.start']);
    expect(ok).toMatchObject({ code: 0 });
    expect(`${ok.stdout}${ok.stderr}`).toMatch(/^OK$/m);
    expect(recorder.got.map((g) => g.action)).toEqual(['test.battery.start']);
    expect(results).toEqual([expect.objectContaining({ action: 'test.battery.start', ok: true })]);

    const refused = await run(UPSCMD, ['-u', 'admin', '-p', PASSWORDS.BS_NUT_ADMIN, at, 'load.off']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('ERR INSTCMD-FAILED');
    expect(results.at(-1)).toMatchObject({ action: 'load.off', ok: false, error: { code: 'REFUSED' } });
    const unknownCmd = await run(UPSCMD, ['-u', 'admin', '-p', PASSWORDS.BS_NUT_ADMIN, at, 'shutdown.stayoff']);
    expect(unknownCmd.stderr).toContain('ERR CMD-NOT-SUPPORTED');
    expect(recorder.got.map((g) => g.action)).toEqual(['test.battery.start', 'load.off']);
    expectNoSecrets(r.logs());
  });

  itReal('bad and oversized requests get the protocol error; the server keeps serving', async () => {
    r = await start(SIMPLE_UPS);
    const port = r.port;
    await until(() => r?.app.hub.ups('rack')?.status === 'online', 5000, 'the simulated UPS');
    const requests = Buffer.concat([
      Buffer.from(`GET VAR rack ${'x'.repeat(5000)}\n`),
      Buffer.from('GET VAR rack ups.status\n'),
      Buffer.from([0x47, 0x45, 0x54, 0x00, 0x01, 0xff, 0x0a]),
      Buffer.from('GET VAR "rack ups.status\n\n   \nBOGUS command\nGET VAR rack nosuch.var\nGET VAR nosuch ups.status\nLIST\nLOGIN rack\nSTARTTLS\n'),
    ]);
    expect(await converse(port, requests, 12)).toEqual([
      'ERR TOO-LONG',
      'VAR rack ups.status "OL"',
      'ERR INVALID-ARGUMENT',
      'ERR INVALID-ARGUMENT',
      'ERR UNKNOWN-COMMAND',
      'ERR UNKNOWN-COMMAND',
      'ERR UNKNOWN-COMMAND',
      'ERR VAR-NOT-SUPPORTED',
      'ERR UNKNOWN-UPS',
      'ERR INVALID-ARGUMENT',
      'ERR USERNAME-REQUIRED',
      'ERR FEATURE-NOT-CONFIGURED',
    ]);
    // A megabyte without a line end, a connection cut mid-line, a flood of requests: none of it stops the server.
    await converse(port, Buffer.alloc(1 << 20, 0x41), 1, 500);
    await converse(port, 'GET VAR rack ups.sta', 1, 200);
    const flood = await converse(port, 'GET VAR rack ups.status\n'.repeat(2000), 2000, 10_000);
    expect(flood).toHaveLength(2000);
    expect(new Set(flood)).toEqual(new Set(['VAR rack ups.status "OL"']));
    expect(await run(UPSC, [`rack@127.0.0.1:${port}`, 'ups.status'])).toMatchObject({ code: 0, stdout: 'OL\n' });
  });

  itReal('a real upsmon secondary: FSD set through the server, it runs its shutdown and logs out within the wait', async () => {
    r = await start(SIMPLE_UPS);
    const nut = r.app.nut;
    if (!nut) throw new Error('no NUT server');
    upsmon = startUpsmon({ system: `rack@127.0.0.1:${r.port}`, username: 'monuser', password: PASSWORDS.BS_NUT_MON, role: 'secondary' });
    await until(() => nut.numLogins('rack') === 1, 10_000, `upsmon to log in\n${upsmon.output()}`);
    expect(upsmon.output()).toContain(`Using power down flag file ${upsmon.dir}/killpower`);
    expect(await run(UPSC, ['-c', `rack@127.0.0.1:${r.port}`])).toMatchObject({ stdout: '127.0.0.1\n' });
    expect(nut.clients('rack')).toEqual([{ ups: 'rack', user: 'monuser', address: '127.0.0.1' }]);

    const fsdAt = Date.now();
    nut.setFsd('rack', 'test');
    expect(await run(UPSC, [`rack@127.0.0.1:${r.port}`, 'ups.status'])).toMatchObject({ stdout: 'FSD OL\n' });
    const waited = await nut.waitForLogouts('rack', 10_000);
    expect(waited.remaining).toEqual([]);
    expect(waited.tookMs).toBeLessThan(10_000);
    expect(await upsmon.exited).toBe(0);
    expect(upsmon.shutdowns()).toHaveLength(1);
    expect(upsmon.powerdownFlag()).toBe('upsmon-shutdown-file');
    expect(upsmon.notifications()).toEqual(expect.arrayContaining([expect.stringMatching(/^FSD rack@127\.0\.0\.1:\d+ /), expect.stringMatching(/^SHUTDOWN /)]));
    const logouts = logged(r, ...LOGOUT_MESSAGES);
    expect(logouts).toEqual([expect.objectContaining({ ups: 'rack', user: 'monuser', address: '127.0.0.1' })]);
    const shutdownAt = Number((upsmon.shutdowns()[0] as string).split(' ')[1]) * 1000;
    console.log(
      `upsmon secondary: FSD set → SHUTDOWNCMD ran after ${Math.round(shutdownAt - fsdAt)} ms, server saw the login end (${logouts[0]?.how}) after ${
        (logouts[0]?.time ?? 0) - fsdAt
      } ms; wait ended after ${waited.tookMs} ms`,
    );
    expect(nut.numLogins('rack')).toBe(0);
    expectNoSecrets(r.logs());
  });

  itReal('an outage: the final step sets FSD after the other hosts, upsmon logs out, then the controller goes down; mains back clears FSD', async () => {
    r = await start(
      `
ups:
  rack:
    name: Rack UPS
    simulated:
      interval: 200ms
      timeline:
        - { at: 1500ms, mains: "off" }
        - { at: 7s, mains: "on" }
hosts:
  nas: { simulated: { shutdown_takes: 300ms, wake_takes: 300ms } }
  ctl:
    simulated: { shutdown_takes: 300ms, wake_takes: 300ms }
    outage: { controller: true }`,
      { outage: '\n  trigger: { on_battery_after: 1s }\n  restore: { mains_stable_for: 1s }', nut: '\n    fsd_wait: 10s' },
    );
    const nut = r.app.nut;
    if (!nut || !r.app.orchestrator) throw new Error('no NUT server or orchestrator');
    const marks: Record<string, number> = {};
    const mark = (what: string): void => void (marks[what] ??= Date.now());
    r.app.hub.on('event', (e) => {
      if (e.type === 'host_shutdown_done' && e.host === 'nas') mark('nas_down');
      if (e.type === 'host_shutdown_started' && e.host === 'ctl') mark('ctl_shutdown');
    });
    r.app.hub.on('outage', (o) => mark(`phase_${o.phase}`));
    upsmon = startUpsmon({ system: `rack@127.0.0.1:${r.port}`, username: 'monuser', password: PASSWORDS.BS_NUT_MON, role: 'secondary' });
    await until(() => nut.numLogins('rack') === 1, 10_000, 'upsmon to log in');
    const t0 = Date.now();

    await until(() => marks.ctl_shutdown !== undefined, 15_000, `the controller's shutdown\n${r.logs()}`);
    // When the server set FSD and saw the first login end, from its own log records.
    marks.fsd = logged(r, FSD_SET)[0]?.time ?? NaN;
    marks.logout = logged(r, ...LOGOUT_MESSAGES)[0]?.time ?? NaN;
    expect(await upsmon.exited).toBe(0);
    expect(upsmon.shutdowns()).toHaveLength(1);
    expect(marks.nas_down).toBeLessThanOrEqual(marks.fsd as number);
    expect(marks.fsd).toBeLessThanOrEqual(marks.logout as number);
    expect(marks.logout).toBeLessThanOrEqual(marks.ctl_shutdown as number);
    expect((marks.ctl_shutdown as number) - (marks.fsd as number)).toBeLessThan(10_000);
    expect(r.logs()).toContain('NUT: every client logged out after FSD');
    expect(r.logs()).not.toContain('still_logged_in');
    // Until the outage is over, a secondary that boots again is told to go straight back down.
    expect(nut.isFsd('rack')).toBe(true);
    await until(() => marks.phase_restoring !== undefined, 15_000, 'the restore');
    expect(nut.isFsd('rack')).toBe(false);
    expect(await run(UPSC, [`rack@127.0.0.1:${r.port}`, 'ups.status'])).toMatchObject({ stdout: expect.stringMatching(/^OL/) });
    const rel = (k: string): string => `${k} +${(marks[k] ?? NaN) - t0} ms`;
    console.log(`outage timeline: ${['phase_shutting_down', 'nas_down', 'fsd', 'logout', 'ctl_shutdown', 'phase_down', 'phase_restoring'].map(rel).join(', ')}`);
    expectNoSecrets(r.logs());
  });
});

describe('NUT server on its own', () => {
  const servers: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.stop();
  });

  async function serve(extra: string, opts: { idleTimeoutMs?: number } = {}) {
    const port = await freePort();
    const { config } = parseConfig(`ups:\n  rack: { simulated: {} }\ncompat:\n  nut:\n    port: ${port}${users}${extra}\n`, { env: PASSWORDS });
    const hub = new Hub();
    hub.addUps('rack');
    hub.updateUps('rack', { status: 'online', flags: ['OL'], chargePct: 100, source: 'test' });
    const { log, text } = capturingLog();
    const server = await startNutServer({ hub, config: config.compat.nut as NonNullable<typeof config.compat.nut>, log, version: '0.0.0-test', ...opts });
    servers.push(server);
    return { hub, server, port, log, logs: text };
  }

  it('the FSD step gives up after fsd_wait and names who stayed logged in', async () => {
    const { server, port, log, logs } = await serve('');
    const stayer = connect(port, '127.0.0.1');
    stayer.write(`USERNAME monuser\nPASSWORD ${PASSWORDS.BS_NUT_MON}\nLOGIN rack\n`);
    await until(() => server.numLogins('rack') === 1, 3000, 'the login');
    const started = Date.now();
    await fsdFinalStep(server, 'rack', 600, log).run();
    const took = Date.now() - started;
    stayer.destroy();
    expect(took).toBeGreaterThanOrEqual(550);
    expect(took).toBeLessThan(3000);
    expect(logs()).toMatch(/"still_logged_in":\["monuser@127\.0\.0\.1"\].*fsd_wait ran out/);
    expect(server.isFsd('rack')).toBe(true);
    expectNoSecrets(logs());
  });

  it('max_clients: one more is refused with ERR ACCESS-DENIED; an idle client is dropped and frees its place', async () => {
    const { port } = await serve('\n    max_clients: 2', { idleTimeoutMs: 400 });
    const a = connect(port, '127.0.0.1');
    const b = connect(port, '127.0.0.1');
    await Promise.all([a, b].map((s) => new Promise((res) => s.once('connect', res))));
    await new Promise((res) => setTimeout(res, 50));
    expect(await converse(port, 'VER\n', 1)).toEqual(['ERR ACCESS-DENIED']);
    const closed = await Promise.all([a, b].map((s) => new Promise<number>((res) => s.once('close', () => res(Date.now())))));
    expect(closed).toHaveLength(2);
    expect(await converse(port, 'NETVER\n', 1)).toEqual(['1.3']);
  });

  it('a port already in use fails with REFUSED naming the address', async () => {
    const port = await freePort();
    const blocker: Server = createServer();
    await new Promise<void>((res) => blocker.listen(port, '127.0.0.1', res));
    try {
      const { config } = parseConfig(`ups:\n  rack: { simulated: {} }\ncompat:\n  nut: { port: ${port} }\n`);
      const hub = new Hub();
      hub.addUps('rack');
      await expect(startNutServer({ hub, config: config.compat.nut as NonNullable<typeof config.compat.nut>, log: capturingLog().log, version: '0' })).rejects.toMatchObject({
        code: 'REFUSED',
        message: expect.stringMatching(new RegExp(`NUT server cannot listen on 127\\.0\\.0\\.1:${port}: the address is in use`)),
      });
      const dir = tempDir('bs-nut-inuse-');
      const full = parseConfig(`mqtt: { embedded: { port: ${await freePort()} } }\noutage: { journal: ${join(dir, 'j.jsonl')} }\nups:\n  rack: { simulated: {} }\ncompat:\n  nut: { port: ${port} }\n`).config;
      await expect(startBlackstart(full, { log: capturingLog().log })).rejects.toMatchObject({ code: 'REFUSED', message: expect.stringContaining(`127.0.0.1:${port}`) });
    } finally {
      await new Promise<void>((res) => blocker.close(() => res()));
    }
  });

  it('FSD set by a client ends when mains is back; a stale UPS still shows the latch', async () => {
    const { hub, server, port } = await serve('');
    hub.updateUps('rack', { status: 'on_battery', flags: ['OB'] });
    expect(await converse(port, `USERNAME boss\nPASSWORD ${PASSWORDS.BS_NUT_BOSS}\nFSD rack\nGET VAR rack ups.status\n`, 4)).toEqual(['OK', 'OK', 'OK FSD-SET', 'VAR rack ups.status "FSD OB"']);
    hub.updateUps('rack', { status: 'comm_lost' });
    expect(await converse(port, 'GET VAR rack ups.status\nGET VAR rack battery.charge\n', 2)).toEqual(['VAR rack ups.status "FSD"', 'ERR DATA-STALE']);
    hub.updateUps('rack', { status: 'on_battery', flags: ['OB'] });
    expect(server.isFsd('rack')).toBe(true);
    hub.updateUps('rack', { status: 'online', flags: ['OL'] });
    expect(server.isFsd('rack')).toBe(false);
    expect(await converse(port, 'GET VAR rack ups.status\n', 1)).toEqual(['VAR rack ups.status "OL"']);
  });
});
