/**
 * A controller killed (SIGKILL) in the middle of a shutdown plan and started again with the same
 * config and journal, against real peers on loopback (NUT upsd, sshd, Wake-on-LAN listeners):
 * no host is commanded twice, the plan completes, and after mains is back exactly the hosts that
 * were running before the outage are started again.
 */
import { readdirSync, readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseJournal, readJournal, type JournalRecord, type JournalState } from '../../src/orchestrator/journal';
import { cli, stopRun, until, type CliRun } from '../helpers/cli-run';
import { ipmiSimMissing, startIpmiSim, type IpmiSim } from '../helpers/ipmi-sim';
import { Watcher, type Received } from '../helpers/mqtt-watch';
import { nutMissing, startNut, type NutServer } from '../helpers/nut';
import { LB, OL, labConfig, labEnv, phasesOf, startLab, type Lab } from '../helpers/outage-lab';
import { freePort, waitForPort } from '../helpers/ports';
import { killNow } from '../helpers/process';
import { sshdMissing, startSshd, type SshServer } from '../helpers/sshd';

const missing = nutMissing() ?? sshdMissing() ?? ipmiSimMissing();
if (missing) console.warn(`outage-crash: skipped: ${missing}`);

/** Running before the outage; `old` was already off and must stay off. */
const RUNNING = ['app', 'db', 'storage', 'mail', 'vault'];
const WAVE0 = ['app', 'mail', 'vault'];
const WOL = RUNNING.filter((h) => h !== 'vault');

(missing ? describe.skip : describe)(`a controller killed mid-shutdown resumes from its journal${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let nut: NutServer;
  let sshd: SshServer;
  let sim: IpmiSim;
  let lab: Lab;
  let dir: string;
  let cfg: string;
  let journal: string;
  let mqttUrl: string;
  let mqttPort: number;
  const runs: CliRun[] = [];
  const watchers: Watcher[] = [];
  let outageId: unknown;
  const output = (): string => runs.map((r, i) => `--- run ${i + 1}:\n${(r.stdout() + r.stderr()).slice(-5000)}`).join('\n');

  const startDaemon = async (): Promise<{ run: CliRun; watch: Watcher }> => {
    const run = cli(['run', '-c', cfg, '--log-level', 'debug'], labEnv());
    runs.push(run);
    await waitForPort(mqttPort, 15_000);
    const watch = await Watcher.connect(mqttUrl, {}, ['blackstart/outage', 'blackstart/event', 'blackstart/host/+']);
    watchers.push(watch);
    return { run, watch };
  };
  const outageIn = (watch: Watcher, phase: string, timeoutMs: number, from = 0): Promise<Received> =>
    watch.waitFor((m) => watch.messages.indexOf(m) >= from && m.topic === 'blackstart/outage' && m.json().phase === phase, timeoutMs, `outage phase ${phase}`).catch((err: Error) => {
      throw new Error(`${err.message}\n${output()}`);
    });
  const records = (file: string): JournalRecord[] => parseJournal(readFileSync(file), file).records;

  beforeAll(async () => {
    [nut, sshd, sim] = await Promise.all([startNut({ ups: { labups: OL } }), startSshd(), startIpmiSim({ power: true })]);
    lab = await startLab(
      [
        // app's OS takes a while to go down, so the controller dies while its shutdown is in doubt.
        { id: 'app', dependsOn: ['db'], wol: true, downAfterMs: 1500 },
        { id: 'db', dependsOn: ['storage'], wol: true },
        { id: 'storage', wol: true },
        { id: 'mail', wol: true },
        { id: 'old', wol: true, startsDown: true },
        // Ignores its shutdown: its 3 s deadline falls around the restart, and only its BMC brings it down.
        { id: 'vault', ignoresShutdown: true, ipmi: sim, outage: ['      escalate_after: 3s'] },
      ],
      sshd,
    );
    dir = mkdtempSync(join(tmpdir(), 'bs-outage-crash-'));
    journal = join(dir, 'journal.jsonl');
    mqttPort = await freePort();
    mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
    cfg = join(dir, 'blackstart.yaml');
    // The low-battery trigger fires on the first reading that says so: also the first reading after a restart.
    writeFileSync(cfg, labConfig({ mqttPort, nut, sshd, lab, journal, trigger: ['    low_battery: true'] }));
  }, 30_000);

  afterAll(async () => {
    for (const w of watchers) await w.close().catch(() => undefined);
    for (const r of runs) await stopRun(r);
    await lab?.close();
    await Promise.all([nut?.stop(), sshd?.stop(), sim?.stop()]);
  });

  it('is killed after the first shutdown command left and before the last', async () => {
    const { run, watch } = await startDaemon();
    for (const id of RUNNING) await watch.waitForTopic(`blackstart/host/${id}`, (m) => m.json().phase === 'running', 10_000);
    await watch.waitForTopic('blackstart/host/old', (m) => m.json().phase === 'unreachable' && m.json().reachable === false, 10_000);
    await watch.waitForTopic('blackstart/outage', (m) => m.json().phase === 'normal' && m.json().ups === 'lab', 10_000);

    nut.setVars('labups', LB);
    outageId = (await outageIn(watch, 'shutting_down', 15_000)).json().id;
    expect(outageId).toEqual(expect.any(String));

    // Kill once every intent in the journal has reached the sshd: wave 0 is app, mail and vault.
    let before: JournalState | undefined;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const j = await readJournal(journal);
      const sent = lab.shutdownCommands();
      if (WAVE0.every((h) => j.commanded.has(h)) && [...j.commanded.keys()].every((h) => sent.includes(`shutdown-host ${h}`))) {
        await killNow(run.proc);
        before = await readJournal(journal);
        break;
      }
      if (Date.now() > deadline) throw new Error(`wave 0 never went out; sshd saw ${JSON.stringify(sent)}\n${output()}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(run.proc.signalCode).toBe('SIGKILL');
    expect(lab.shutdownCommands().sort()).toEqual(WAVE0.map((h) => `shutdown-host ${h}`).sort());
    expect(sim.chassisLog()).not.toContain('set power 0');
    // app's shutdown was sent but not yet seen to finish: in doubt, exactly what a restart must not resend.
    expect(before?.active).toBe(true);
    expect(before?.phase).toBe('shutting_down');
    expect(before?.uncertain().map((u) => `${u.stage}:${u.host}:${u.action}`)).toContain('shutdown:app:shutdown');
    expect([...(before?.runningBefore ?? [])].sort()).toEqual([...RUNNING].sort());
    expect(lab.host('app').answering).toBe(true);
  }, 40_000);

  it('started again with the same journal, finishes the plan without commanding anyone twice', async () => {
    const { run, watch } = await startDaemon();
    const down = (await outageIn(watch, 'down', 30_000)).json();
    expect(down.id).toBe(outageId);

    const cmds = lab.shutdownCommands();
    expect([...cmds].sort()).toEqual(RUNNING.map((h) => `shutdown-host ${h}`).sort());
    expect(new Set(cmds).size).toBe(cmds.length);
    const at = (h: string): number => cmds.indexOf(`shutdown-host ${h}`);
    expect(at('app')).toBeLessThan(at('db'));
    expect(at('db')).toBeLessThan(at('storage'));
    // db was commanded only after app really went down, which happened while the first run was dead or after.
    expect(lab.first('shutdown_cmd', 'db')).toBeGreaterThanOrEqual(lab.first('down', 'app') as number);
    expect(run.stdout() + run.stderr()).toMatch(/resuming an outage from the journal/);
    // The same outage went on: no second one was started on the first low-battery reading after the restart.
    expect(watch.messages.filter((m) => m.topic === 'blackstart/event' && m.json().type === 'shutdown_started')).toEqual([]);
    const resumed = phasesOf(watch.messages.filter((m) => m.topic === 'blackstart/outage').map((m) => m.json() as { phase: unknown }));
    // A leading `normal` is the hub's initial state, which the bridge publishes on connect before the journal is read.
    expect(resumed[0] === 'normal' ? resumed.slice(1) : resumed).toEqual(['shutting_down', 'down']);
    expect(run.stdout() + run.stderr()).toMatch(/"host":"app".*watching, not resending/);

    const plan = down.plan as Record<string, unknown>[];
    const step = (h: string): Record<string, unknown> | undefined => plan.find((s) => s.host === h && s.stage === 'shutdown');
    for (const h of WOL) expect(step(h)).toMatchObject({ state: 'done', action: 'shutdown' });
    expect(step('vault')).toMatchObject({ state: 'done', action: 'power_off' });
    // vault's deadline was kept across the restart: forced once, by the BMC.
    expect(sim.chassisLog().filter((l) => l === 'set power 0')).toHaveLength(1);
    expect(lab.of('power_off').map((e) => e.host)).toEqual(['vault']);
    expect(lab.first('power_off', 'vault')).toBeGreaterThanOrEqual((lab.first('shutdown_cmd', 'vault') as number) + 2500);
    const esc = watch.messages.filter((m) => m.topic === 'blackstart/event' && m.json().type === 'escalation').map((m) => m.json());
    expect(esc).toMatchObject([{ host: 'vault', detail: { from: 'shutdown', to: 'power_off' } }]);
    expect(step('old')).toMatchObject({ state: 'skipped' });
    // The lab follows the BMC's log on its own timer: give it a moment to close vault's listener.
    await until(() => [...RUNNING, 'old'].every((id) => !lab.host(id).answering), 2000, 'every host to have stopped answering');

    const j = await readJournal(journal);
    expect(j.active).toBe(true);
    expect(j.phase).toBe('down');
    expect(j.uncertain()).toEqual([]);
    expect(records(journal).filter((r) => r.kind === 'outage_started')).toHaveLength(1);
    expect([...j.commanded.keys()].sort()).toEqual([...RUNNING].sort());
    for (const h of WOL) expect(j.commanded.get(h)).toMatchObject({ action: 'shutdown', done: true, ok: true });
    expect(j.commanded.get('vault')).toMatchObject({ action: 'power_off', done: true, ok: true });
    const intents = records(journal).filter((r) => r.kind === 'step_intent').map((r) => `${(r as { host: string }).host}:${(r as { action: string }).action}`);
    expect(intents.sort()).toEqual([...RUNNING.map((h) => `${h}:shutdown`), 'vault:power_off'].sort());
  }, 40_000);

  it('after mains is back, starts exactly the hosts that were running before, and not the one that was off', async () => {
    const watch = watchers.at(-1) as Watcher;
    const from = watch.messages.length;
    nut.setVars('labups', OL);
    await outageIn(watch, 'restoring', 15_000, from);
    const over = (await outageIn(watch, 'normal', 30_000, from)).json();
    expect(over).toMatchObject({ phase: 'normal', id: null });

    for (const h of RUNNING) expect(lab.host(h).answering).toBe(true);
    expect(lab.host('old').answering).toBe(false);
    expect(lab.of('wol', 'old')).toEqual([]);
    expect([...new Set(lab.of('wol').map((e) => e.host))].sort()).toEqual([...WOL].sort());
    expect(sim.chassisLog().filter((l) => l === 'set power 1')).toHaveLength(1);
    const wol = (h: string): number => lab.first('wol', h) as number;
    const upAfterWol = (h: string): number => lab.events.find((e) => e.host === h && e.what === 'up' && e.at >= wol(h))?.at as number;
    expect(wol('db')).toBeGreaterThanOrEqual(upAfterWol('storage'));
    expect(wol('app')).toBeGreaterThanOrEqual(upAfterWol('db'));
    const finished = watch.messages.filter((m) => m.topic === 'blackstart/event' && m.json().type === 'restore_finished').map((m) => m.json());
    expect(finished).toHaveLength(1);
    expect(finished[0]).toMatchObject({ detail: { result: 'restored', failed: [] } });
    expect(((finished[0]?.detail as { done: string[] }).done).sort()).toEqual([...RUNNING].sort());
    const since = phasesOf(watch.messages.slice(from).filter((m) => m.topic === 'blackstart/outage').map((m) => m.json() as { phase: unknown }));
    expect(since[0] === 'down' ? since.slice(1) : since).toEqual(['restoring', 'normal']);

    // The ended outage's journal says the same: each host commanded once each way, all back.
    await until(() => readdirSync(dir).some((n) => n.startsWith('journal.jsonl.ended-')), 5000, 'the journal to be rotated');
    const ended = join(dir, readdirSync(dir).find((n) => n.startsWith('journal.jsonl.ended-')) as string);
    const j = await readJournal(ended);
    expect(j.outageId).toBe(outageId);
    expect(j.active).toBe(false);
    expect(j.result).toBe('restored');
    expect([...j.runningBefore].sort()).toEqual([...RUNNING].sort());
    expect([...j.restored].sort()).toEqual([...RUNNING].sort());
    expect(j.uncertain()).toEqual([]);
    const recs = records(ended);
    const hostsOf = (kind: JournalRecord['kind']): string[] => recs.filter((r) => r.kind === kind).map((r) => (r as { host: string }).host).sort();
    expect(hostsOf('step_intent')).toEqual([...RUNNING, 'vault'].sort());
    expect(hostsOf('restore_step_intent')).toEqual([...RUNNING].sort());
    expect(recs.filter((r) => r.kind === 'outage_started')).toHaveLength(1);
    expect((await readJournal(journal)).active).toBe(false);
  }, 45_000);
});
