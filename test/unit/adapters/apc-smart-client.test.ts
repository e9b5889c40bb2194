import { apcSmartSchema, createApcSmartSource, type LinkHandlers, type PortFactory, type SerialLink } from '../../../src/adapters/ups/apc-smart';
import { ApcSmartClient } from '../../../src/adapters/ups/apc-smart/client';
import { FakeClock } from '../../../src/core/clock';
import { silentLogger } from '../../../src/core/logger';
import { ApcEmulatorModel } from '../../helpers/apc-emulator-model';

/**
 * A port driven by the pure emulator model on the FakeClock: what the client writes is answered
 * at once (or not, when muted), and every write is stamped with fake time.
 */
class FakePort {
  readonly writes: { char: string; at: number }[] = [];
  handlers: LinkHandlers | undefined;
  muted = false;
  opens = 0;
  closes = 0;

  constructor(
    readonly clock: FakeClock,
    readonly model: ApcEmulatorModel,
  ) {}

  readonly factory: PortFactory = async (_settings, handlers) => {
    this.opens++;
    this.handlers = handlers;
    const link: SerialLink = {
      write: async (bytes) => {
        for (const char of bytes) {
          this.writes.push({ char, at: this.clock.now() });
          if (this.muted) continue;
          const out = this.model.receive(char, this.clock.now());
          const text = (out.reply !== null ? `${out.reply}\r\n` : '') + out.alerts.join('');
          if (text) queueMicrotask(() => this.handlers?.onData(Buffer.from(text, 'latin1')));
        }
      },
      close: async () => {
        this.closes++;
      },
    };
    return link;
  };

  send(text: string): void {
    this.handlers?.onData(Buffer.from(text, 'latin1'));
  }

  written(): string {
    return this.writes.map((w) => w.char).join('');
  }
}

const settings = { device: '/dev/ttyFAKE', baudRate: 2400, dataBits: 8, parity: 'none', stopBits: 1, rts: false, dtr: true } as const;

function setup(model = new ApcEmulatorModel()) {
  const clock = new FakeClock();
  const port = new FakePort(clock, model);
  const client = new ApcSmartClient(settings, { clock, log: silentLogger(), portFactory: port.factory, timings: { timeoutMs: 1000 } });
  return { clock, port, client, model };
}

/** Runs a promise to completion while moving fake time forward. */
async function drive<T>(clock: FakeClock, p: Promise<T>, stepMs = 50, maxMs = 60_000): Promise<T> {
  let done = false;
  const settled = p.finally(() => {
    done = true;
  });
  for (let t = 0; t < maxMs && !done; t += stepMs) await clock.advance(stepMs);
  return settled;
}

describe('ApcSmartClient over an injected port (fake clock)', () => {
  it('pair commands wait pairGapMs of clock time between characters; @ddd charGapMs', async () => {
    const { clock, port, client, model } = setup();
    await drive(clock, client.open());
    const reply = await drive(clock, client.command(['K', 'K'], client.pairGapMs, { shutdown: true }));
    expect(reply).toBe('OK');
    const ks = port.writes.filter((w) => w.char === 'K');
    expect(ks[1]!.at - ks[0]!.at).toBe(1500);
    expect(model.pendingShutdown).toBe('KK');
    await drive(clock, client.command([...'@000'], client.charGapMs, { shutdown: true }), 10);
    const at = port.writes.filter((w) => '@0'.includes(w.char));
    expect(at.map((w) => w.at - at[0]!.at)).toEqual([0, 50, 100, 150]);
  });

  it('handshake: on silence sends ESC and retries, then reports TIMEOUT naming the port', async () => {
    const { clock, port, client } = setup();
    port.muted = true;
    const err = await drive(clock, client.open().catch((e: unknown) => e));
    expect(err).toMatchObject({ code: 'TIMEOUT', message: expect.stringContaining('apcsmart:///dev/ttyFAKE: no SM answer to Y after 3 tries') });
    expect(port.written()).toBe('Y\x1bY\x1bY\x1b');
    expect(port.closes).toBe(1);
    // a later open tries again (the UPS came back)
    port.muted = false;
    await drive(clock, client.open());
    expect(client.isOpen).toBe(true);
  });

  it('one request at a time: concurrent queries go out one after the other and get their own replies', async () => {
    const { clock, port, client } = setup();
    await drive(clock, client.open());
    const [q, f, j] = await drive(clock, Promise.all([client.query('Q'), client.query('f'), client.query('j')]));
    expect([q, f, j]).toEqual(['08', '100.0', '0045:']);
    expect(port.written()).toBe('YQfj');
  });

  it('a late reply after a timeout is dropped, not given to the next request', async () => {
    const { clock, port, client } = setup();
    await drive(clock, client.open());
    port.muted = true;
    const err = await drive(clock, client.query('f').catch((e: unknown) => e));
    expect(err).toMatchObject({ code: 'TIMEOUT', message: expect.stringContaining('no answer to query f within 1000 ms') });
    port.send('100.0\r\n'); // the late answer to f
    port.muted = false;
    expect(await drive(clock, client.query('Q'))).toBe('08');
  });

  it('alerts go to the listener at once, also mid-reply; a * during a shutdown command is its ack', async () => {
    const { clock, port, client } = setup();
    const alerts: string[] = [];
    client.onAlert((c) => alerts.push(c));
    await drive(clock, client.open());
    port.send('!');
    expect(alerts).toEqual(['!']);
    port.muted = true;
    const q = client.query('Q');
    await clock.advance(10);
    port.send('1%0\r\n');
    expect(await q).toBe('10');
    expect(alerts).toEqual(['!', '%']);
    const s = client.command(['S'], 0, { shutdown: true });
    await clock.advance(10);
    port.send('*');
    expect(await s).toBe('*');
    expect(alerts).toEqual(['!', '%']);
  });

  it('garbage fails the request with PROTOCOL; the port closing fails it with UNREACHABLE', async () => {
    const { clock, port, client } = setup();
    await drive(clock, client.open());
    port.muted = true;
    const q = client.query('Q').catch((e: unknown) => e);
    await clock.advance(10);
    port.send('\x00\x01\r\n');
    expect(await q).toMatchObject({ code: 'PROTOCOL', message: expect.stringContaining('unexpected byte 0x00') });
    const f = client.query('f').catch((e: unknown) => e);
    await clock.advance(10);
    port.handlers?.onClose('port closed');
    expect(await f).toMatchObject({ code: 'UNREACHABLE' });
    expect(client.isOpen).toBe(false);
  });

  it('the source maps readings, pushes and command fallbacks over the same fake port', async () => {
    const model = new ApcEmulatorModel({ chargePct: 80 });
    const clock = new FakeClock();
    const port = new FakePort(clock, model);
    const cfg = apcSmartSchema.parse({ device: '/dev/ttyFAKE', timeout: '1s', commands: ['shutdown.return'] });
    const source = createApcSmartSource(cfg, { clock, log: silentLogger(), portFactory: port.factory });
    const pushes: unknown[] = [];
    source.onPush!((p) => pushes.push(p));
    expect(await drive(clock, source.read())).toMatchObject({ status: 'online', chargePct: 80 });
    for (const a of model.set({ onBattery: true })) port.send(a);
    expect(pushes).toEqual([{ status: 'on_battery', flags: ['OB'] }]);
    // S is accepted on battery: no @000
    await drive(clock, source.run!('shutdown.return'));
    expect(port.written().endsWith('S')).toBe(true);
    // garbage in a number is a PROTOCOL error naming the field
    port.muted = true;
    const read = source.read().catch((e: unknown) => e);
    for (const reply of ['10\r\n', 'x9\r\n']) {
      await clock.advance(10);
      port.send(reply);
    }
    expect(await drive(clock, read)).toMatchObject({ code: 'PROTOCOL', message: expect.stringContaining('battery charge (f) "x9"') });
    await source.close();
  });
});
