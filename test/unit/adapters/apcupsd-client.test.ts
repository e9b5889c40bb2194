/**
 * NisClient and the apcupsd source over an injected in-memory stream: partial chunks, server
 * closing mid-reply or while idle, timeouts on a fake clock, one request at a time.
 * Replies are the captured fixtures (test/fixtures/apcupsd/README.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { NisClient, type NisConnector } from '../../../src/adapters/ups/apcupsd/client';
import { tcpConnect } from '../../../src/adapters/tcp';
import { encodeReply, ReplyDecoder } from '../../../src/adapters/ups/apcupsd/codec';
import { apcupsdSchema, createApcupsdSource } from '../../../src/adapters/ups/apcupsd';
import { FakeClock, systemClock, type Clock } from '../../../src/core/clock';
import { silentLogger } from '../../../src/core/logger';
import { freePort } from '../../helpers/ports';
import { repoRoot } from '../../helpers/repo';

const fixture = (name: string): Buffer => readFileSync(join(repoRoot(), 'test/fixtures/apcupsd', name));
const LABEL = 'apcupsd://127.0.0.1:3551';

/** The server side of one in-memory connection. */
interface Conn {
  requests: string[];
  /** Sends bytes to the client. */
  send(bytes: Buffer): void;
  /** Sends bytes in pieces of 1..maxChunk bytes, each in its own tick. */
  sendChunked(bytes: Buffer, maxChunk: number): Promise<void>;
  /** The server hangs up. */
  hangUp(): void;
  destroyed(): boolean;
}

type Handler = (conn: Conn, request: string, index: number) => void;

/** A connector whose connections call `handler` for each request the client sends. */
function fakeServer(handler: Handler) {
  const conns: Conn[] = [];
  let refuse: NodeJS.ErrnoException | null = null;
  let hang = false;
  const connect: NisConnector = (_host, _port, signal) => {
    if (refuse) return Promise.reject(refuse);
    if (hang) {
      return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    }
    let count = 0;
    const requests: string[] = [];
    const socket = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        // Requests are framed like replies; each arrives as one record without an end marker.
        const len = chunk.readUInt16BE(0);
        const request = chunk.subarray(2, 2 + len).toString('latin1');
        requests.push(request);
        handler(conn, request, count++);
        cb();
      },
    });
    const conn: Conn = {
      requests,
      send: (bytes) => {
        if (!socket.destroyed) socket.push(bytes);
      },
      sendChunked: async (bytes, maxChunk) => {
        let seed = 7;
        for (let off = 0; off < bytes.length; ) {
          seed = (seed * 1103515245 + 12345) & 0x7fffffff;
          const n = 1 + (seed % maxChunk);
          if (!socket.destroyed) socket.push(bytes.subarray(off, off + n));
          off += n;
          await new Promise((r) => setImmediate(r));
        }
      },
      hangUp: () => socket.destroy(),
      destroyed: () => socket.destroyed,
    };
    conns.push(conn);
    return Promise.resolve(socket);
  };
  return {
    connect,
    conns,
    refuseWith(code: string) {
      refuse = Object.assign(new Error(`connect ${code} 127.0.0.1:3551`), { code });
    },
    hangOnConnect() {
      hang = true;
    },
  };
}

function client<C extends Clock = FakeClock>(connect: NisConnector, clock: C = new FakeClock() as unknown as C) {
  return { clock, c: new NisClient({ host: '127.0.0.1', port: 3551, timeoutMs: 3000, clock, connect, label: LABEL }) };
}

const statusReply = fixture('status-online.bin');
const statusRecords = (() => {
  const s = new ReplyDecoder().push(statusReply);
  if (s.kind !== 'reply') throw new Error('fixture');
  return s.records;
})();

describe('NisClient', () => {
  it('sends the six-byte request, collects a reply arriving in small pieces, keeps the connection', async () => {
    const srv = fakeServer((conn) => void conn.sendChunked(statusReply, 7));
    const { c } = client(srv.connect);
    const first = await c.request('status');
    expect(first.map((r) => r.toString('latin1'))).toEqual(statusRecords.map((r) => r.toString('latin1')));
    await c.request('status');
    await c.request('events');
    expect(srv.conns).toHaveLength(1);
    expect(srv.conns[0]?.requests).toEqual(['status', 'status', 'events']);
    await c.close();
    expect(srv.conns[0]?.destroyed()).toBe(true);
  });

  it('runs one request at a time: the second goes out only after the first reply', async () => {
    const order: string[] = [];
    const srv = fakeServer((conn, req, i) => {
      order.push(`req ${req}`);
      setTimeout(() => {
        order.push(`reply ${i}`);
        conn.send(encodeReply([`${req} ${i}\n`]));
      }, 5);
    });
    const { c } = client(srv.connect, systemClock);
    const [a, b] = await Promise.all([c.request('status'), c.request('events')]);
    expect([a[0]?.toString(), b[0]?.toString()]).toEqual(['status 0\n', 'events 1\n']);
    expect(order).toEqual(['req status', 'reply 0', 'req events', 'reply 1']);
    await c.close();
  });

  it('fails a reply cut off by the server with UNREACHABLE, then reconnects', async () => {
    const srv = fakeServer((conn, _req, i) => {
      if (srv.conns.length === 1 && i === 0) {
        conn.send(statusReply.subarray(0, 300));
        setImmediate(() => conn.hangUp());
      } else {
        conn.send(statusReply);
      }
    });
    const { c } = client(srv.connect);
    await expect(c.request('status')).rejects.toMatchObject({
      code: 'UNREACHABLE',
      message: expect.stringMatching(/^apcupsd:\/\/127\.0\.0\.1:3551: server closed the connection in the middle of a reply \(\d+ records read\)$/),
    });
    expect(c.connected).toBe(false);
    await expect(c.request('status')).resolves.toHaveLength(53);
    expect(srv.conns).toHaveLength(2);
    await c.close();
  });

  it('reconnects after the server closed an idle connection', async () => {
    const srv = fakeServer((conn) => conn.send(statusReply));
    const { c } = client(srv.connect);
    await c.request('status');
    srv.conns[0]?.hangUp();
    await new Promise((r) => setImmediate(r));
    await expect(c.request('status')).resolves.toHaveLength(53);
    expect(srv.conns).toHaveLength(2);
    await c.close();
  });

  it('retries once, on a fresh connection, when a kept connection dies before any reply byte', async () => {
    const srv = fakeServer((conn, _req, i) => {
      if (srv.conns.length === 1 && i === 1) conn.hangUp();
      else conn.send(statusReply);
    });
    const { c } = client(srv.connect);
    await c.request('status');
    await expect(c.request('status')).resolves.toHaveLength(53);
    expect(srv.conns).toHaveLength(2);
    await c.close();
  });

  it('does not retry a fresh connection that dies: UNREACHABLE', async () => {
    const srv = fakeServer((conn) => conn.hangUp());
    const { c } = client(srv.connect);
    await expect(c.request('status')).rejects.toMatchObject({ code: 'UNREACHABLE', message: `${LABEL}: server closed the connection` });
    expect(srv.conns).toHaveLength(1);
  });

  it('times a silent server out with TIMEOUT, drops the connection and opens a new one next time', async () => {
    let silent = true;
    const srv = fakeServer((conn) => {
      if (!silent) conn.send(statusReply);
    });
    const { c, clock } = client(srv.connect);
    const p = c.request('status');
    const settled = jest.fn();
    p.then(settled, settled);
    await clock.advance(2999);
    expect(settled).not.toHaveBeenCalled();
    await clock.advance(1);
    await expect(p).rejects.toMatchObject({ code: 'TIMEOUT', message: `${LABEL}: no complete reply to "status" within 3000 ms` });
    expect(srv.conns[0]?.destroyed()).toBe(true);
    silent = false;
    await expect(c.request('status')).resolves.toHaveLength(53);
    expect(srv.conns).toHaveLength(2);
    expect(clock.pending).toBe(0);
    await c.close();
  });

  it('times out a reply that stops half way (need-more forever)', async () => {
    const srv = fakeServer((conn) => conn.send(statusReply.subarray(0, statusReply.length - 1)));
    const { c, clock } = client(srv.connect);
    const p = c.request('status');
    const caught = p.catch((e: unknown) => e);
    await clock.advance(3000);
    expect(await caught).toMatchObject({ code: 'TIMEOUT' });
  });

  it('times out a connect that never completes and aborts it', async () => {
    const srv = fakeServer(() => undefined);
    srv.hangOnConnect();
    const { c, clock } = client(srv.connect);
    const caught = c.request('status').catch((e: unknown) => e);
    await clock.advance(3000);
    expect(await caught).toMatchObject({ code: 'TIMEOUT', message: `${LABEL}: connect timed out after 3000 ms` });
  });

  it('reports a refused connection as UNREACHABLE', async () => {
    const srv = fakeServer(() => undefined);
    srv.refuseWith('ECONNREFUSED');
    const { c } = client(srv.connect);
    await expect(c.request('status')).rejects.toMatchObject({
      code: 'UNREACHABLE',
      message: `${LABEL}: connection refused (is apcupsd running with NETSERVER on?)`,
    });
  });

  it('drops the connection on bad framing with PROTOCOL', async () => {
    const srv = fakeServer((conn) => conn.send(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')));
    const { c } = client(srv.connect);
    await expect(c.request('status')).rejects.toMatchObject({ code: 'PROTOCOL', message: expect.stringContaining('bad reply framing: record of') });
    expect(srv.conns[0]?.destroyed()).toBe(true);
  });

  it('treats bytes with no request outstanding as lost framing', async () => {
    const srv = fakeServer((conn) => conn.send(statusReply));
    const { c } = client(srv.connect);
    await c.request('status');
    srv.conns[0]?.send(Buffer.from([0, 1, 0x41]));
    await new Promise((r) => setImmediate(r));
    expect(c.connected).toBe(false);
    expect(srv.conns[0]?.destroyed()).toBe(true);
  });

  it('connects over real TCP and reports a closed loopback port as refused', async () => {
    const port = await freePort();
    const c = new NisClient({ host: '127.0.0.1', port, timeoutMs: 2000, clock: systemClock, connect: tcpConnect, label: `apcupsd://127.0.0.1:${port}` });
    await expect(c.request('status')).rejects.toMatchObject({ code: 'UNREACHABLE' });
  });
});

describe('apcupsd source over the in-memory stream', () => {
  const cfg = apcupsdSchema.parse({ host: '127.0.0.1', port: 3551, timeout: '2s' });
  const deps = { clock: new FakeClock(), log: silentLogger() };

  it('reads and maps a status block, and reads the event log, on one connection', async () => {
    const srv = fakeServer((conn, req) => conn.send(req === 'status' ? fixture('status-onbatt.bin') : fixture('events.bin')));
    const src = createApcupsdSource(cfg, deps, { connect: srv.connect });
    expect(src.label).toBe(LABEL);
    await expect(src.read()).resolves.toMatchObject({ status: 'on_battery', flags: ['ONBATT'], chargePct: 60, runtimeS: 600, onBatteryS: 2 });
    const events = await src.events();
    expect(events.map((e) => e.message)).toEqual([
      'apcupsd 3.14.14 (31 May 2016) debian startup succeeded',
      'Power failure.',
      'Running on UPS batteries.',
      'Mains returned. No longer on UPS batteries.',
      'Power is back. UPS running on mains.',
    ]);
    expect(srv.conns).toHaveLength(1);
    await src.close();
  });

  it('turns error answers into coded errors that name the server', async () => {
    let answer = fixture('invalid.bin');
    const srv = fakeServer((conn) => conn.send(answer));
    const src = createApcupsdSource(cfg, deps, { connect: srv.connect });
    await expect(src.read()).rejects.toMatchObject({ code: 'PROTOCOL', message: `${LABEL}: apcupsd answered "Invalid command" to "status"` });
    answer = encodeReply(['Apcupsd internal error\n\0']);
    await expect(src.read()).rejects.toMatchObject({ code: 'UNREACHABLE', message: expect.stringContaining('"Apcupsd internal error"') });
    answer = encodeReply(['Not available\n\0']);
    await expect(src.events()).resolves.toEqual([]);
    answer = fixture('status-commlost.bin');
    await expect(src.read()).rejects.toMatchObject({ code: 'UNREACHABLE', message: `${LABEL}: apcupsd lost its UPS (STATUS COMMLOST)` });
    answer = encodeReply(['APC      : 001,005,0000\n', 'STATUS   : ONLINE\n', 'END APC  : x\n']);
    await expect(src.read()).rejects.toMatchObject({ code: 'PROTOCOL', message: `${LABEL}: bad status reply: header announces 5 lines, reply has 2` });
    await src.close();
  });

  it('reads again after close(), on a new connection', async () => {
    const srv = fakeServer((conn) => conn.send(fixture('status-online.bin')));
    const src = createApcupsdSource(cfg, deps, { connect: srv.connect });
    await src.read();
    await src.close();
    await expect(src.read()).resolves.toMatchObject({ status: 'online' });
    expect(srv.conns).toHaveLength(2);
    await src.close();
  });
});
