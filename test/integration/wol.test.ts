/**
 * Wake-on-LAN on real sockets: a UDP listener on 127.0.0.1 sees the exact datagrams, and a
 * subnet broadcast crosses a veth pair between two network namespaces this test creates.
 * Nothing is ever sent to the limited broadcast address or to an address on a real interface.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { WolHost, wolSchema } from '../../src/adapters/host/wol';
import { decodeMagicPacket, encodeMagicPacket, formatMac, parseMac, parsePassword } from '../../src/adapters/power/wol-codec';
import { WolSender } from '../../src/adapters/power/wol';
import { systemClock } from '../../src/core/clock';
import { Hub } from '../../src/core/hub';
import { Secret } from '../../src/core/secret';

interface Listener {
  port: number;
  packets: Buffer[];
  /** Resolves once `n` datagrams arrived (or rejects after a generous 10 s). */
  waitFor(n: number): Promise<void>;
  close(): void;
}

async function udpListener(): Promise<Listener> {
  const socket: Socket = createSocket('udp4');
  const packets: Buffer[] = [];
  let wake: (() => void) | undefined;
  socket.on('message', (m) => {
    packets.push(m);
    wake?.();
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    packets,
    waitFor: (n) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${packets.length} of ${n} datagrams arrived`)), 10_000);
        const check = (): void => {
          if (packets.length < n) return;
          clearTimeout(timer);
          wake = undefined;
          resolve();
        };
        wake = check;
        check();
      }),
    close: () => socket.close(),
  };
}

/** A round trip through the listener's socket, so every datagram sent before it has been read. */
async function drain(l: Listener): Promise<void> {
  const before = l.packets.length;
  const probe = createSocket('udp4');
  await new Promise<void>((resolve) => probe.send(Buffer.from('drain'), l.port, '127.0.0.1', () => resolve()));
  probe.close();
  await l.waitFor(before + 1);
  l.packets.pop();
}

describe('WOL sender on loopback', () => {
  let l: Listener;
  beforeEach(async () => {
    l = await udpListener();
  });
  afterEach(() => l.close());

  it('sends exactly `repeat` copies of the magic packet', async () => {
    const sender = new WolSender({ clock: systemClock });
    const report = await sender.send({ mac: '00-1b-21-3a-4c-5d', address: '127.0.0.1', port: l.port, repeat: 4, spacingMs: 5 });
    await l.waitFor(4);
    await drain(l);
    expect(report).toEqual({ mac: '00:1b:21:3a:4c:5d', address: '127.0.0.1', port: l.port, sent: 4, bytes: 102 });
    expect(l.packets).toHaveLength(4);
    const expected = Buffer.from('ff'.repeat(6) + '001b213a4c5d'.repeat(16), 'hex');
    for (const p of l.packets) expect(p.equals(expected)).toBe(true);
  });

  it('binds to the given source address', async () => {
    const rx = createSocket('udp4');
    const from: string[] = [];
    rx.on('message', (_m, rinfo) => from.push(rinfo.address));
    await new Promise<void>((resolve) => rx.bind(0, '127.0.0.1', resolve));
    try {
      await new WolSender().send({ mac: '02:00:00:00:00:01', address: '127.0.0.1', port: rx.address().port, repeat: 1, spacingMs: 0, sourceAddress: '127.0.0.9' });
      await new Promise<void>((resolve) => {
        const t = setInterval(() => from.length && (clearInterval(t), resolve()), 10);
      });
      expect(from).toEqual(['127.0.0.9']);
    } finally {
      rx.close();
    }
  });

  it('fails with a coded error naming the MAC and address when it cannot bind', async () => {
    const err = await new WolSender()
      .send({ mac: '02:00:00:00:00:01', address: '127.0.0.1', port: l.port, repeat: 1, spacingMs: 0, sourceAddress: '192.0.2.77' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'BlackstartError', code: 'UNREACHABLE' });
    expect((err as Error).message).toContain('02:00:00:00:00:01 via 127.0.0.1');
    expect(l.packets).toHaveLength(0);
  });

  it('wakes through the hub: WolHost sends the SecureOn packet and keeps the password out of the log', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'debug' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
    const cfg = wolSchema.parse({ mac: '001b.213a.4c5d', address: '127.0.0.1', port: l.port, repeat: 2, spacing: '20ms', password_env: 'WOL_PW' });
    cfg.password?.resolve(new Secret('c0:ff:ee:12:34:56', 'env WOL_PW'));
    const hub = new Hub({ clock: systemClock, log });
    hub.addHost('nas');
    hub.attach(new WolHost('nas', cfg));
    await hub.start();
    const r = await hub.execute({ kind: 'host', id: 'nas' }, { action: 'wake', id: 'w1' });
    await hub.stop();
    expect(r).toMatchObject({ ok: true, id: 'w1', action: 'wake' });
    await l.waitFor(2);
    await drain(l);
    expect(l.packets).toHaveLength(2);
    const decoded = decodeMagicPacket(l.packets[0] as Buffer);
    expect(decoded.kind).toBe('packet');
    if (decoded.kind === 'packet') {
      expect(formatMac(decoded.mac)).toBe('00:1b:21:3a:4c:5d');
      expect(decoded.password?.toString('hex')).toBe('c0ffee123456');
    }
    const all = lines.join('');
    expect(all).toContain('wake-on-LAN sent');
    expect(all.toLowerCase()).not.toMatch(/c0:?ff:?ee|123456/);
  });

  it('refuses to start with a malformed password from the environment, without printing it', async () => {
    const cfg = wolSchema.parse({ mac: '00:1b:21:3a:4c:5d', address: '127.0.0.1', port: l.port, password_env: 'WOL_PW' });
    cfg.password?.resolve(new Secret('hunter2', 'env WOL_PW'));
    const hub = new Hub({ clock: systemClock });
    hub.addHost('nas');
    hub.attach(new WolHost('nas', cfg));
    await hub.start();
    const state = hub.host('nas');
    await hub.stop();
    expect(state?.lastError).toMatch(/password from password_env .* not 4 or 6 bytes/);
    expect(state?.lastError).not.toContain('hunter2');
  });
});

/** Namespaces need root and a kernel that allows them; CI runs as root. */
function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  const probe = `bs-wolprobe-${process.pid}`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (add.error) return `ip not runnable: ${add.error.message}`;
  if (add.status !== 0) return `ip netns add not permitted: ${add.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return undefined;
}

const netnsMissing = netnsUnavailable();
if (netnsMissing) console.warn(`SKIPPED WOL namespace broadcast test: ${netnsMissing}`);
const nsSuite = netnsMissing ? describe.skip : describe;

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

/** Runs a node script inside a namespace; resolves with its stdout once it exits. */
function nodeIn(ns: string, script: string, onLine?: (line: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (onLine) for (const line of d.toString().split('\n').filter(Boolean)) onLine(line);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`script in ${ns} exited ${code}: ${err}`))));
  });
}

nsSuite('WOL subnet broadcast between two namespaces', () => {
  const tag = `${process.pid % 10000}${Math.floor(Math.random() * 100)}`;
  const nsA = `bs-wol${tag}-a`;
  const nsB = `bs-wol${tag}-b`;
  const vethA = `bsw${tag}a`.slice(0, 15);
  const vethB = `bsw${tag}b`.slice(0, 15);
  const subnet = `10.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 250)}`;

  beforeAll(() => {
    ip('netns', 'add', nsA);
    ip('netns', 'add', nsB);
    ip('link', 'add', vethA, 'netns', nsA, 'type', 'veth', 'peer', 'name', vethB, 'netns', nsB);
    ip('-n', nsA, 'addr', 'add', `${subnet}.1/24`, 'dev', vethA);
    ip('-n', nsB, 'addr', 'add', `${subnet}.2/24`, 'dev', vethB);
    for (const [ns, dev] of [[nsA, vethA], [nsB, vethB]] as const) {
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'link', 'set', dev, 'up');
    }
  });

  afterAll(() => {
    // Deleting the namespaces removes the veth pair with them.
    for (const ns of [nsA, nsB]) spawnSync('ip', ['netns', 'del', ns]);
    const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    expect(left).not.toContain(`bs-wol${tag}-`);
  });

  it('a packet sent from A to the subnet broadcast, bound to A\'s interface, reaches a listener in B', async () => {
    const listener = `
      const d = require('dgram').createSocket('udp4');
      const got = [];
      const quit = setTimeout(() => { console.log(JSON.stringify(got)); process.exit(0); }, 15000);
      d.on('message', (m, r) => {
        got.push({ hex: m.toString('hex'), from: r.address });
        if (got.length === 3) { clearTimeout(quit); console.log(JSON.stringify(got)); process.exit(0); }
      });
      d.bind(9, '0.0.0.0', () => console.log('ready'));`;
    let ready: () => void = () => undefined;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const received = nodeIn(nsB, listener, (line) => line === 'ready' && ready());
    await isReady;

    const wolModule = join(__dirname, '../../src/adapters/power/wol.js');
    const sender = `
      const { WolSender } = require(${JSON.stringify(wolModule)});
      new WolSender().send({ mac: '00:1b:21:3a:4c:5d', password: Buffer.from('deadbeef', 'hex'), address: '${subnet}.255',
        port: 9, repeat: 3, spacingMs: 20, interface: '${vethA}' })
        .then((r) => console.log(JSON.stringify(r)), (e) => { console.error(e.message); process.exit(1); });`;
    const sent = JSON.parse(await nodeIn(nsA, sender)) as { sent: number; bytes: number };
    const got = JSON.parse((await received).split('\n').filter(Boolean).pop() as string) as { hex: string; from: string }[];

    expect(sent).toMatchObject({ sent: 3, bytes: 106 });
    const expected = encodeMagicPacket(parseMac('00:1b:21:3a:4c:5d'), parsePassword('de:ad:be:ef')).toString('hex');
    expect(got).toHaveLength(3);
    for (const g of got) {
      expect(g.hex).toBe(expected);
      expect(g.from).toBe(`${subnet}.1`);
    }
  });
});
