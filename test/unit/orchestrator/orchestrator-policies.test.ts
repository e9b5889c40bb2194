/**
 * The orchestrator's policies on a virtual clock: a simulated UPS and simulated servers in a
 * real hub, the real planner, runner and restore, an in-memory journal.
 */
import { MemoryJournal } from '../../../src/orchestrator/journal';
import type { HostServices } from '../../../src/orchestrator/restore-run';
import { FakeClock } from '../../../src/core/clock';
import { buildHub } from '../../../src/adapters/registry';
import { parseConfig } from '../../../src/config/loader';
import { Orchestrator } from '../../../src/orchestrator/orchestrator';
import { hostPolicies } from '../../../src/orchestrator/nodes';
import type { OutageState } from '../../../src/core/state';
import { startLab, type Lab } from '../../helpers/sim-lab';

/** A lab config: the UPS block's timeline and the outage section are what each test varies. */
function lab(opts: { outage?: string; timeline: string; hosts?: string; ups?: string }): string {
  return `
outage:
  reserve: 1m
${(opts.outage ?? '  trigger: { on_battery_after: 30s }\n  restore: { mains_stable_for: 10s, charge_at_least: 0, boot_within: 2m }').replace(/^/gm, '')}
ups:
  rack:
    simulated:
      runtime_at_full: 30m
      discharge_per_min: 3
${opts.ups ?? ''}
      timeline:
${opts.timeline}
hosts:
${
  opts.hosts ??
  `  gateway:
    simulated: { shutdown_takes: 3s, wake_takes: 8s }
  nas:
    simulated: { shutdown_takes: 12s, wake_takes: 40s }
    outage: { depends_on: [gateway] }
  mail:
    simulated: { shutdown_takes: 6s, wake_takes: 25s }
    outage: { depends_on: [nas] }`
}
`;
}

const at = (lab: Lab, host: string, action: string): number => {
  const c = lab.commands.find((x) => x.device.id === host && x.action === action);
  if (!c) throw new Error(`${host} never received ${action}; got ${JSON.stringify(lab.commands.map((x) => `${x.device.id}:${x.action}`))}`);
  return c.t / 1000;
};

describe('orchestrator policies', () => {
  let l: Lab | undefined;
  afterEach(async () => {
    await l?.stop();
    l = undefined;
  });

  it('runs independent branches in parallel: a host starts as soon as its own dependents are down', async () => {
    l = await startLab(
      lab({
        timeline: '        - { at: 10s, mains: "off" }',
        hosts: `  storage:
    simulated: { shutdown_takes: 5s }
  db:
    simulated: { shutdown_takes: 20s }
    outage: { depends_on: [storage] }
  web:
    simulated: { shutdown_takes: 2s }
    outage: { depends_on: [storage] }
  printer:
    simulated: { shutdown_takes: 2s }`,
      }),
    );
    await l.advance(100);
    // db, web and printer start together when the trigger fires at 40 s; storage waits for db.
    expect(at(l, 'db', 'shutdown')).toBeCloseTo(at(l, 'web', 'shutdown'), 0);
    expect(at(l, 'printer', 'shutdown')).toBeCloseTo(at(l, 'db', 'shutdown'), 0);
    expect(at(l, 'storage', 'shutdown') - at(l, 'db', 'shutdown')).toBeGreaterThanOrEqual(20);
    expect(at(l, 'storage', 'shutdown') - at(l, 'db', 'shutdown')).toBeLessThan(22);
    const plan = l.orchestrator.state.plan;
    expect(plan.map((s) => [s.host, s.state])).toEqual(expect.arrayContaining([['storage', 'done'], ['db', 'done'], ['web', 'done'], ['printer', 'done']]));
  });

  it('the controller goes last, after the UPS has been told to power off when ups_off is set', async () => {
    l = await startLab(
      lab({
        outage: '  trigger: { on_battery_after: 5s }\n  ups_off: { action: shutdown.return, after: 2s }',
        timeline: '        - { at: 10s, mains: "off" }',
        hosts: `  ctl:
    simulated: { shutdown_takes: 3s }
    outage: { controller: true }
  a:
    simulated: { shutdown_takes: 4s }
  b:
    simulated: { shutdown_takes: 1s }`,
      }),
    );
    await l.advance(60);
    const order = l.commands.map((c) => `${c.device.kind}:${c.device.id}:${c.action}`);
    const ctl = order.indexOf('host:ctl:shutdown');
    expect(ctl).toBeGreaterThan(order.indexOf('host:a:shutdown'));
    expect(ctl).toBeGreaterThan(order.indexOf('ups:rack:shutdown.return'));
    // The simulated UPS takes no commands: the failure is reported, and the controller still goes down.
    expect(l.events.find((e) => e.type === 'ups_off_sent')?.detail).toEqual({ action: 'shutdown.return', ok: false });
    expect(at(l, 'ctl', 'shutdown') - at(l, 'a', 'shutdown')).toBeGreaterThanOrEqual(4 + 2);
  });

  it('runs the final steps (FSD for secondaries) after the other hosts, before ups_off and the controller', async () => {
    l = await startLab(
      lab({
        outage: '  trigger: { on_battery_after: 5s }\n  ups_off: { action: fsd, after: 1s }',
        timeline: '        - { at: 10s, mains: "off" }',
        hosts: `  ctl:
    simulated: { shutdown_takes: 3s }
    outage: { controller: true }
  a:
    simulated: { shutdown_takes: 4s }`,
      }),
    );
    const order: string[] = [];
    const lab0 = l;
    l.hub.on('result', (d, r) => order.push(`${d.kind}:${d.id}:${r.action}@${(lab0.clock.now() - lab0.t0) / 1000}`));
    l.orchestrator.addFinalStep({
      name: 'nut-fsd',
      run: async () => {
        order.push(`final:start@${(lab0.clock.now() - lab0.t0) / 1000}`);
        await new Promise<void>((resolve) => lab0.clock.setTimeout(resolve, 5000));
        order.push(`final:end@${(lab0.clock.now() - lab0.t0) / 1000}`);
      },
    });
    l.orchestrator.addFinalStep({ name: 'broken', run: () => Promise.reject(new Error('no secondaries')) });
    await l.advance(60);
    const names = order.map((o) => o.replace(/@.*/, ''));
    expect(names.slice(0, 5)).toEqual(['host:a:shutdown', 'final:start', 'final:end', 'ups:rack:fsd', 'host:ctl:shutdown']);
    const t = (name: string): number => Number(order.find((o) => o.startsWith(name))?.split('@')[1]);
    // a: 15 s → down at 19 s; the final step takes 5 s; ups_off waits its 1 s.
    expect(t('final:start')).toBe(19);
    expect(t('ups:rack:fsd')).toBe(25);
  });

  it('escalates a host that ignores its shutdown to a hard power-off at its deadline, and carries on', async () => {
    l = await startLab(
      lab({
        timeline: '        - { at: 10s, mains: "off" }',
        hosts: `  hung:
    simulated: { ignores_shutdown: true }
    outage: { shutdown_takes: 5s, escalate_after: 20s, depends_on: [nas] }
  nas:
    simulated: { shutdown_takes: 2s }`,
      }),
    );
    await l.advance(45);
    expect(l.sent('shutdown')).toEqual(['hung']);
    expect(l.sent('power_off')).toEqual([]);
    await l.advance(20);
    expect(l.sent('power_off')).toEqual(['hung']);
    expect(at(l, 'hung', 'power_off') - at(l, 'hung', 'shutdown')).toBeCloseTo(20, 0);
    expect(l.events.find((e) => e.type === 'escalation')).toMatchObject({ host: 'hung', detail: { from: 'shutdown', to: 'power_off' } });
    expect(l.sent('shutdown')).toEqual(['hung', 'nas']);
    const kinds = l.journal.records.filter((r) => 'host' in r && r.host === 'hung').map((r) => `${r.kind}:${'action' in r ? r.action : ''}:${'ok' in r ? r.ok : ''}`);
    expect(kinds).toEqual(['step_intent:shutdown:', 'step_done:shutdown:false', 'step_intent:power_off:', 'step_done:power_off:true']);
  });

  it('a host with no BMC that never goes down fails at its deadline; the plan carries on and reports it', async () => {
    l = await startLab(
      lab({
        timeline: '        - { at: 10s, mains: "off" }',
        hosts: `  hung:
    simulated: { ignores_shutdown: true }
    outage: { escalate_after: 10s, depends_on: [nas] }
  nas:
    simulated: { shutdown_takes: 2s }`,
      }),
    );
    // Only a shutdown method: no power_off to escalate to.
    const caps = l.hub.capabilities.bind(l.hub);
    jest.spyOn(l.hub, 'capabilities').mockImplementation((kind, id) => (id === 'hung' ? caps(kind, id).filter((c) => c !== 'power_off') : caps(kind, id)));
    await l.advance(80);
    expect(l.sent('power_off')).toEqual([]);
    expect(l.events.find((e) => e.type === 'host_shutdown_failed' && e.host === 'hung')?.message).toMatch(/no BMC/);
    expect(l.sent('shutdown')).toEqual(['hung', 'nas']);
    expect(l.orchestrator.state.plan.find((s) => s.host === 'hung')).toMatchObject({ state: 'failed' });
    expect(l.events.find((e) => e.type === 'shutdown_finished')?.detail).toMatchObject({ failed: ['hung'], done: ['nas'] });
  });

  it('over budget: warns when power is lost and the plan trigger starts the shutdown at once', async () => {
    l = await startLab(
      lab({
        outage: '  trigger: { plan: true, on_battery_after: 10m }',
        ups: '      charge_pct: 10',
        timeline: '        - { at: 10s, mains: "off" }',
        hosts: `  big:
    simulated: { shutdown_takes: 3m }
    outage: { shutdown_takes: 3m }`,
      }),
    );
    // 10 % of 30 min = 180 s of runtime; the plan needs 180 s plus a 60 s reserve.
    await l.advance(12);
    expect(l.events.find((e) => e.type === 'plan_over_budget')?.message).toMatch(/over budget/);
    expect(l.sent('shutdown')).toEqual(['big']);
    expect(l.events.find((e) => e.type === 'shutdown_started')?.detail).toMatchObject({ trigger: 'plan' });
  });

  it('the plan trigger waits while the plan fits and fires when runtime − reserve reaches the critical path', async () => {
    l = await startLab(
      lab({
        outage: '  trigger: { plan: true }',
        ups: '      charge_pct: 20',
        timeline: '        - { at: 10s, mains: "off" }',
        hosts: `  big:
    simulated: { shutdown_takes: 2m }
    outage: { shutdown_takes: 2m }`,
      }),
    );
    // 20 % of 30 min = 360 s; fires when runtime ≤ 60 s reserve + 120 s: after 180 s at 3 %/min discharge = 6 min/…
    await l.advance(60);
    expect(l.sent('shutdown')).toEqual([]);
    for (let i = 0; i < 400 && l.sent('shutdown').length === 0; i++) await l.advance(1);
    const fired = at(l, 'big', 'shutdown');
    const ups = l.hub.ups('rack');
    expect(ups?.runtimeS).toBeLessThanOrEqual(181);
    expect(ups?.runtimeS).toBeGreaterThan(170);
    expect(fired).toBeGreaterThan(60);
  });

  it('runtime dropping faster than planned: over-budget event and overdue hosts are powered off early', async () => {
    l = await startLab(
      lab({
        outage: '  trigger: { on_battery_after: 5s }',
        timeline: '        - { at: 10s, mains: "off" }\n        - { at: 40s, charge_pct: 4 }',
        hosts: `  slow:
    simulated: { ignores_shutdown: true }
    outage: { shutdown_takes: 10s, escalate_after: 10m }`,
      }),
    );
    await l.advance(30);
    expect(l.sent('shutdown')).toEqual(['slow']);
    expect(l.sent('power_off')).toEqual([]);
    // The battery suddenly reads 4 % (72 s of runtime) with the 60 s reserve: the 10 m deadline is out of reach.
    await l.advance(15);
    expect(l.events.map((e) => e.type)).toContain('plan_over_budget');
    expect(l.sent('power_off')).toEqual(['slow']);
  });

  it('power back mid-shutdown with on_power_back: stop leaves hosts not yet started running, then restores the others', async () => {
    l = await startLab(
      lab({
        timeline: '        - { at: 10s, mains: "off" }\n        - { at: 45s, mains: "on" }',
      }),
    );
    await l.advance(44);
    expect(l.sent('shutdown')).toEqual(['mail']);
    await l.advance(60);
    expect(l.sent('shutdown')).toEqual(['mail']);
    expect(l.hub.host('nas')?.phase).toBe('running');
    expect(l.hub.host('gateway')?.phase).toBe('running');
    await l.advance(60);
    expect(l.sent('power_on')).toEqual(['mail']);
    expect(l.orchestrator.state.phase).toBe('normal');
    expect(l.hub.host('mail')?.phase).toBe('running');
  });

  it('power back mid-shutdown with on_power_back: finish completes the plan before restoring', async () => {
    l = await startLab(
      lab({
        outage: '  trigger: { on_battery_after: 30s }\n  on_power_back: finish\n  restore: { mains_stable_for: 10s, charge_at_least: 0 }',
        timeline: '        - { at: 10s, mains: "off" }\n        - { at: 45s, mains: "on" }',
      }),
    );
    await l.advance(200);
    expect(l.sent('shutdown')).toEqual(['mail', 'nas', 'gateway']);
    expect(l.sent('power_on')).toEqual(['gateway', 'nas', 'mail']);
  });

  it('a blip shorter than the trigger commands nothing and leaves no outage open', async () => {
    l = await startLab(lab({ timeline: '        - { at: 10s, mains: "off" }\n        - { at: 20s, mains: "on" }' }));
    await l.advance(120);
    expect(l.commands.filter((c) => c.device.kind === 'host')).toEqual([]);
    expect(l.orchestrator.state.phase).toBe('normal');
    expect(l.journal.records).toEqual([]);
  });

  it('waits for mains to be stable and the charge to reach the gate before restoring', async () => {
    l = await startLab(
      lab({
        outage: '  trigger: { on_battery_after: 5s }\n  restore: { mains_stable_for: 30s, charge_at_least: 50 }',
        ups: '      charge_pct: 60\n      recharge_per_min: 10',
        timeline: '        - { at: 10s, mains: "off" }\n        - { at: 200s, mains: "on" }',
      }),
    );
    await l.advance(200);
    expect(l.orchestrator.state.phase).toBe('down');
    // Charge fell below 50 % on battery (60 − 3 %/min × 3 min ≈ 51 … below after the flicker); 30 s stable is needed too.
    await l.advance(25);
    expect(l.sent('power_on')).toEqual([]);
    for (let i = 0; i < 300 && l.sent('power_on').length === 0; i++) await l.advance(1);
    const first = at(l, 'gateway', 'power_on');
    expect(first).toBeGreaterThanOrEqual(230);
    expect((l.hub.ups('rack')?.chargePct ?? 0) >= 50).toBe(true);
  });

  it('mains failing again during the restore goes back to the shutdown plan, and everything comes back in the end', async () => {
    l = await startLab(
      lab({
        outage: '  trigger: { on_battery_after: 5s }\n  restore: { mains_stable_for: 5s, charge_at_least: 0, boot_within: 2m }',
        timeline: ['        - { at: 10s, mains: "off" }', '        - { at: 60s, mains: "on" }', '        - { at: 80s, mains: "off" }', '        - { at: 200s, mains: "on" }'].join('\n'),
      }),
    );
    await l.advance(70);
    expect(l.orchestrator.state.phase).toBe('restoring');
    expect(l.sent('power_on')).toEqual(['gateway']);
    await l.advance(13);
    expect(l.orchestrator.state.phase).toBe('on_battery');
    await l.advance(406);
    expect(l.orchestrator.state.phase).toBe('normal');
    for (const h of ['gateway', 'nas', 'mail']) expect(l.hub.host(h)?.phase).toBe('running');
    // The gateway came up during the first restore and had to be shut down again.
    expect(l.sent('shutdown').filter((h) => h === 'gateway').length).toBe(2);
    expect(l.journal.records.filter((r) => r.kind === 'outage_started')).toHaveLength(2);
  });

  it('restores only what was running before, plus always_on hosts; leave_running hosts are never touched', async () => {
    l = await startLab(
      lab({
        outage: '  trigger: { on_battery_after: 5s }\n  restore: { mains_stable_for: 5s, charge_at_least: 0 }',
        timeline: '        - { at: 10s, mains: "off" }\n        - { at: 100s, mains: "on" }',
        hosts: `  was_off:
    simulated: { running: false }
  backup:
    simulated: { running: false }
    outage: { always_on: true }
  router:
    simulated: {}
    outage: { leave_running: true }
  web:
    simulated: { shutdown_takes: 2s }`,
      }),
    );
    await l.advance(250);
    expect(l.sent('shutdown')).toEqual(['web']);
    expect(l.sent('power_on').sort()).toEqual(['backup', 'web']);
    expect(l.hub.host('router')?.phase).toBe('running');
    expect(l.hub.host('was_off')?.phase).toBe('down');
  });

  it('service checks: a failing service gets its remediation once, then passes', async () => {
    const calls: string[] = [];
    let fixed = false;
    const services: HostServices = {
      names: (h) => (h === 'mail' ? ['smtp'] : []),
      check: (h) => {
        calls.push(`check:${h}`);
        return Promise.resolve(h === 'mail' && !fixed ? 'smtp: milter socket has the wrong owner' : null);
      },
      remediate: (h) => {
        calls.push(`remediate:${h}`);
        fixed = true;
        return Promise.resolve('chown ran');
      },
    };
    l = await startLab(
      lab({
        outage: '  trigger: { on_battery_after: 5s }\n  restore: { mains_stable_for: 5s, charge_at_least: 0, check_every: 2s }',
        timeline: '        - { at: 10s, mains: "off" }\n        - { at: 80s, mains: "on" }',
      }),
      { services },
    );
    await l.advance(300);
    expect(calls).toEqual(['check:mail', 'remediate:mail', 'check:mail']);
    expect(l.eventTypes()).toEqual(expect.arrayContaining(['service_check_failed', 'remediation', 'restore_finished']));
    expect(l.events.find((e) => e.type === 'restore_finished')?.detail).toMatchObject({ result: 'restored' });
  });

  it('a service that stays broken makes the restore partial and is reported', async () => {
    const services: HostServices = {
      names: (h) => (h === 'mail' ? ['smtp'] : []),
      check: (h) => Promise.resolve(h === 'mail' ? 'smtp: refused' : null),
      remediate: () => Promise.resolve(null),
    };
    l = await startLab(
      lab({
        outage: '  trigger: { on_battery_after: 5s }\n  restore: { mains_stable_for: 5s, charge_at_least: 0, services_within: 20s, check_every: 5s }',
        timeline: '        - { at: 10s, mains: "off" }\n        - { at: 80s, mains: "on" }',
      }),
      { services },
    );
    await l.advance(300);
    expect(l.events.find((e) => e.type === 'host_restore_failed')?.host).toBe('mail');
    expect(l.events.find((e) => e.type === 'restore_finished')?.detail).toMatchObject({ result: 'partial', failed: ['mail'] });
    expect(l.journal.records[l.journal.records.length - 1]).toMatchObject({ kind: 'outage_ended', result: 'partial' });
  });

  it('restore falls back to Wake-on-LAN and retries when power-on does not bring a host back', async () => {
    l = await startLab(
      lab({
        outage: '  trigger: { on_battery_after: 5s }\n  restore: { mains_stable_for: 5s, charge_at_least: 0, boot_within: 20s, retries: 2 }',
        timeline: '        - { at: 10s, mains: "off" }\n        - { at: 80s, mains: "on" }',
        hosts: `  box:
    simulated: { shutdown_takes: 2s, wake_takes: 5s }`,
      }),
    );
    // Its BMC accepts power_on but nothing happens; only WOL wakes it.
    const orig = l.hub.execute.bind(l.hub);
    jest.spyOn(l.hub, 'execute').mockImplementation((dev, req, o) => (req.action === 'power_on' ? Promise.resolve({ id: null, action: 'power_on', ok: true, tookMs: 0 }) : orig(dev, req, o)));
    await l.advance(200);
    const restore = l.journal.records.filter((r) => r.kind === 'restore_step_intent' || r.kind === 'restore_step_done').map((r) => `${r.kind}:${'action' in r ? r.action : ''}`);
    expect(restore).toEqual(['restore_step_intent:power_on', 'restore_step_done:power_on', 'restore_step_intent:wake', 'restore_step_done:wake']);
    expect(l.hub.host('box')?.phase).toBe('running');
  });

  it('abort stops the running plan: no new host starts and no escalation; the restore still brings back what went down', async () => {
    l = await startLab(
      lab({
        outage: '  trigger: { on_battery_after: 5s }\n  restore: { mains_stable_for: 5s, charge_at_least: 0 }',
        timeline: '        - { at: 10s, mains: "off" }\n        - { at: 150s, mains: "on" }',
      }),
    );
    await l.advance(17);
    expect(l.sent('shutdown')).toEqual(['mail']);
    const r = await l.hub.outageCommand({ action: 'abort', id: 'a1' });
    expect(r).toMatchObject({ ok: true, detail: { aborted: 'shutting_down' } });
    await l.advance(100);
    expect(l.sent('shutdown')).toEqual(['mail']);
    expect(l.eventTypes()).toContain('outage_aborted');
    expect(l.journal.records.some((x) => x.kind === 'plan_aborted')).toBe(true);
    await l.advance(100);
    expect(l.sent('power_on')).toEqual(['mail']);
    expect(l.orchestrator.state.phase).toBe('normal');
    const again = await l.hub.outageCommand({ action: 'abort' });
    expect(again).toMatchObject({ ok: false, error: { code: 'REFUSED' } });
    expect(await l.hub.outageCommand({ action: 'explode' })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(await l.hub.outageCommand({ action: 'simulate' })).toMatchObject({ ok: false, error: { code: 'UNSUPPORTED' } });
  });

  it('losing the UPS while on battery starts the shutdown at once, as upsmon does', async () => {
    l = await startLab(lab({ outage: '  trigger: { on_battery_after: 10m }', timeline: '        - { at: 10s, mains: "off" }\n        - { at: 20s, link: down }' }));
    await l.advance(25);
    expect(l.events.find((e) => e.type === 'shutdown_started')?.detail).toMatchObject({ trigger: 'comm_lost' });
    expect(l.sent('shutdown')).toEqual(['mail']);
  });

  it('publishes the plan with per-host steps, deadlines and the budget in the outage state', async () => {
    l = await startLab(lab({ timeline: '        - { at: 10s, mains: "off" }' }));
    const states: OutageState[] = [];
    l.hub.on('outage', (s) => states.push(s));
    await l.advance(50);
    const s = l.orchestrator.state;
    expect(s.phase).toBe('shutting_down');
    expect(s.id).toMatch(/^\d{8}T\d+Z-[0-9a-f]{6}$/);
    expect(s.reason).toMatch(/on battery for 30s/);
    expect(s.plan.map((p) => [p.host, p.stage])).toEqual([
      ['mail', 'shutdown'],
      ['nas', 'shutdown'],
      ['gateway', 'shutdown'],
    ]);
    const mail = s.plan[0];
    expect(mail?.state).toBe('done');
    expect(mail?.deadline).toBe((mail?.started ?? 0) + (2 * 60 + 30) * 1000);
    // mail's measured 6 s is learned at once: 2 × 6 + 30 for mail, 2 × 60 + 30 for the others (default 60 s).
    expect(s.budget).toMatchObject({ reserveS: 60, worstCaseS: 42 + 150 + 150, criticalPath: ['mail', 'nas', 'gateway'] });
    expect(states.map((x) => x.phase)).toEqual(expect.arrayContaining(['on_battery', 'shutting_down']));
  });

  it('a planned window: announced ahead, shutdown a lead time before it, restore after it, the UPS untouched', async () => {
    const clock = new FakeClock(Date.parse('2026-12-24T07:00:00Z'));
    l = await startLab(
      lab({
        outage: [
          '  trigger: { low_battery: true }',
          '  ups_off: { action: shutdown.return }',
          '  restore: { mains_stable_for: 5s, charge_at_least: 0 }',
          '  lead: 5m',
          '  announce_before: 30m',
          '  planned:',
          '    - { name: electrician, start: "2026-12-24T08:00:00Z", end: "2026-12-24T09:00:00Z" }',
        ].join('\n'),
        timeline: '        - { at: 1000h, mains: "off" }',
      }),
      { clock },
    );
    expect(l.orchestrator.state.planned).toMatchObject({ name: 'electrician', shutdownAt: Date.parse('2026-12-24T07:55:00Z') });
    await l.advance(24 * 60);
    expect(l.eventTypes()).not.toContain('planned_outage_announced');
    await l.advance(2 * 60);
    expect(l.eventTypes()).toContain('planned_outage_announced');
    expect(l.sent('shutdown')).toEqual([]);
    await l.advance(30 * 60);
    expect(l.sent('shutdown')).toEqual(['mail', 'nas', 'gateway']);
    expect(l.orchestrator.state.phase).toBe('down');
    await l.advance(60 * 60);
    expect(l.sent('power_on')).toEqual([]);
    await l.advance(10 * 60);
    expect(l.sent('power_on')).toEqual(['gateway', 'nas', 'mail']);
    expect(l.commands.filter((c) => c.device.kind === 'ups')).toEqual([]);
    expect(l.journal.records[0]).toMatchObject({ kind: 'outage_started', reason: expect.stringMatching(/^planned outage "electrician"/) });
  });

  it('resumes from the journal after a restart: a step in doubt is watched, not sent again, and the rest goes on', async () => {
    const clock = new FakeClock();
    const journal = new MemoryJournal(clock);
    const cfg = lab({ timeline: '        - { at: 0s, mains: "off" }' });
    // What a controller killed just after sending mail's shutdown left behind.
    await journal.append({ kind: 'outage_started', outage_id: 'o1', ups: 'rack', reason: 'test', running_before: ['gateway', 'mail', 'nas'] });
    await journal.append({ kind: 'phase', outage_id: 'o1', phase: 'shutting_down' });
    await journal.append({ kind: 'step_intent', outage_id: 'o1', host: 'mail', action: 'shutdown' });
    l = await startLab(cfg, { journal, clock });
    expect(l.orchestrator.state.phase).toBe('shutting_down');
    await l.advance(20);
    // mail is still up in this simulation (the command never reached it), so it is watched until its deadline …
    expect(l.sent('shutdown')).toEqual([]);
    await l.advance(150);
    // … and then escalated, never sent a second graceful shutdown.
    expect(l.sent('power_off')).toEqual(['mail']);
    await l.advance(60);
    expect(l.sent('shutdown')).toEqual(['nas', 'gateway']);
  });

  it('shows the outage the journal holds as soon as it is built, before the UPS is read', async () => {
    const clock = new FakeClock();
    const journal = new MemoryJournal(clock);
    await journal.append({ kind: 'outage_started', outage_id: 'o1', ups: 'rack', reason: 'low battery', running_before: ['mail'] });
    await journal.append({ kind: 'phase', outage_id: 'o1', phase: 'down' });
    const { config } = parseConfig(lab({ timeline: '        - { at: 1000h, mains: "off" }' }));
    const hub = buildHub(config, { clock });
    const hosts = hostPolicies(config.hosts);
    new Orchestrator({ hub, policy: config.outage, hosts, ups: 'rack', journal });
    expect(hub.outage).toMatchObject({ phase: 'down', id: 'o1', reason: 'low battery' });
  });

  it('resumes a restore after a restart without restarting hosts already back', async () => {
    const clock = new FakeClock();
    const journal = new MemoryJournal(clock);
    await journal.append({ kind: 'outage_started', outage_id: 'o1', ups: 'rack', reason: 'test', running_before: ['gateway', 'mail', 'nas'] });
    for (const h of ['mail', 'nas', 'gateway']) {
      await journal.append({ kind: 'step_intent', outage_id: 'o1', host: h, action: 'shutdown' });
      await journal.append({ kind: 'step_done', outage_id: 'o1', host: h, action: 'shutdown', ok: true, took_ms: 1000 });
    }
    await journal.append({ kind: 'phase', outage_id: 'o1', phase: 'down' });
    await journal.append({ kind: 'restore_started', outage_id: 'o1' });
    await journal.append({ kind: 'restore_step_intent', outage_id: 'o1', host: 'gateway', action: 'power_on' });
    await journal.append({ kind: 'restore_step_done', outage_id: 'o1', host: 'gateway', action: 'power_on', ok: true, took_ms: 9000 });
    const cfg = lab({
      timeline: '        - { at: 1000h, mains: "off" }',
      hosts: `  gateway:
    simulated: { shutdown_takes: 3s, wake_takes: 8s }
  nas:
    simulated: { running: false, wake_takes: 10s }
    outage: { depends_on: [gateway] }
  mail:
    simulated: { running: false, wake_takes: 5s }
    outage: { depends_on: [nas] }`,
    });
    l = await startLab(cfg, { journal, clock });
    await l.advance(120);
    expect(l.sent('power_on')).toEqual(['nas', 'mail']);
    expect(l.orchestrator.state.phase).toBe('normal');
    expect(l.journal.records[l.journal.records.length - 1]).toMatchObject({ kind: 'outage_ended', result: 'restored' });
  });
});
