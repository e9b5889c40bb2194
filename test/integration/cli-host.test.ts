/**
 * `blackstart wake | shutdown | probe` as a user runs them, against real peers on loopback: a UDP
 * listener for the magic packets, the TeraStation-like admin page, a real sshd, TCP listeners
 * standing in for a host's services (closed to play the host going down).
 */
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeMagicPacket, parseMac, parsePassword } from '../../src/adapters/power/wol-codec';
import { cli, until } from '../helpers/cli-run';
import { freePort } from '../helpers/ports';
import { sshdMissing, startSshd, type SshServer } from '../helpers/sshd';
import { startTerastation, type TerastationServer } from '../helpers/terastation';

const MAC = '00:1b:21:3a:4f:9c';

async function udpListener(): Promise<{ port: number; packets: Buffer[]; close: () => Promise<void> }> {
  const sock: Socket = createSocket('udp4');
  const packets: Buffer[] = [];
  sock.on('message', (m) => packets.push(m));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { port: sock.address().port, packets, close: () => new Promise((r) => sock.close(() => r())) };
}

/** A TCP port that accepts while the "host" is up. */
async function service(): Promise<{ port: number; down: () => Promise<void> }> {
  const port = await freePort();
  const server: Server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { port, down: () => new Promise((r) => server.close(() => r())) };
}

describe('blackstart wake', () => {
  it('sends the magic packets for a MAC to the given address, with SecureOn', async () => {
    const rx = await udpListener();
    try {
      const run = cli(['wake', MAC, '--address', '127.0.0.1', '--port', String(rx.port), '--repeat', '2', '--password', '1.2.3.4', '--json']);
      expect(await run.code).toBe(0);
      expect(JSON.parse(run.stdout())).toMatchObject({ action: 'wake', ok: true });
      await until(() => rx.packets.length >= 2, 3000, 'two packets');
      const want = encodeMagicPacket(parseMac(MAC), parsePassword('1.2.3.4'));
      // 6 × 0xFF, 16 × the MAC, then the 4-byte password.
      expect(want).toHaveLength(106);
      expect([...want.subarray(102)]).toEqual([1, 2, 3, 4]);
      expect(rx.packets).toEqual([want, want]);
      expect(run.stdout() + run.stderr()).not.toContain('1.2.3.4');
    } finally {
      await rx.close();
    }
  });

  it("wakes a host by its config's wol block, and refuses what is not a MAC", async () => {
    const rx = await udpListener();
    const dir = mkdtempSync(join(tmpdir(), 'bs-wake-'));
    const file = join(dir, 'blackstart.yaml');
    writeFileSync(file, `hosts:\n  nas:\n    wol:\n      mac: ${MAC.toUpperCase()}\n      address: 127.0.0.1\n      port: ${rx.port}\n      spacing: 10ms\n`);
    try {
      const run = cli(['wake', 'nas', '-c', file]);
      expect(await run.code).toBe(0);
      expect(run.stdout()).toMatch(/^wake nas: done/);
      await until(() => rx.packets.length >= 3, 3000, 'three packets');
      expect(rx.packets.every((p) => p.equals(encodeMagicPacket(parseMac(MAC))))).toBe(true);
      const bad = cli(['wake', 'not-a-mac', '--address', '127.0.0.1', '--port', String(rx.port)]);
      expect(await bad.code).not.toBe(0);
      expect(bad.stderr()).toMatch(/not-a-mac/);
      expect(rx.packets).toHaveLength(3);
    } finally {
      await rx.close();
    }
  });
});

describe('blackstart shutdown and probe with the TeraStation recipe', () => {
  let nas: TerastationServer;
  let dir: string;
  beforeAll(async () => {
    nas = await startTerastation({ username: 'admin', password: 'nas-pw-77' });
    dir = mkdtempSync(join(tmpdir(), 'bs-shutdown-'));
  });
  afterAll(async () => {
    await nas?.close();
  });

  const config = (port: number, extra = ''): string => {
    const file = join(dir, `c${port}${extra ? 'x' : ''}.yaml`);
    writeFileSync(
      file,
      `hosts:
  nas:
    address: 127.0.0.1
    probe:
      tcp: [${port}]
      interval: 500ms
      timeout: 200ms
      fail_after: 2
    shutdown:
      verify_within: 20s
      http:
        url: ${nas.url}
        recipe: terastation
        username: admin
        password_env: NAS_PW
${extra}`,
    );
    return file;
  };

  it('probe says whether the host answers, as JSON, and exits 4 when it does not', async () => {
    const svc = await service();
    const file = config(svc.port);
    const up = cli(['probe', 'nas', '-c', file, '--json'], { NAS_PW: 'x' });
    expect(await up.code).toBe(0);
    expect(JSON.parse(up.stdout())).toMatchObject({ reachable: true, phase: 'running', last_error: null });
    await svc.down();
    const down = cli(['probe', 'nas', '-c', file], { NAS_PW: 'x' });
    expect(await down.code).toBe(4);
    expect(down.stdout()).toMatch(/^nas: does not answer/);
  });

  it('a dry run logs in but shuts nothing down', async () => {
    const svc = await service();
    try {
      const run = cli(['shutdown', 'nas', '-c', config(svc.port), '--dry-run', '--json'], { NAS_PW: 'nas-pw-77' });
      expect(await run.code).toBe(0);
      expect(JSON.parse(run.stdout())).toMatchObject({ ok: true, detail: { dry_run: true, method: 'http' } });
      expect(nas.shutdowns).toBe(0);
      expect(run.stdout()).not.toContain('nas-pw-77');
    } finally {
      await svc.down();
    }
  });

  it('a wrong password exits 3 and shuts nothing down', async () => {
    const svc = await service();
    try {
      const run = cli(['shutdown', 'nas', '-c', config(svc.port)], { NAS_PW: 'wrong' });
      expect(await run.code).toBe(3);
      expect(nas.shutdowns).toBe(0);
    } finally {
      await svc.down();
    }
  });

  it('runs the recipe, then waits until the host stops answering, and says so', async () => {
    const svc = await service();
    const run = cli(['shutdown', 'nas', '-c', config(svc.port), '--json'], { NAS_PW: 'nas-pw-77' });
    // The "NAS" goes down once it has received the shutdown form.
    await until(() => nas.shutdowns === 1, 10_000, 'the shutdown form', run);
    await svc.down();
    expect(await run.code).toBe(0);
    const r = JSON.parse(run.stdout()) as { ok: boolean; detail: Record<string, unknown> };
    expect(r).toMatchObject({ ok: true, action: 'shutdown', detail: { method: 'http', verified_by: 'probe', dry_run: false } });
    expect(r.detail.took_ms).toEqual(expect.any(Number));
    expect(nas.lastShutdownForm).toMatchObject({ gPage: 'maintenance', gMode: 'shutdown', gType: 'shutdown' });
  });
});

(sshdMissing() ? describe.skip : describe)('blackstart shutdown over SSH, real sshd', () => {
  let sshd: SshServer;
  let dir: string;
  beforeAll(async () => {
    sshd = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'bs-ssh-cli-'));
  });
  afterAll(async () => {
    await sshd?.stop();
  });
  const config = (name: string, extra: string): string => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      `hosts:
  srv:
    address: 127.0.0.1
${extra}    shutdown:
      verify_within: 2s
      ssh:
        host: 127.0.0.1
        port: ${sshd.port}
        username: ${sshd.username}
        key_file: ${sshd.clientKeyPath}
        host_key: ${sshd.hostKeyFingerprint}
`,
    );
    return file;
  };

  it('runs the default command with key auth (nothing to verify by: says so)', async () => {
    const run = cli(['shutdown', 'srv', '-c', config('plain', ''), '--json']);
    expect(await run.code).toBe(0);
    expect(JSON.parse(run.stdout())).toMatchObject({ ok: true, detail: { method: 'ssh', verified_by: 'none' } });
    expect(sshd.commands().at(-1)).toMatch(/shutdown -h now$/);
  });

  it('a host that keeps answering after the command fails with TIMEOUT (exit 5)', async () => {
    const before = sshd.commands().length;
    const run = cli(['shutdown', 'srv', '-c', config('probed', `    probe:\n      tcp: [${sshd.port}]\n      interval: 500ms\n      timeout: 200ms\n`)]);
    expect(await run.code).toBe(5);
    expect(run.stderr()).toMatch(/still answers after 2000 ms/);
    expect(sshd.commands().length).toBe(before + 1);
  });
});
