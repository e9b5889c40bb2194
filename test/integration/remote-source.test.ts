/**
 * The remote source (what Homebridge and Node-RED use when Blackstart runs elsewhere) against a real
 * startBlackstart with its embedded broker on loopback: retained state arrives, commands get results.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBlackstart, type Blackstart } from '../../src/app';
import { parseConfig } from '../../src/config/loader';
import { silentLogger } from '../../src/core/logger';
import type { HostState } from '../../src/core/state';
import { RemoteSource } from '../../src/remote/remote-source';
import { freePort } from '../helpers/ports';

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('RemoteSource against a running Blackstart (embedded broker)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bs-remote-'));
  let app: Blackstart | undefined;
  let remote: RemoteSource | undefined;
  afterEach(async () => {
    await remote?.stop();
    await app?.stop();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads UPS, host and bridge state, runs commands and sees the bridge go offline', async () => {
    const port = await freePort();
    const { config } = parseConfig(`
mqtt: { embedded: { host: 127.0.0.1, port: ${port} } }
outage: { journal: ${join(dir, 'journal.jsonl')} }
ups:
  rack: { simulated: { interval: 100ms } }
hosts:
  nas: { simulated: { shutdown_takes: 300ms, wake_takes: 300ms } }
  # Only a wake method: power_on is UNSUPPORTED (and nothing is sent anywhere).
  wolbox: { wol: { mac: "02:00:00:00:00:01", address: 127.0.0.1, port: 9 } }
`);
    app = await startBlackstart(config, { log: silentLogger() });
    remote = new RemoteSource({ url: `mqtt://127.0.0.1:${port}`, hosts: ['spare'], commandTimeoutMs: 5000 });
    const onlineChanges: boolean[] = [];
    const hostPhases: string[] = [];
    remote.on('online', (o) => onlineChanges.push(o));
    remote.on('host', (id, s: HostState) => id === 'nas' && hostPhases.push(s.phase));
    const t0 = Date.now();
    await remote.start();
    await until('state', () => remote!.online && remote!.ups('rack')?.status === 'online' && remote!.host('nas')?.phase === 'running');
    console.log(`remote state complete after ${Date.now() - t0} ms`);
    expect(remote.devices()).toEqual(expect.arrayContaining([{ kind: 'ups', id: 'rack', name: 'rack' }, { kind: 'host', id: 'nas', name: 'nas' }, { kind: 'host', id: 'spare', name: 'spare' }]));
    expect(remote.host('spare')).toBeUndefined();
    expect(remote.ups('rack')?.chargePct).toEqual(expect.any(Number));

    const down = await remote.execute('nas', 'shutdown');
    expect(down).toMatchObject({ action: 'shutdown', ok: true });
    expect(down.id).toMatch(/^remote-/);
    await until('nas down', () => remote!.host('nas')?.phase === 'down');
    const up = await remote.execute('nas', 'wake');
    expect(up).toMatchObject({ action: 'wake', ok: true });
    await until('nas running', () => remote!.host('nas')?.phase === 'running');
    expect(hostPhases).toEqual(expect.arrayContaining(['shutting_down', 'down', 'waking', 'running']));

    expect(await remote.execute('ghost', 'wake')).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await remote.execute('wolbox', 'power_on')).toMatchObject({ ok: false, error: { code: 'UNSUPPORTED' } });

    await app.stop();
    app = undefined;
    await until('offline', () => !remote!.online);
    expect(onlineChanges).toEqual([true, false]);
    expect(await remote.execute('nas', 'wake')).toMatchObject({ ok: false, error: { code: 'UNREACHABLE' } });
  }, 30_000);

  it("reads guests' states under their hosts, and runs guest actions answered on the guest's own result topic", async () => {
    const port = await freePort();
    const { config } = parseConfig(`
mqtt: { embedded: { host: 127.0.0.1, port: ${port} } }
outage: { journal: ${join(dir, 'journal-vm.jsonl')} }
hosts:
  hv:
    simulated: {}
    vms:
      simulated: {}
      poll_every: 500ms
      guests:
        db: { name: "Postgres", stop: save, simulated: { stop_takes: 200ms, start_takes: 200ms } }
        idle: { simulated: { running: false } }
`);
    app = await startBlackstart(config, { log: silentLogger() });
    remote = new RemoteSource({ url: `mqtt://127.0.0.1:${port}`, commandTimeoutMs: 5000 });
    const seen: string[] = [];
    remote.on('vm', (host, guest, s) => seen.push(`${host}/${guest}:${s.state}`));
    await remote.start();
    await until('guest state', () => remote!.vm('hv', 'db')?.state === 'running' && remote!.vm('hv', 'idle')?.state === 'off');
    expect(remote.vms()).toEqual(expect.arrayContaining([{ host: 'hv', id: 'db', name: 'Postgres' }, { host: 'hv', id: 'idle', name: 'idle' }]));

    const saved = await remote.executeVm('hv', 'db', 'save');
    expect(saved).toMatchObject({ action: 'save', ok: true, detail: { verified_by: 'hypervisor', state: 'saved' } });
    await until('db saved', () => remote!.vm('hv', 'db')?.state === 'saved');
    expect(await remote.executeVm('hv', 'db', 'start')).toMatchObject({ action: 'start', ok: true });
    await until('db running', () => remote!.vm('hv', 'db')?.state === 'running');
    expect(seen).toEqual(expect.arrayContaining(['hv/db:stopping', 'hv/db:saved', 'hv/db:running']));

    expect(await remote.executeVm('hv', 'ghost', 'start')).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await remote.executeVm('hv', 'Bad Id', 'start')).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    // The host's own commands still go to the host's topic and are answered there.
    expect(await remote.execute('hv', 'shutdown')).toMatchObject({ action: 'shutdown', ok: true });
  }, 30_000);

  it('reads the outage state and events, and runs outage commands answered on outage/result', async () => {
    const port = await freePort();
    const { config } = parseConfig(`
mqtt: { embedded: { host: 127.0.0.1, port: ${port} } }
outage: { journal: ${join(dir, 'journal-outage.jsonl')}, trigger: { on_battery_after: 30s } }
ups:
  rack: { simulated: { interval: 100ms, timeline: [{ at: 300ms, mains: "off" }] } }
hosts:
  nas: { simulated: { shutdown_takes: 300ms, wake_takes: 300ms } }
`);
    app = await startBlackstart(config, { log: silentLogger() });
    remote = new RemoteSource({ url: `mqtt://127.0.0.1:${port}`, commandTimeoutMs: 5000 });
    const phases: string[] = [];
    const events: string[] = [];
    remote.on('outage', (s) => phases.push(s.phase));
    remote.on('event', (e) => events.push(e.type));
    expect(remote.outage()).toBeUndefined();
    await remote.start();
    await until('on battery', () => remote!.outage()?.phase === 'on_battery');
    expect(remote.outage()).toMatchObject({ ups: 'rack', plan: [expect.objectContaining({ host: 'nas', stage: 'shutdown' })] });
    await until('power_lost event', () => events.includes('power_lost'));

    const aborted = await remote.outageCommand('abort');
    expect(aborted).toMatchObject({ action: 'abort', ok: true, id: expect.stringMatching(/^remote-/), detail: { aborted: 'on_battery' } });
    await until('outage_aborted event', () => events.includes('outage_aborted'));
    expect(await remote.outageCommand('explode')).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(phases[0]).toBe('normal');
  }, 30_000);
});
