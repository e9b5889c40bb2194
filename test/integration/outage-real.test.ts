/**
 * A whole outage with real peers on loopback: `blackstart run` follows a real NUT upsd
 * (dummy-ups), shuts hosts down over a real sshd in dependency order, hard powers off through a
 * real ipmi_sim the host that ignores its shutdown, and after mains is back starts them again
 * (IPMI power-on, Wake-on-LAN to a UDP port the test listens on), what others depend on first.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, stopRun, until, type CliRun } from '../helpers/cli-run';
import { ipmiSimMissing, startIpmiSim, type IpmiSim } from '../helpers/ipmi-sim';
import { Watcher, type Received } from '../helpers/mqtt-watch';
import { nutMissing, startNut, type NutServer } from '../helpers/nut';
import { OB, OL, labConfig, labEnv, phasesOf, startLab, type Lab } from '../helpers/outage-lab';
import { freePort, waitForPort } from '../helpers/ports';
import { sshdMissing, startSshd, type SshServer } from '../helpers/sshd';

const missing = nutMissing() ?? sshdMissing() ?? ipmiSimMissing();
if (missing) console.warn(`outage-real: skipped: ${missing}`);

const CHAIN = ['app', 'db', 'storage'];
const ALL = [...CHAIN, 'mail', 'vault'];

(missing ? describe.skip : describe)(`a power outage end to end: NUT, sshd, ipmi_sim, WOL${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let nut: NutServer;
  let sshd: SshServer;
  let sim: IpmiSim;
  let lab: Lab;
  let daemon: CliRun | undefined;
  let watch: Watcher;
  let mqttUrl: string;
  const output = (): string => (daemon ? daemon.stdout() + daemon.stderr() : '');

  const outages = (): Record<string, unknown>[] => watch.messages.filter((m) => m.topic === 'blackstart/outage').map((m) => m.json());
  const lastOutage = (): Record<string, unknown> => outages().at(-1) ?? {};
  const events = (type: string): Record<string, unknown>[] => watch.messages.filter((m) => m.topic === 'blackstart/event' && m.json().type === type).map((m) => m.json());
  const outageIn = (phase: string, timeoutMs: number): Promise<Received> =>
    watch.waitFor((m) => m.topic === 'blackstart/outage' && m.json().phase === phase, timeoutMs, `outage phase ${phase}`).catch((err: Error) => {
      throw new Error(`${err.message}\n--- daemon output (tail):\n${output().slice(-6000)}`);
    });

  beforeAll(async () => {
    [nut, sshd, sim] = await Promise.all([startNut({ ups: { labups: OL } }), startSshd(), startIpmiSim({ power: true })]);
    lab = await startLab(
      [
        { id: 'app', dependsOn: ['db'], wol: true },
        { id: 'db', dependsOn: ['storage'], wol: true },
        { id: 'storage', wol: true },
        { id: 'mail', wol: true },
        { id: 'vault', ignoresShutdown: true, ipmi: sim, outage: ['      escalate_after: 3s'] },
      ],
      sshd,
    );
    const dir = mkdtempSync(join(tmpdir(), 'bs-outage-real-'));
    const mqttPort = await freePort();
    const cfg = join(dir, 'blackstart.yaml');
    writeFileSync(cfg, labConfig({ mqttPort, nut, sshd, lab, journal: join(dir, 'journal.jsonl') }));
    daemon = cli(['run', '-c', cfg, '--log-level', 'debug'], labEnv());
    await waitForPort(mqttPort, 15_000);
    mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
    watch = await Watcher.connect(mqttUrl, {}, ['blackstart/outage', 'blackstart/event', 'blackstart/host/+', 'blackstart/ups/+']);
  }, 30_000);

  afterAll(async () => {
    await watch?.close();
    await stopRun(daemon);
    await lab?.close();
    await Promise.all([nut?.stop(), sshd?.stop(), sim?.stop()]);
  });

  it('sees every host running and the UPS on mains before the cut', async () => {
    for (const id of ALL) {
      await watch.waitForTopic(`blackstart/host/${id}`, (m) => m.json().phase === 'running', 10_000);
    }
    await watch.waitForTopic('blackstart/host/vault', (m) => m.json().power === 'on', 10_000);
    await watch.waitForTopic('blackstart/ups/lab', (m) => m.json().status === 'online', 10_000);
    // The orchestrator's own state, not the hub's initial one (ups null) that the bridge publishes on connect.
    await watch.waitForTopic('blackstart/outage', (m) => m.json().ups === 'lab', 10_000);
    expect(lastOutage()).toMatchObject({ phase: 'normal', ups: 'lab', plan: [] });
  });

  it('on battery: shuts hosts down in dependency order, each once, and powers off the one that ignores it', async () => {
    const t0 = Date.now();
    nut.setVars('labups', OB);
    const down = (await outageIn('down', 30_000)).json();
    const tookMs = Date.now() - t0;

    // Each host got its command exactly once, dependents first.
    const cmds = lab.shutdownCommands();
    expect([...cmds].sort()).toEqual(ALL.map((h) => `shutdown-host ${h}`).sort());
    const at = (h: string): number => cmds.indexOf(`shutdown-host ${h}`);
    expect(at('app')).toBeLessThan(at('db'));
    expect(at('db')).toBeLessThan(at('storage'));
    // ... and a host is commanded only once what needs it has gone.
    expect(lab.first('shutdown_cmd', 'db')).toBeGreaterThanOrEqual(lab.first('down', 'app') as number);
    expect(lab.first('shutdown_cmd', 'storage')).toBeGreaterThanOrEqual(lab.first('down', 'db') as number);

    // vault ignored its shutdown: powered off through ipmi_sim at its 3 s deadline.
    expect(sim.chassisLog()).toContain('set power 0');
    expect(sim.powerState()).toBe('0');
    const sentAt = lab.first('shutdown_cmd', 'vault') as number;
    const offAt = lab.first('power_off', 'vault') as number;
    expect(offAt - sentAt).toBeGreaterThanOrEqual(2500);
    expect(offAt - sentAt).toBeLessThan(6000);
    const esc = events('escalation');
    expect(esc).toHaveLength(1);
    expect(esc[0]).toMatchObject({ type: 'escalation', host: 'vault', detail: { from: 'shutdown', to: 'power_off' } });
    // The others were never forced.
    expect(lab.of('power_off').map((e) => e.host)).toEqual(['vault']);

    // The plan on MQTT shows each host's step.
    const plan = down.plan as Record<string, unknown>[];
    const step = (h: string): Record<string, unknown> | undefined => plan.find((s) => s.host === h && s.stage === 'shutdown');
    for (const h of [...CHAIN, 'mail']) expect(step(h)).toMatchObject({ action: 'shutdown', state: 'done', error: null });
    expect(step('vault')).toMatchObject({ action: 'power_off', state: 'done' });
    expect(step('app')?.wave).toBeLessThan(step('db')?.wave as number);
    expect(step('db')?.wave).toBeLessThan(step('storage')?.wave as number);
    expect(plan.filter((s) => s.stage === 'shutdown')).toHaveLength(ALL.length);
    expect(down).toMatchObject({ ups: 'lab', reason: expect.stringMatching(/battery/) });
    expect(events('shutdown_started')).toHaveLength(1);
    expect(events('shutdown_finished')[0]).toMatchObject({ detail: { failed: [], skipped: [], not_started: [] } });
    expect(tookMs).toBeLessThan(20_000);
  }, 40_000);

  it('mains back: starts hosts again, what others depend on first, by IPMI and Wake-on-LAN', async () => {
    for (const id of ALL) expect(lab.host(id).answering).toBe(false);
    nut.setVars('labups', OL);
    await outageIn('restoring', 15_000);
    const over = (await watch.waitFor((m) => m.topic === 'blackstart/outage' && m.json().phase === 'normal' && watch.messages.indexOf(m) > watch.messages.findIndex((x) => x.topic === 'blackstart/outage' && x.json().phase === 'restoring'), 30_000, 'normal after restoring')).json();

    for (const id of ALL) expect(lab.host(id).answering).toBe(true);
    // vault by its BMC, the others by their magic packets, each started once.
    expect(sim.chassisLog().filter((l) => l === 'set power 1')).toHaveLength(1);
    expect(lab.of('power_on').map((e) => e.host)).toEqual(['vault']);
    expect([...new Set(lab.of('wol').map((e) => e.host))].sort()).toEqual([...CHAIN, 'mail'].sort());
    // storage answers before db is woken, db before app.
    const wol = (h: string): number => lab.first('wol', h) as number;
    const upAfterWol = (h: string): number => lab.events.find((e) => e.host === h && e.what === 'up' && e.at >= wol(h))?.at as number;
    expect(wol('db')).toBeGreaterThanOrEqual(upAfterWol('storage'));
    expect(wol('app')).toBeGreaterThanOrEqual(upAfterWol('db'));

    // The gate: nothing started before mains had been back for mains_stable_for (1 s).
    const back = Date.parse(String(events('power_restored')[0]?.at));
    const began = Date.parse(String(events('restore_started')[0]?.at));
    expect(began - back).toBeGreaterThanOrEqual(1000);
    expect(Math.min(...lab.of('wol').map((e) => e.at), ...lab.of('power_on').map((e) => e.at))).toBeGreaterThanOrEqual(back + 1000);

    const restored = events('restore_finished');
    expect(restored).toHaveLength(1);
    expect(restored[0]).toMatchObject({ detail: { result: 'restored', failed: [] } });
    expect((restored[0]?.detail as { done: string[] }).done.sort()).toEqual([...ALL].sort());
    // Once over, the state is that of a quiet day again, not the last outage's leftovers.
    expect(over).toMatchObject({ phase: 'normal', id: null, reason: null, started: null, deadline: null, plan: [] });

    // The restore steps as the plan showed them while restoring.
    const lastRestoring = outages().filter((o) => o.phase === 'restoring').at(-1) as Record<string, unknown>;
    const rsteps = (lastRestoring.plan as Record<string, unknown>[]).filter((s) => s.stage === 'restore');
    expect(rsteps.map((s) => s.host).sort()).toEqual([...ALL].sort());
    const rstep = (h: string): Record<string, unknown> => rsteps.find((s) => s.host === h) as Record<string, unknown>;
    expect(rstep('vault')).toMatchObject({ action: 'power_on' });
    for (const h of [...CHAIN, 'mail']) expect(rstep(h)).toMatchObject({ action: 'wake' });
    expect(rstep('storage').wave).toBeLessThan(rstep('db').wave as number);
    expect(rstep('db').wave).toBeLessThan(rstep('app').wave as number);
    // Every host stays up after the restore.
    await until(() => ALL.every((h) => watch.messages.filter((m) => m.topic === `blackstart/host/${h}`).at(-1)?.json().phase === 'running'), 5000, 'all hosts running on MQTT');
  }, 45_000);

  it('the retained outage state went on_battery → shutting_down → down → restoring → normal, with no secret shown', async () => {
    const phases = phasesOf(outages() as { phase: unknown }[]);
    expect(phases[0]).toBe('normal');
    expect(phases.slice(1)).toEqual(['on_battery', 'shutting_down', 'down', 'restoring', 'normal']);
    // No shutdown command left twice, nothing else was forced.
    expect(lab.shutdownCommands()).toHaveLength(ALL.length);
    expect(sim.chassisLog().filter((l) => l === 'set power 0')).toHaveLength(1);
    const secrets = Object.values(labEnv()) as string[];
    for (const secret of secrets) expect(output() + watch.messages.map((m) => m.text).join('\n')).not.toContain(secret);
    // A newcomer is handed the final state as a retained message.
    const late = await Watcher.connect(mqttUrl, {}, ['blackstart/outage']);
    try {
      const m = await late.waitForTopic('blackstart/outage');
      expect(m.retain).toBe(true);
      expect(m.json()).toMatchObject({ phase: 'normal', ups: 'lab' });
    } finally {
      await late.close();
    }
  });
});
