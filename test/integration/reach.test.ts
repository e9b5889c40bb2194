/**
 * Reachability probes against real listeners on 127.0.0.1: TCP ports opened and closed, an
 * HTTP(S) server whose status changes, and ICMP through the real fping/ping.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProbeHost, probeSchema } from '../../src/adapters/host/probe';
import { DEFAULT_EXPECT, probeHttp } from '../../src/adapters/reach/http';
import { IcmpProber, runCommand } from '../../src/adapters/reach/icmp';
import { Prober } from '../../src/adapters/reach/prober';
import { probeTcp } from '../../src/adapters/reach/tcp';
import { systemClock } from '../../src/core/clock';
import { Hub } from '../../src/core/hub';
import type { HostState } from '../../src/core/state';
import { freePort } from '../helpers/ports';

async function listen(port = 0): Promise<Server> {
  const s = createServer((c) => c.destroy());
  await new Promise<void>((resolve) => s.listen(port, '127.0.0.1', resolve));
  return s;
}
const portOf = (s: Server | HttpServer): number => (s.address() as AddressInfo).port;
const close = (s: Server | HttpServer): Promise<void> => new Promise((resolve) => s.close(() => resolve()));

/** A hub with one probed host, recording every state it reports. */
async function probed(probe: Record<string, unknown>) {
  const hub = new Hub({ clock: systemClock });
  hub.addHost('box');
  const prober = new Prober({ clock: systemClock });
  hub.attach(new ProbeHost('box', probeSchema.parse({ interval: '250ms', timeout: '200ms', ...probe }), { prober }));
  const states: HostState[] = [];
  const waiters: { pred: (s: HostState) => boolean; resolve: () => void }[] = [];
  hub.on('host', (_id, s) => {
    states.push(s);
    for (const w of [...waiters]) {
      if (!w.pred(s)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  await hub.start();
  const until = (pred: (s: HostState) => boolean, what: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no state where ${what} within 15 s; saw ${JSON.stringify(states)}`)), 15_000);
      waiters.push({ pred, resolve: () => (clearTimeout(timer), resolve()) });
    });
  return { hub, states, until };
}

describe('TCP probe', () => {
  it('keeps per-port detail and counts the host up when any port accepts', async () => {
    const open = await listen();
    const closed = await freePort();
    try {
      const r = await probeTcp('127.0.0.1', [closed, portOf(open)], 1000);
      expect(r.ok).toBe(true);
      expect(r.ports.map((p) => [p.port, p.state])).toEqual([
        [closed, 'refused'],
        [portOf(open), 'open'],
      ]);
      expect(r.latencyMs).toBeGreaterThanOrEqual(0);
      const down = await probeTcp('127.0.0.1', [closed], 1000);
      expect(down).toMatchObject({ ok: false, latencyMs: null, error: `tcp 127.0.0.1: ${closed} refused` });
    } finally {
      await close(open);
    }
  });

  it('follows a listener going away and coming back, with hysteresis', async () => {
    let server = await listen();
    const port = portOf(server);
    const { hub, states, until } = await probed({ address: '127.0.0.1', tcp: [port], fail_after: 2, succeed_after: 2 });
    try {
      await until((s) => s.reachable === true, 'reachable');
      expect(states[0]).toMatchObject({ reachable: true, phase: 'running', lastError: null });
      expect(states[0]?.latencyMs).toEqual(expect.any(Number));

      await close(server);
      await until((s) => s.reachable === false, 'unreachable');
      const down = states.findIndex((s) => s.reachable === false);
      // One refused probe is not enough: the state first shows the error while still reachable.
      expect(states[down - 1]).toMatchObject({ reachable: true, phase: 'running', lastError: `tcp 127.0.0.1: ${port} refused` });
      expect(states[down]).toMatchObject({ reachable: false, phase: 'unreachable', latencyMs: null });

      server = await listen(port);
      const before = states.length;
      await until((s) => s.reachable === true, 'reachable again');
      const back = states.slice(before);
      expect(back[0]).toMatchObject({ reachable: false, lastError: null });
      expect(back[back.length - 1]).toMatchObject({ reachable: true, phase: 'running' });
    } finally {
      await hub.stop();
      await close(server);
    }
  });
});

describe('HTTP probe', () => {
  it('is up on 200 and goes down after fail_after answers of 503', async () => {
    let status = 200;
    const server = createHttpServer((_req, res) => res.writeHead(status).end('x'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${portOf(server)}/health`;
    const { hub, states, until } = await probed({ http: url, fail_after: 2 });
    try {
      await until((s) => s.reachable === true, 'reachable');
      status = 503;
      await until((s) => s.reachable === false, 'unreachable');
      const down = states.findIndex((s) => s.reachable === false);
      expect(states[down - 1]).toMatchObject({ reachable: true, lastError: `http GET ${url}: status 503, expected 2xx, 3xx` });
      expect(states[down]?.lastError).toBe(`http GET ${url}: status 503, expected 2xx, 3xx`);
    } finally {
      await hub.stop();
      await close(server);
    }
  });

  it('takes expect_status as given and reports a refused connection', async () => {
    const server = createHttpServer((_req, res) => res.writeHead(401).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${portOf(server)}/`;
    try {
      const cfg = probeSchema.parse({ http: { url, method: 'HEAD', expect_status: [401, '2xx'] } });
      expect(await probeHttp(cfg.http!, 1000)).toMatchObject({ ok: true, status: 401 });
      const strict = probeSchema.parse({ http: { url, expect_status: 204 } });
      expect(await probeHttp(strict.http!, 1000)).toMatchObject({ ok: false, status: 401, error: `http GET ${url}: status 401, expected 204` });
    } finally {
      await close(server);
    }
    const gone = await probeHttp({ url, method: 'GET', expectStatus: DEFAULT_EXPECT, insecure: false }, 1000);
    expect(gone).toMatchObject({ ok: false, error: `http GET ${url}: connection refused` });
  });

  const noOpenssl = spawnSync('openssl', ['version']).status !== 0;
  (noOpenssl ? it.skip : it)('refuses a self-signed certificate unless insecure is set', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bs-tls-'));
    const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')], { encoding: 'utf8' });
    expect(gen.status).toBe(0);
    const server = createHttpsServer({ key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) }, (_q, res) => res.writeHead(200).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${portOf(server)}/`;
    try {
      const strict = await probeHttp({ url, method: 'GET', expectStatus: DEFAULT_EXPECT, insecure: false }, 2000);
      expect(strict.ok).toBe(false);
      expect(strict.error).toMatch(/SELF_SIGNED|self-signed/i);
      expect(await probeHttp({ url, method: 'GET', expectStatus: DEFAULT_EXPECT, insecure: true }, 2000)).toMatchObject({ ok: true, status: 200 });
    } finally {
      await close(server);
    }
  });
});

describe('ICMP probe', () => {
  const fping = new IcmpProber().tool();
  const haveFping = fping?.kind === 'fping';
  if (!haveFping) console.warn('SKIPPED real fping test: fping is not installed (Debian package fping)');

  (haveFping ? it : it.skip)('pings 127.0.0.1 and 127.0.0.2 with one fping run', async () => {
    const calls: string[][] = [];
    const prober = new IcmpProber({
      run: async (file, args, t) => {
        calls.push([file, ...args]);
        return runCommand(file, args, t);
      },
    });
    const r = await prober.sweep(['127.0.0.1', '127.0.0.2', '127.0.0.1'], 1000);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.[0]).toMatch(/fping$/);
    for (const host of ['127.0.0.1', '127.0.0.2']) {
      expect(r.get(host)).toMatchObject({ method: 'icmp', ok: true, error: null });
      expect(r.get(host)?.latencyMs).toEqual(expect.any(Number));
    }
  });

  const ping = spawnSync('sh', ['-c', 'command -v ping'], { encoding: 'utf8' }).stdout.trim();
  (ping ? it : it.skip)('falls back to one ping per host when fping is absent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bs-ping-'));
    symlinkSync(ping, join(dir, 'ping'));
    const prober = new IcmpProber({ searchPath: dir });
    expect(prober.tool()).toEqual({ kind: 'ping', path: join(dir, 'ping') });
    const r = await prober.sweep(['127.0.0.1'], 1000);
    expect(r.get('127.0.0.1')).toMatchObject({ ok: true, error: null });
  });

  it('says clearly that ICMP is unavailable when neither tool exists', async () => {
    const prober = new IcmpProber({ searchPath: mkdtempSync(join(tmpdir(), 'bs-empty-')) });
    const r = await prober.sweep(['127.0.0.1'], 500);
    expect(r.get('127.0.0.1')).toEqual({ method: 'icmp', ok: false, latencyMs: null, error: 'ICMP unavailable: neither fping nor ping found' });
  });

  it('reads fping output for silent hosts, unknown names and a refused socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bs-fakefping-'));
    symlinkSync('/bin/true', join(dir, 'fping'));
    const answer = { code: 1 as number | null, stdout: '', stderr: '' };
    const prober = new IcmpProber({ searchPath: dir, run: async () => answer });
    answer.stderr = '10.9.9.9 : -\nnohost.invalid: Name or service not known\n127.0.0.1 : 0.04\n';
    const r = await prober.sweep(['10.9.9.9', 'nohost.invalid', '127.0.0.1'], 700);
    expect(r.get('10.9.9.9')?.error).toBe('icmp 10.9.9.9: no echo reply within 700 ms');
    expect(r.get('nohost.invalid')?.error).toBe('icmp nohost.invalid: Name or service not known');
    expect(r.get('127.0.0.1')).toMatchObject({ ok: true, latencyMs: 0.04 });
    answer.code = 4;
    answer.stderr = "fping: can't create socket (must run as root?)\n";
    const denied = await prober.sweep(['127.0.0.1'], 700);
    expect(denied.get('127.0.0.1')?.error).toBe("icmp 127.0.0.1: ICMP unavailable: fping not permitted (fping: can't create socket (must run as root?))");
  });

  (haveFping ? it : it.skip)('drives a probed host through the hub', async () => {
    const { hub, until } = await probed({ address: '127.0.0.1', icmp: true, interval: '1s', timeout: '500ms' });
    try {
      await until((s) => s.reachable === true && s.phase === 'running', 'reachable by ICMP');
    } finally {
      await hub.stop();
    }
  });
});
