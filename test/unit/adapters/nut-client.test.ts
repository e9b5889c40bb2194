/**
 * NutClient and the NUT source over an in-memory stream: a scripted "server" answers each
 * command line, so ordering, timeouts (FakeClock), partial chunks and closes are exact.
 */
import { Duplex } from 'node:stream';
import { FakeClock } from '../../../src/core/clock';
import { BlackstartError } from '../../../src/core/errors';
import { silentLogger } from '../../../src/core/logger';
import { Secret } from '../../../src/core/secret';
import { NutClient, createNutSource, listUps, nutSchema, type NutTransport } from '../../../src/adapters/ups/nut';
import { rejection } from '../../helpers/rejection';

/** The server side of an in-memory connection: sees each command line, writes raw bytes back. */
class FakeSocket extends Duplex {
  readonly received: string[] = [];
  private buf = '';
  onLine: (line: string, sock: FakeSocket) => void = () => undefined;

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.buf += chunk.toString();
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      this.received.push(line);
      this.onLine(line, this);
    }
    cb();
  }

  override _read(): void {}

  send(text: string): void {
    this.push(Buffer.from(text));
  }

  /** The server hangs up. */
  hangUp(): void {
    this.push(null);
    this.destroy();
  }
}

type Script = Record<string, string | ((sock: FakeSocket) => void)>;

function server(script: Script): { sock: FakeSocket; transport: NutTransport; tls: { calls: number; ca?: unknown; secure?: FakeSocket } } {
  const sock = new FakeSocket();
  const tls: { calls: number; ca?: unknown; secure?: FakeSocket } = { calls: 0 };
  const answer = (line: string, s: FakeSocket): void => {
    const a = script[line];
    if (a === undefined) s.send('ERR UNKNOWN-COMMAND\n');
    else if (typeof a === 'string') s.send(a);
    else a(s);
  };
  sock.onLine = answer;
  const transport: NutTransport = {
    connect: () => Promise.resolve(sock),
    startTls: (_plain, opts) => {
      tls.calls++;
      tls.ca = opts.ca;
      const secure = new FakeSocket();
      secure.onLine = answer;
      tls.secure = secure;
      return Promise.resolve(secure);
    },
  };
  return { sock, transport, tls };
}

const LIST_VAR = ['BEGIN LIST VAR ups', 'VAR ups ups.status "OB LB"', 'VAR ups battery.charge "12"', 'VAR ups battery.runtime "300"', 'VAR ups ups.load "041.5"', 'END LIST VAR ups', ''].join('\n');

const client = (transport: NutTransport, clock = new FakeClock(), timeoutMs = 1000) =>
  new NutClient({ host: '127.0.0.1', port: 3493, timeoutMs, clock, transport, label: 'nut://127.0.0.1:3493/ups' });

describe('NutClient', () => {
  it('runs a primary session; falls back to MASTER; reads a list sent one byte at a time', async () => {
    const { sock, transport } = server({
      'USERNAME mon': 'OK\n',
      'PASSWORD "p w\\"d"': 'OK\n',
      'LOGIN ups': 'OK\n',
      'MASTER ups': 'OK MASTER-GRANTED\n',
      'LIST VAR ups': (s) => {
        for (const ch of LIST_VAR) s.send(ch);
      },
      'GET NUMLOGINS ups': 'NUMLOGINS ups 2\n',
      'INSTCMD ups load.off.delay 30': 'OK TRACKING 1f2e\n',
      LOGOUT: 'OK Goodbye\n',
    });
    const c = client(transport);
    await c.connect();
    await c.authenticate('mon', 'p w"d');
    await c.login('ups');
    await c.primary('ups');
    const vars = await c.listVar('ups');
    expect(vars.get('ups.load')).toBe('041.5');
    expect(await c.numLogins('ups')).toBe(2);
    await c.instcmd('ups', 'load.off.delay', '30');
    await c.logout();
    expect(c.isOpen).toBe(false);
    expect(sock.received).toEqual([
      'USERNAME mon',
      'PASSWORD "p w\\"d"',
      'LOGIN ups',
      'PRIMARY ups',
      'MASTER ups',
      'LIST VAR ups',
      'GET NUMLOGINS ups',
      'INSTCMD ups load.off.delay 30',
      'LOGOUT',
    ]);
  });

  it('sends one request at a time, in order, even when asked all at once', async () => {
    const order: string[] = [];
    const { sock, transport } = server({});
    sock.onLine = (line, s) => {
      order.push(`got ${line}`);
      // Answer later: the client must not send the next line before this answer.
      setImmediate(() => {
        order.push(`answer ${line}`);
        s.send(line === 'GET NUMLOGINS a' ? 'NUMLOGINS a 1\n' : line === 'GET NUMLOGINS b' ? 'NUMLOGINS b 2\n' : 'ERR UNKNOWN-UPS\n');
      });
    };
    const c = client(transport);
    await c.connect();
    const [a, b, x] = await Promise.allSettled([c.numLogins('a'), c.numLogins('b'), c.numLogins('x')]);
    expect(a).toEqual({ status: 'fulfilled', value: 1 });
    expect(b).toEqual({ status: 'fulfilled', value: 2 });
    expect(x.status === 'rejected' && (x.reason as BlackstartError).code).toBe('NOT_FOUND');
    expect(order).toEqual(['got GET NUMLOGINS a', 'answer GET NUMLOGINS a', 'got GET NUMLOGINS b', 'answer GET NUMLOGINS b', 'got GET NUMLOGINS x', 'answer GET NUMLOGINS x']);
    c.close();
  });

  it('times out a request with no answer, closes, and refuses the ones queued behind it', async () => {
    const clock = new FakeClock(0);
    const { sock, transport } = server({ 'LIST VAR ups': () => undefined });
    const c = client(transport, clock, 1500);
    await c.connect();
    const first = rejection(c.listVar('ups'));
    const second = rejection(c.listUps());
    await clock.advance(1499);
    expect(c.isOpen).toBe(true);
    await clock.advance(1);
    const e1 = await first;
    expect(e1.code).toBe('TIMEOUT');
    expect(e1.message).toBe('nut://127.0.0.1:3493/ups: no answer to LIST VAR ups within 1500 ms');
    const e2 = await second;
    expect(e2.code).toBe('UNREACHABLE');
    expect(e2.message).toContain('not connected');
    expect(sock.destroyed).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('server closing mid-list: UNREACHABLE for the pending request', async () => {
    const { transport } = server({
      'LIST VAR ups': (s) => {
        s.send('BEGIN LIST VAR ups\nVAR ups ups.status "OL"\n');
        setImmediate(() => s.hangUp());
      },
    });
    const c = client(transport);
    await c.connect();
    const err = await rejection(c.listVar('ups'));
    expect(err.code).toBe('UNREACHABLE');
    expect(err.message).toBe('nut://127.0.0.1:3493/ups: connection closed by the server (waiting for the answer to LIST VAR ups)');
    expect(c.isOpen).toBe(false);
    expect((await rejection(c.listUps())).code).toBe('UNREACHABLE');
  });

  it.each([
    ['ERR DATA-STALE\n', 'UNREACHABLE', 'ERR DATA-STALE on GET VAR ups ups.status: the NUT driver lost the UPS (its data is stale)'],
    ['ERR DRIVER-NOT-CONNECTED\n', 'UNREACHABLE', 'the NUT driver lost the UPS'],
    ['ERR UNKNOWN-UPS\n', 'NOT_FOUND', 'ERR UNKNOWN-UPS on GET VAR ups ups.status'],
    ['ERR VAR-NOT-SUPPORTED\n', 'UNSUPPORTED', 'ERR VAR-NOT-SUPPORTED'],
    ['ERR ACCESS-DENIED\n', 'AUTH', 'ERR ACCESS-DENIED'],
    ['VAR ups other.var "1"\n', 'PROTOCOL', 'bad answer to GET VAR ups ups.status: expected VAR ups ups.status'],
  ])('answer %j → %s', async (answer, code, text) => {
    const { transport } = server({ 'GET VAR ups ups.status': answer });
    const c = client(transport);
    await c.connect();
    const err = await rejection(c.getVar('ups', 'ups.status'));
    expect(err.code).toBe(code);
    expect(err.message).toContain(text);
    // An ERR leaves the connection in step; only garbage closes it.
    expect(c.isOpen).toBe(true);
    c.close();
  });

  it('a wrong password is AUTH and the message never holds it', async () => {
    const { transport } = server({ 'USERNAME u': 'OK\n', 'PASSWORD hunter2-secret': 'ERR INVALID-PASSWORD\n' });
    const c = client(transport);
    await c.connect();
    const err = await rejection(c.authenticate('u', 'hunter2-secret'));
    expect(err.code).toBe('AUTH');
    expect(err.message).toBe('nut://127.0.0.1:3493/ups: ERR INVALID-PASSWORD on PASSWORD');
    c.close();
  });

  it.each([
    ['an unterminated quote', 'VAR ups ups.status "OL\n', /unterminated quoted string/],
    ['a line over 4 KiB', `VAR ups ups.status "${'x'.repeat(5000)}"\n`, /line longer than 4096 bytes/],
    ['END outside a list', 'END LIST VAR ups\n', /outside a list/],
  ])('garbage (%s) is PROTOCOL and closes the connection', async (_what, answer, why) => {
    const { sock, transport } = server({ 'GET VAR ups ups.status': answer });
    const c = client(transport);
    await c.connect();
    const err = await rejection(c.getVar('ups', 'ups.status'));
    expect(err.code).toBe('PROTOCOL');
    expect(err.message).toMatch(why);
    expect(c.isOpen).toBe(false);
    expect(sock.destroyed).toBe(true);
  });

  it('a line nobody asked for closes the connection', async () => {
    const { sock, transport } = server({});
    const c = client(transport);
    await c.connect();
    sock.send('OK\n');
    await new Promise((r) => setImmediate(r));
    expect(c.isOpen).toBe(false);
    expect((await rejection(c.listUps())).message).toContain('sent "OK" unasked');
  });

  it('connect timeout aborts the attempt; refused connect is UNREACHABLE', async () => {
    const clock = new FakeClock(0);
    let aborted = false;
    const hanging: NutTransport = {
      connect: (_h, _p, signal) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(new Error('aborted'));
          });
        }),
      startTls: () => Promise.reject(new Error('unused')),
    };
    const c = client(hanging, clock, 800);
    const p = rejection(c.connect());
    await clock.advance(800);
    const err = await p;
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toBe('nut://127.0.0.1:3493/ups: connecting took more than 800 ms');
    expect(aborted).toBe(true);

    const refused: NutTransport = {
      connect: () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3493'), { code: 'ECONNREFUSED' })),
      startTls: () => Promise.reject(new Error('unused')),
    };
    const e2 = await rejection(client(refused).connect());
    expect(e2.code).toBe('UNREACHABLE');
    expect(e2.message).toBe('nut://127.0.0.1:3493/ups: cannot connect: connect ECONNREFUSED 127.0.0.1:3493');
  });

  it('STARTTLS: upgrades on OK STARTTLS and talks over the new stream', async () => {
    const { sock, transport, tls } = server({ STARTTLS: 'OK STARTTLS\n', 'LIST UPS': 'BEGIN LIST UPS\nUPS a "A"\nEND LIST UPS\n' });
    const c = client(transport);
    await c.connect();
    expect(await c.startTls('required', 'PEM')).toBe(true);
    expect(tls).toMatchObject({ calls: 1, ca: 'PEM' });
    expect(c.isEncrypted).toBe(true);
    expect(await c.listUps()).toEqual([{ name: 'a', description: 'A' }]);
    expect(sock.received).toEqual(['STARTTLS']);
    expect(tls.secure?.received).toEqual(['LIST UPS']);
    c.close();
  });

  it('STARTTLS: auto goes on in plain text without TLS on the server; required refuses; off never asks', async () => {
    for (const code of ['FEATURE-NOT-CONFIGURED', 'FEATURE-NOT-SUPPORTED']) {
      const { sock, transport, tls } = server({ STARTTLS: `ERR ${code}\n`, 'LIST UPS': 'BEGIN LIST UPS\nEND LIST UPS\n' });
      const c = client(transport);
      await c.connect();
      expect(await c.startTls('auto')).toBe(false);
      expect(await c.listUps()).toEqual([]);
      expect(tls.calls).toBe(0);
      expect(sock.received).toEqual(['STARTTLS', 'LIST UPS']);
      c.close();

      const r = server({ STARTTLS: `ERR ${code}\n` });
      const c2 = client(r.transport);
      await c2.connect();
      const err = await rejection(c2.startTls('required'));
      expect(err.code).toBe('REFUSED');
      expect(err.message).toContain(`ERR ${code} on STARTTLS: tls is "required" but this upsd offers no TLS`);
      c2.close();
    }
    const { sock, transport } = server({});
    const c = client(transport);
    await c.connect();
    expect(await c.startTls('off')).toBe(false);
    expect(sock.received).toEqual([]);
    c.close();
  });

  it('a failed TLS handshake closes the client with a clear error', async () => {
    const { transport } = server({ STARTTLS: 'OK STARTTLS\n' });
    transport.startTls = () => Promise.reject(new Error('self-signed certificate'));
    const c = client(transport);
    await c.connect();
    const err = await rejection(c.startTls('auto', 'PEM'));
    expect(err.code).toBe('UNREACHABLE');
    expect(err.message).toBe('nut://127.0.0.1:3493/ups: TLS handshake failed: self-signed certificate');
    expect(c.isOpen).toBe(false);
  });
});

describe('NUT source over the in-memory stream', () => {
  const deps = { clock: new FakeClock(), log: silentLogger() };
  const cfg = (extra: Record<string, unknown> = {}) => {
    const c = nutSchema.parse({ ups: 'ups', tls: 'off', username: 'mon', password: 'pw-3141', ...extra });
    c.password?.resolve(new Secret('pw-3141', 'test'));
    return c;
  };

  it('logs in by role, reads, and maps the reading', async () => {
    const { sock, transport } = server({ 'USERNAME mon': 'OK\n', 'PASSWORD pw-3141': 'OK\n', 'LOGIN ups': 'OK\n', 'PRIMARY ups': 'OK PRIMARY-GRANTED\n', 'LIST VAR ups': LIST_VAR, LOGOUT: 'OK Goodbye\n' });
    const s = createNutSource(cfg({ role: 'primary' }), deps, { transport });
    expect(s.label).toBe('nut://127.0.0.1:3493/ups');
    expect(await s.read()).toEqual({ status: 'low_battery', flags: ['OB', 'LB'], chargePct: 12, runtimeS: 300, loadPct: 41.5, inputV: null, batteryV: null });
    await s.read();
    await s.close();
    expect(sock.received).toEqual(['USERNAME mon', 'PASSWORD pw-3141', 'LOGIN ups', 'PRIMARY ups', 'LIST VAR ups', 'LIST VAR ups', 'LOGOUT']);
  });

  it('WAIT is "no status yet" (PROTOCOL)', async () => {
    const { transport } = server({ 'USERNAME mon': 'OK\n', 'PASSWORD pw-3141': 'OK\n', 'LIST VAR ups': 'BEGIN LIST VAR ups\nVAR ups ups.status "WAIT"\nEND LIST VAR ups\n' });
    const s = createNutSource(cfg(), deps, { transport });
    const err = await rejection(s.read());
    expect(err.code).toBe('PROTOCOL');
    expect(err.message).toBe('nut://127.0.0.1:3493/ups: no status yet (ups.status is "WAIT")');
    await s.close();
  });

  it('run: fsd sends FSD; an instant command the UPS lacks is UNSUPPORTED; one it has is sent with its parameter', async () => {
    const { sock, transport } = server({
      'USERNAME mon': 'OK\n',
      'PASSWORD pw-3141': 'OK\n',
      'FSD ups': 'OK FSD-SET\n',
      'LIST CMD ups': 'BEGIN LIST CMD ups\nCMD ups test.battery.start\nEND LIST CMD ups\n',
      'INSTCMD ups test.battery.start 10': 'OK\n',
    });
    const s = createNutSource(cfg(), deps, { transport });
    await s.run?.('fsd');
    const err = await rejection(s.run?.('beeper.mute') as Promise<void>);
    expect(err.code).toBe('UNSUPPORTED');
    expect(err.message).toBe('nut://127.0.0.1:3493/ups: the UPS has no instant command "beeper.mute" (it offers: test.battery.start)');
    await s.run?.('test.battery.start', { param: 10 });
    expect(sock.received.slice(2)).toEqual(['FSD ups', 'LIST CMD ups', 'LIST CMD ups', 'INSTCMD ups test.battery.start 10']);
    await s.close();
  });

  it('reconnects after a failure', async () => {
    let conns = 0;
    const first = server({ 'LIST VAR ups': (s) => s.hangUp() });
    const second = server({ 'LIST VAR ups': LIST_VAR });
    const transport: NutTransport = { connect: () => Promise.resolve(conns++ === 0 ? first.sock : second.sock), startTls: first.transport.startTls };
    const s = createNutSource(cfg({ username: undefined, password: undefined }), deps, { transport });
    expect((await rejection(s.read())).code).toBe('UNREACHABLE');
    expect((await s.read()).status).toBe('low_battery');
    expect(conns).toBe(2);
    await s.close();
  });

  it('listUps for the CLI', async () => {
    const { transport } = server({ STARTTLS: 'ERR FEATURE-NOT-CONFIGURED\n', 'LIST UPS': 'BEGIN LIST UPS\nUPS a "A \\"x\\""\nUPS b "B"\nEND LIST UPS\n', LOGOUT: 'OK Goodbye\n' });
    expect(await listUps({ transport })).toEqual([
      { name: 'a', description: 'A "x"' },
      { name: 'b', description: 'B' },
    ]);
  });
});
