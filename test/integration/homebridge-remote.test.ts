/**
 * The plugin in remote mode: a real `blackstart run` (embedded broker) and a real Homebridge 2, both inside
 * one namespace that has only `lo`. The accessories come from the retained MQTT state; a switch with
 * allow_shutdown really shuts the host down through `…/set`; when the daemon stops they are "not responding".
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessoryName, charId, HAP_TYPES } from '../helpers/hap-http';
import { HomebridgeInNamespace, until } from '../helpers/homebridge-ns';
import { createLoopbackNamespace, deleteNamespace, listNamespaces, netnsUnavailable, spawnNodeIn } from '../helpers/netns';
import { killNow } from '../helpers/process';
import { cliPath } from '../helpers/repo';

const missing = netnsUnavailable('hbr');
if (missing) console.warn(`SKIPPED Homebridge remote-mode test: network namespaces are not available (${missing}); Homebridge is never run in the host namespace`);
const suite = missing ? describe.skip : describe;

/** HAP's "service communication failure": what HomeKit shows as "not responding". */
const NOT_RESPONDING = 'status -70402';

suite('homebridge-blackstart in a real Homebridge 2, remote mode against `blackstart run` (namespace with only lo)', () => {
  const ns = `bs-hbr-${process.pid % 100000}${Math.floor(Math.random() * 1000)}`;
  const dir = mkdtempSync(join(tmpdir(), 'bs-hbr-'));
  let hb: HomebridgeInNamespace;
  let daemon: ChildProcess | undefined;
  const daemonLog: string[] = [];

  function startDaemon(): void {
    daemon = spawnNodeIn(ns, [cliPath(), 'run', '-c', join(dir, 'lab.yaml')]);
    daemon.stdout?.on('data', (d: Buffer) => daemonLog.push(d.toString()));
    daemon.stderr?.on('data', (d: Buffer) => daemonLog.push(d.toString()));
  }

  beforeAll(async () => {
    createLoopbackNamespace(ns);
    writeFileSync(
      join(dir, 'lab.yaml'),
      `
mqtt: { embedded: { host: 127.0.0.1, port: 1883 } }
outage: { journal: ${join(dir, 'journal.jsonl')} }
ups:
  rack: { simulated: { interval: 200ms } }
hosts:
  nas: { simulated: { shutdown_takes: 500ms, wake_takes: 500ms } }
`,
    );
    startDaemon();
    hb = new HomebridgeInNamespace(ns, dir, { mode: 'remote', mqtt: { url: 'mqtt://127.0.0.1:1883' }, hosts: [{ id: 'nas', name: 'Storage', allow_shutdown: true }] });
    await hb.start(3);
  }, 40_000);

  afterAll(async () => {
    await hb?.stop();
    await killNow(daemon);
    deleteNamespace(ns);
    if (process.env.BLACKSTART_HB_LOG) writeFileSync(process.env.BLACKSTART_HB_LOG, `${hb?.log() ?? ''}\n--- daemon ---\n${daemonLog.join('')}`);
    rmSync(dir, { recursive: true, force: true });
    expect(listNamespaces()).not.toContain(ns);
  }, 15_000);

  it('shows what the daemon publishes, and a switch with allow_shutdown shuts the host down and wakes it', async () => {
    expect(hb.accessories.map(accessoryName).sort()).toEqual([expect.stringMatching(/^BlackstartTest/), 'Storage', 'rack']);
    const on = charId(hb.byName('Storage'), HAP_TYPES.switch, HAP_TYPES.on);
    await until('the host running', async () => ((await hb.get(on)) === 1 ? true : undefined), 10_000, () => hb.log());
    expect(await hb.get(charId(hb.byName('rack'), HAP_TYPES.battery, HAP_TYPES.batteryLevel))).toBe(100);

    expect(await hb.put(on, false)).toBe(204);
    await until('shutdown sent', () => (/Storage: shutdown sent to "nas"/.test(hb.log()) ? true : undefined), 10_000, () => hb.log());
    expect(await hb.get(on)).toBe(0);
    // A wake while the shutdown still runs is refused (BUSY); the simulated one takes 500 ms.
    await until('the shutdown over', () => (/"event":"host_shutdown_done","host":"nas"/.test(daemonLog.join('')) ? true : undefined), 10_000, () => daemonLog.join(''));
    expect(await hb.put(on, true)).toBe(204);
    await until('wake sent', () => (/Storage: wake sent to "nas"/.test(hb.log()) ? true : undefined), 10_000, () => hb.log());
    await until('the host running again', async () => ((await hb.get(on)) === 1 ? true : undefined), 10_000, () => hb.log());
  }, 30_000);

  it('is "not responding" while the daemon is gone, and recovers when it is back', async () => {
    const on = charId(hb.byName('Storage'), HAP_TYPES.switch, HAP_TYPES.on);
    const level = charId(hb.byName('rack'), HAP_TYPES.battery, HAP_TYPES.batteryLevel);
    daemon?.kill('SIGTERM');
    await until('not responding', async () => ((await hb.get(on)) === NOT_RESPONDING ? true : undefined), 10_000, () => hb.log());
    expect(await hb.get(level)).toBe(NOT_RESPONDING);
    expect(hb.log()).toMatch(/Blackstart is offline/);
    await new Promise<void>((resolve) => (daemon?.exitCode !== null ? resolve() : daemon.once('exit', () => resolve())));
    startDaemon();
    // The plugin's MQTT client retries with backoff (1 s, then 2 s, ...).
    await until('responding again', async () => ((await hb.get(on)) === 1 ? true : undefined), 15_000, () => hb.log());
    expect(await hb.get(level)).toBe(100);
  }, 30_000);
});
