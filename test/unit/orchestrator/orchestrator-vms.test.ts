/**
 * Guests in an outage, on a virtual clock: a simulated hypervisor host with guests that save,
 * shut down, hang, or were off. Guests stop before their host (in their own depends_on order),
 * a hung one is turned off at its deadline, and after the outage only the guests that ran
 * before (plus `always` ones) start again, after their host.
 */
import { FakeClock } from '../../../src/core/clock';
import { MemoryJournal } from '../../../src/orchestrator/journal';
import { startLab, type Lab } from '../../helpers/sim-lab';

const YAML = `
outage:
  reserve: 1m
  trigger: { on_battery_after: 30s }
  restore: { mains_stable_for: 10s, charge_at_least: 0, boot_within: 2m, retries: 0 }
ups:
  rack:
    simulated:
      runtime_at_full: 30m
      discharge_per_min: 3
      timeline:
        - { at: 10s, mains: "off" }
        - { at: 400s, mains: "on" }
hosts:
  hv1:
    simulated: { shutdown_takes: 10s, wake_takes: 20s }
    vms:
      simulated: {}
      poll_every: 5s
      guests:
        db:   { stop: save, simulated: { stop_takes: 8s, start_takes: 4s } }
        web:  { stop: shutdown, depends_on: [hv1/db], simulated: { stop_takes: 6s, start_takes: 3s } }
        hung: { stop: shutdown, stop_within: 20s, simulated: { ignores_shutdown: true } }
        idle: { simulated: { running: false } }
        batch: { start: none, simulated: { stop_takes: 2s } }
        backup: { start: always, simulated: { running: false, start_takes: 2s } }
  app:
    simulated: { shutdown_takes: 4s, wake_takes: 10s }
    outage: { depends_on: [hv1/web] }
`;

describe('orchestrator with guests', () => {
  let l: Lab | undefined;
  afterEach(async () => {
    await l?.stop();
    l = undefined;
  });

  const vmCmd = (lab: Lab, vm: string, action: string): Lab['vmCommands'][number] => {
    const c = lab.vmCommands.find((x) => x.vm === vm && x.action === action);
    if (!c) throw new Error(`${vm} never received ${action}; got ${JSON.stringify(lab.vmCommands.map((x) => `${x.vm}:${x.action}`))}`);
    return c;
  };
  const vmAt = (lab: Lab, vm: string, action: string): number => vmCmd(lab, vm, action).t / 1000;
  const vmDone = (lab: Lab, vm: string, action: string): number => vmCmd(lab, vm, action).end / 1000;
  const hostAt = (lab: Lab, host: string, action: string): number => {
    const c = lab.commands.find((x) => x.device.id === host && x.action === action);
    if (!c) throw new Error(`${host} never received ${action}`);
    return c.t / 1000;
  };

  it('stops guests before their host in depends_on order, turns a hung guest off at its deadline, and skips guests that were off', async () => {
    l = await startLab(YAML);
    await l.advance(1);
    expect(l.hub.vm('hv1', 'db')?.state).toBe('running');
    expect(l.hub.vm('hv1', 'idle')?.state).toBe('off');
    await l.advance(150);

    // app needs hv1/web: app goes first, then web, then db (web needs db), then the host.
    const app = hostAt(l, 'app', 'shutdown');
    const web = vmAt(l, 'hv1/web', 'shutdown');
    const db = vmAt(l, 'hv1/db', 'save');
    const host = hostAt(l, 'hv1', 'shutdown');
    expect(app).toBeLessThan(web);
    expect(web).toBeLessThan(db);
    expect(db).toBeGreaterThanOrEqual(vmDone(l, 'hv1/web', 'shutdown'));
    expect(db - web).toBeGreaterThanOrEqual(6);
    expect(vmDone(l, 'hv1/db', 'save') - db).toBeGreaterThanOrEqual(8);
    expect(host).toBeGreaterThanOrEqual(vmDone(l, 'hv1/db', 'save'));
    // The hung guest's shutdown is escalated to off at stop_within (20 s), before the host goes.
    const hungOff = vmAt(l, 'hv1/hung', 'off') - vmAt(l, 'hv1/hung', 'shutdown');
    expect(hungOff).toBeGreaterThanOrEqual(20);
    expect(hungOff).toBeLessThan(22);
    const hungStep = l.orchestrator.state.plan.find((s) => s.host === 'hv1/hung');
    expect(host * 1000).toBeGreaterThanOrEqual((hungStep?.finished ?? Infinity) - l.t0);
    const escalation = l.events.find((e) => e.type === 'escalation' && e.vm === 'hung');
    expect(escalation?.host).toBe('hv1');
    // Off before the outage: never commanded, and its step says why.
    expect(l.vmCommands.filter((c) => c.vm === 'hv1/idle' || c.vm === 'hv1/backup')).toEqual([]);
    const plan = l.orchestrator.state.plan;
    expect(plan.find((s) => s.host === 'hv1/idle')).toMatchObject({ state: 'skipped', error: 'already down' });
    expect(plan.find((s) => s.host === 'hv1/db')).toMatchObject({ state: 'done', action: 'save' });
    expect(plan.find((s) => s.host === 'hv1/hung')).toMatchObject({ state: 'done', action: 'off' });
    expect(l.hub.vm('hv1', 'db')?.state).toBe('saved');
    // The journal holds the guest steps under their node ids.
    const js = l.journal.replay();
    expect([...js.runningBefore].sort()).toEqual(['app', 'hv1', 'hv1/batch', 'hv1/db', 'hv1/hung', 'hv1/web']);
    expect(js.commanded.get('hv1/db')).toMatchObject({ action: 'save', done: true, ok: true });
  });

  it('after the outage starts the host first, then only the guests that ran before (and always ones), in dependency order', async () => {
    l = await startLab(YAML);
    await l.advance(600);
    expect(l.orchestrator.state.phase).toBe('normal');
    const hostOn = hostAt(l, 'hv1', 'power_on');
    const db = vmAt(l, 'hv1/db', 'start');
    const web = vmAt(l, 'hv1/web', 'start');
    expect(db).toBeGreaterThan(hostOn);
    // web needs db: it starts once db reads running (start_takes 4 s); app needs web.
    expect(web).toBeGreaterThanOrEqual(vmDone(l, 'hv1/db', 'start'));
    expect(vmDone(l, 'hv1/db', 'start') - db).toBeGreaterThanOrEqual(4);
    expect(hostAt(l, 'app', 'power_on')).toBeGreaterThanOrEqual(vmDone(l, 'hv1/web', 'start'));
    // Ran before: started. start: none: stays off. Was off: stays off. start: always: started.
    for (const g of ['db', 'web', 'hung', 'backup']) expect([g, l.hub.vm('hv1', g)?.state]).toEqual([g, 'running']);
    for (const g of ['idle', 'batch']) expect([g, l.hub.vm('hv1', g)?.state]).toEqual([g, 'off']);
    expect(l.vmCommands.filter((c) => c.action === 'start').map((c) => c.vm).sort()).toEqual(['hv1/backup', 'hv1/db', 'hv1/hung', 'hv1/web']);
    expect(l.events.filter((e) => e.type === 'restore_finished').map((e) => e.detail?.result)).toEqual(['restored']);
  });

  it('resumes from the journal: a guest stop in doubt is watched, not sent again, and turned off at its deadline', async () => {
    const clock = new FakeClock();
    const journal = new MemoryJournal(clock);
    // A controller killed just after sending web's shutdown (which, here, never reached it).
    await journal.append({ kind: 'outage_started', outage_id: 'o1', ups: 'rack', reason: 'test', running_before: ['app', 'hv1', 'hv1/db', 'hv1/web'] });
    await journal.append({ kind: 'phase', outage_id: 'o1', phase: 'shutting_down' });
    await journal.append({ kind: 'step_intent', outage_id: 'o1', host: 'app', action: 'shutdown' });
    await journal.append({ kind: 'step_done', outage_id: 'o1', host: 'app', action: 'shutdown', ok: true, took_ms: 4000 });
    await journal.append({ kind: 'step_intent', outage_id: 'o1', host: 'hv1/web', action: 'shutdown' });
    const yaml = YAML.replace('web:  { stop: shutdown,', 'web:  { stop: shutdown, stop_within: 30s,').replace('{ at: 10s, mains: "off" }', '{ at: 0s, mains: "off" }');
    l = await startLab(yaml, { journal, clock });
    expect(l.orchestrator.state.phase).toBe('shutting_down');
    await l.advance(20);
    expect(l.vmCommands.filter((c) => c.vm === 'hv1/web')).toEqual([]);
    expect(l.hub.vm('hv1', 'web')?.state).toBe('running');
    await l.advance(30);
    // Its deadline counts from the journalled intent: off, never a second shutdown.
    expect(l.vmCommands.filter((c) => c.vm === 'hv1/web').map((c) => c.action)).toEqual(['off']);
    await l.advance(120);
    expect(l.vmCommands.filter((c) => c.vm === 'hv1/db').map((c) => c.action)).toEqual(['save']);
    expect(l.sent('shutdown')).toEqual(['hv1']);
    expect(l.journal.records.filter((r) => r.kind === 'step_done' && r.host === 'hv1/web').map((r) => (r as { action: string }).action)).toEqual(['shutdown', 'off']);
  });

  it('tries to stop a guest its hypervisor cannot account for, reports the failure, and still shuts the host down', async () => {
    const yaml = YAML.replace('      simulated: {}\n      poll_every: 5s', '      simulated: { answers: false }\n      poll_every: 5s');
    l = await startLab(yaml);
    await l.advance(1);
    expect(l.hub.vm('hv1', 'db')).toMatchObject({ state: 'unknown', lastError: expect.stringMatching(/not answering/) });
    await l.advance(150);
    const plan = l.orchestrator.state.plan;
    // Never skipped as "not running": each was tried, failed, and the host went down after them.
    for (const g of ['db', 'web', 'hung', 'idle', 'batch', 'backup']) {
      expect([g, plan.find((s) => s.host === `hv1/${g}`)?.state]).toEqual([g, 'failed']);
    }
    expect(plan.find((s) => s.host === 'hv1')).toMatchObject({ state: 'done' });
    const failed = l.events.filter((e) => e.type === 'vm_stop_failed');
    expect(failed.map((e) => e.vm).sort()).toEqual(['backup', 'batch', 'db', 'hung', 'idle', 'web']);
    for (const e of failed) expect(e.message).toMatch(/not answering \(simulated\.answers is false\)/);
    // The journal does not claim they ran before the outage, so none is started afterwards.
    expect([...l.journal.replay().runningBefore].sort()).toEqual(['app', 'hv1']);
  });

  it('refuses guest commands for unknown guests and actions with ok:false, and carries out known ones', async () => {
    l = await startLab(YAML);
    await l.advance(1);
    const unknown = await l.hub.executeVm('hv1', 'nope', { action: 'start' });
    expect(unknown).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    const noHost = await l.hub.executeVm('zz', 'db', { action: 'start' });
    expect(noHost).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    const bad = await l.hub.executeVm('hv1', 'db', { action: 'explode' });
    expect(bad).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(l.hub.vm('hv1', 'db')?.state).toBe('running');
    const saving = l.hub.executeVm('hv1', 'db', { action: 'save' });
    await l.advance(10);
    expect(await saving).toMatchObject({ ok: true, detail: { verified_by: 'hypervisor', state: 'saved' } });
    expect(l.events.some((e) => e.type === 'vm_stopped' && e.vm === 'db')).toBe(true);
  });
});
