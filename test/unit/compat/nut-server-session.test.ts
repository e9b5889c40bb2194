/**
 * The NUT server's sessions replayed against upsd 2.8.0: every request of the captured sessions in
 * test/fixtures/nut-server/upsd-2.8.0-sessions.txt must get upsd's answer, byte for byte. Then the
 * places where Blackstart answers on purpose differently (see that folder's README).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../../src/core/logger';
import type { Secret } from '../../../src/core/secret';
import type { NutErrorCode, NutVars } from '../../../src/compat/nut/codec';
import { NutSession, type NutBackend, type NutUser } from '../../../src/compat/nut/session';
import { prng } from '../../helpers/prng';
import { repoRoot } from '../../helpers/repo';

interface Exchange {
  request: string;
  answer: string;
}

/** `# session: <title>` blocks of `> <request>` lines, each followed by upsd's answer lines. */
function readSessions(text: string): { title: string; exchanges: Exchange[] }[] {
  const out: { title: string; exchanges: Exchange[] }[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('# session: ')) out.push({ title: line.slice(11), exchanges: [] });
    else if (line.startsWith('> ')) out[out.length - 1]?.exchanges.push({ request: line.slice(2), answer: '' });
    else if (line !== '') {
      const ex = out[out.length - 1]?.exchanges.at(-1);
      if (ex) ex.answer += `${line}\n`;
    }
  }
  return out;
}

const USERS: Record<string, { user: NutUser; password: string }> = {
  secuser: { user: { username: 'secuser', role: 'secondary' }, password: 'secpw' },
  monuser: { user: { username: 'monuser', role: 'primary' }, password: 'monpw' },
  admin: { user: { username: 'admin', role: 'admin' }, password: 'adminpw' },
  limited: { user: { username: 'limited', role: 'admin', instcmds: ['test.battery.start'] }, password: 'limpw' },
};

/** The fixture's upsd: one UPS `labups` ("Lab UPS", status OL, offers load.off). */
class FakeBackend implements NutBackend {
  readonly version = '9.9.9';
  readonly sessions = new Set<NutSession>();
  readonly fsd = new Set<string>();
  readonly instcmds: string[] = [];
  stale = false;
  commandResult: NutErrorCode | undefined;

  list() {
    return [{ id: 'labups', description: 'Lab UPS' }];
  }
  resolve(name: string) {
    return name.toLowerCase() === 'labups' ? 'labups' : undefined;
  }
  variables(id: string): NutVars {
    const status = `${this.fsd.has(id) ? 'FSD ' : ''}OL`;
    if (this.stale) return { stale: true, vars: new Map(this.fsd.has(id) ? [['ups.status', 'FSD']] : []) };
    return { stale: false, vars: new Map([['battery.charge', '100'], ['ups.load', '23'], ['ups.status', status]]) };
  }
  offered = ['load.off'];

  commands() {
    return this.offered;
  }
  numLogins(id: string) {
    return [...this.sessions].filter((s) => s.loginUps === id).length;
  }
  clients(id: string) {
    return [...this.sessions].filter((s) => s.loginUps === id).map((s) => s.address);
  }
  authenticate(username: string, password: Secret) {
    const u = USERS[username];
    return u && u.password === password.reveal() ? u.user : undefined;
  }
  login(session: NutSession) {
    this.sessions.add(session);
  }
  setFsd(id: string) {
    this.fsd.add(id);
  }
  async instcmd(id: string, command: string, param: string | undefined) {
    this.instcmds.push([id, command, param].filter((x) => x !== undefined).join(' '));
    return this.commandResult;
  }
}

/** Sends the lines and collects the answers; a LOGOUT ends the session as the server would. */
async function talk(backend: FakeBackend, lines: string[]): Promise<string[]> {
  const session = new NutSession('127.0.0.1', backend, silentLogger());
  const answers: string[] = [];
  for (const l of lines) {
    const a = await session.handle(l);
    answers.push(a.text);
    if (a.close) {
      backend.sessions.delete(session);
      break;
    }
  }
  return answers;
}

const sessions = readSessions(readFileSync(join(repoRoot(), 'test/fixtures/nut-server/upsd-2.8.0-sessions.txt'), 'utf8'));

describe('answers as upsd 2.8.0 gives them', () => {
  it('the fixture holds the sessions', () => {
    expect(sessions.map((s) => s.title)).toHaveLength(6);
    expect(sessions.reduce((n, s) => n + s.exchanges.length, 0)).toBeGreaterThan(90);
  });

  it.each(sessions.map((s) => [s.title, s] as const))('%s', async (_title, s) => {
    const backend = new FakeBackend();
    const answers = await talk(
      backend,
      s.exchanges.map((e) => e.request),
    );
    expect(answers.map((a, i) => `> ${s.exchanges[i]?.request}\n${a}`)).toEqual(s.exchanges.map((e) => `> ${e.request}\n${e.answer}`));
  });
});

describe('where Blackstart answers differently on purpose', () => {
  const ask = async (lines: string[], backend = new FakeBackend()): Promise<string[]> => talk(backend, lines);

  it('a request upsd would wait on (open quote, trailing backslash) gets ERR INVALID-ARGUMENT at once', async () => {
    expect(await ask(['GET VAR labups "ups.status', 'GET VAR labups ups.status\\', 'GET VAR lab"ups ups.status'])).toEqual(Array(3).fill('ERR INVALID-ARGUMENT\n'));
  });

  it('control characters and non-ASCII are refused, not silently dropped', async () => {
    expect(await ask(['GET VAR labups ups.\x01status', 'GET VAR lab\u00e9ups ups.status'])).toEqual(Array(2).fill('ERR INVALID-ARGUMENT\n'));
  });

  it('VER names Blackstart; server.* variables answer for any UPS name', async () => {
    expect(await ask(['VER', 'GET VAR anything server.version', 'GET VAR x server.info', 'GET VAR x server.nosuch'])).toEqual([
      'Network UPS Tools upsd-compatible Blackstart 9.9.9\n',
      'VAR anything server.version "9.9.9"\n',
      'VAR x server.info "Blackstart 9.9.9 (NUT network protocol 1.3)"\n',
      'ERR VAR-NOT-SUPPORTED\n',
    ]);
  });

  it('nothing is writable: LIST RW is empty, SET VAR is READONLY, GET TYPE has no RW', async () => {
    expect(await ask(['LIST RW labups', 'USERNAME admin', 'PASSWORD adminpw', 'SET VAR labups ups.load 5', 'SET VAR labups nosuch 5', 'GET TYPE labups ups.load', 'GET TYPE labups ups.status'])).toEqual([
      'BEGIN LIST RW labups\nEND LIST RW labups\n',
      'OK\n',
      'OK\n',
      'ERR READONLY\n',
      'ERR VAR-NOT-SUPPORTED\n',
      'TYPE labups ups.load NUMBER\n',
      'TYPE labups ups.status STRING:32\n',
    ]);
  });

  it('no command tracking', async () => {
    expect(await ask(['GET TRACKING', 'GET TRACKING 1234', 'USERNAME a', 'PASSWORD b', 'SET TRACKING ON', 'SET TRACKING OFF', 'SET TRACKING MAYBE'])).toEqual([
      'OFF\n',
      'ERR FEATURE-NOT-CONFIGURED\n',
      'OK\n',
      'OK\n',
      'ERR FEATURE-NOT-SUPPORTED\n',
      'OK\n',
      'ERR INVALID-ARGUMENT\n',
    ]);
  });

  it('roles include each other: an admin may LOGIN and FSD, a primary may not INSTCMD', async () => {
    const backend = new FakeBackend();
    expect(await ask(['USERNAME admin', 'PASSWORD adminpw', 'LOGIN labups', 'GET NUMLOGINS labups', 'FSD labups'], backend)).toEqual(['OK\n', 'OK\n', 'OK\n', 'NUMLOGINS labups 1\n', 'OK FSD-SET\n']);
    expect(backend.fsd.has('labups')).toBe(true);
    expect(await ask(['USERNAME monuser', 'PASSWORD monpw', 'INSTCMD labups load.off'], backend)).toEqual(['OK\n', 'OK\n', 'ERR ACCESS-DENIED\n']);
    expect(backend.instcmds).toEqual([]);
  });

  it('INSTCMD: upper case names are the same command; a parameter is passed on; a failed run is INSTCMD-FAILED', async () => {
    const backend = new FakeBackend();
    backend.offered = ['load.off', 'test.battery.start'];
    expect(await ask(['USERNAME admin', 'PASSWORD adminpw', 'INSTCMD LABUPS LOAD.OFF', 'INSTCMD labups test.battery.start 60'], backend)).toEqual(['OK\n', 'OK\n', 'OK\n', 'OK\n']);
    expect(backend.instcmds).toEqual(['labups load.off', 'labups test.battery.start 60']);
    backend.commandResult = 'INSTCMD-FAILED';
    expect(await ask(['USERNAME admin', 'PASSWORD adminpw', 'INSTCMD labups load.off'], backend)).toEqual(['OK\n', 'OK\n', 'ERR INSTCMD-FAILED\n']);
  });

  it('an admin limited by instcmds runs only those', async () => {
    const backend = new FakeBackend();
    backend.offered = ['load.off', 'test.battery.start'];
    expect(await ask(['USERNAME limited', 'PASSWORD limpw', 'INSTCMD labups load.off', 'INSTCMD labups test.battery.start'], backend)).toEqual(['OK\n', 'OK\n', 'ERR ACCESS-DENIED\n', 'OK\n']);
    expect(backend.instcmds).toEqual(['labups test.battery.start']);
  });

  it('while contact is lost: DATA-STALE, except a latched FSD status', async () => {
    const backend = new FakeBackend();
    backend.stale = true;
    const lines = ['GET VAR labups ups.status', 'GET VAR labups battery.charge', 'LIST VAR labups', 'GET NUMLOGINS labups', 'LIST CMD labups', 'GET UPSDESC labups', 'LIST CLIENT labups'];
    expect(await ask(lines, backend)).toEqual([
      'ERR DATA-STALE\n',
      'ERR DATA-STALE\n',
      'ERR DATA-STALE\n',
      'ERR DATA-STALE\n',
      'ERR DATA-STALE\n',
      'UPSDESC labups "Lab UPS"\n',
      'BEGIN LIST CLIENT labups\nEND LIST CLIENT labups\n',
    ]);
    backend.fsd.add('labups');
    expect(await ask(lines.slice(0, 3), backend)).toEqual([
      'VAR labups ups.status "FSD"\n',
      'ERR DATA-STALE\n',
      'BEGIN LIST VAR labups\nVAR labups ups.status "FSD"\nEND LIST VAR labups\n',
    ]);
    expect(await ask(['USERNAME admin', 'PASSWORD adminpw', 'INSTCMD labups load.off'], backend)).toEqual(['OK\n', 'OK\n', 'ERR DATA-STALE\n']);
  });

  it('names are matched case-insensitively and echoed as the client wrote them', async () => {
    expect(await ask(['GET VAR LabUPS UPS.STATUS', 'LIST CMD LABUPS'])).toEqual(['VAR LabUPS UPS.STATUS "OL"\n', 'BEGIN LIST CMD LABUPS\nCMD LABUPS load.off\nEND LIST CMD LABUPS\n']);
  });

  it('lines after LOGOUT are not answered', async () => {
    expect(await ask(['LOGOUT', 'VER'])).toEqual(['OK Goodbye\n']);
  });
});

describe('any line', () => {
  it('gets one answer ending in a line break, never an exception', async () => {
    const rand = prng(3493);
    const words = ['GET', 'LIST', 'VAR', 'labups', 'ups.status', 'USERNAME', 'PASSWORD', 'LOGIN', 'FSD', 'INSTCMD', 'load.off', 'SET', 'TYPE', '"', '\\', 'UPS', 'CLIENT', 'admin', 'adminpw', 'x'];
    const backend = new FakeBackend();
    for (let i = 0; i < 3000; i++) {
      const session = new NutSession('127.0.0.1', backend, silentLogger());
      const n = Math.floor(rand() * 7);
      const line = Array.from({ length: n }, () => (rand() < 0.1 ? String.fromCharCode(Math.floor(rand() * 256)) : words[Math.floor(rand() * words.length)])).join(rand() < 0.5 ? ' ' : '');
      const a = await session.handle(line);
      expect(a.text).toMatch(/\n$/);
      expect(a.text.length).toBeGreaterThan(1);
    }
  });
});
