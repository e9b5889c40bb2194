import { parseConfig } from '../../../src/config/loader';
import { BlackstartError } from '../../../src/core/errors';
import { simulateOutage, type SimulateOptions, type SimulationResult } from '../../../src/orchestrator/simulate';
import { timelineSvg } from '../../../src/orchestrator/timeline-svg';
import { wellFormed } from '../../helpers/well-formed-xml';

const config = (yaml: string) => parseConfig(yaml).config;
const simulate = (yaml: string, opts: Partial<SimulateOptions> = {}) => simulateOutage(config(yaml), { outageAtMs: 0, restoreAtMs: 20 * 60_000, ...opts });

/** gateway ← nas ← mail: mail needs the NAS, the NAS needs the gateway. */
const SMALL = `
outage:
  reserve: 1m
  trigger: { on_battery_after: 1m }
  restore: { mains_stable_for: 10s, charge_at_least: 0, boot_within: 2m }
ups:
  rack:
    simulated: { runtime_at_full: 30m }
hosts:
  gateway:
    simulated: { shutdown_takes: 3s, wake_takes: 8s }
    outage: { shutdown_takes: 5s }
  nas:
    simulated: { shutdown_takes: 12s, wake_takes: 40s }
    outage: { depends_on: [gateway], shutdown_takes: 15s }
  mail:
    simulated: { shutdown_takes: 6s, wake_takes: 25s }
    outage: { depends_on: [nas], shutdown_takes: 10s }
`;

describe('simulateOutage', () => {
  it('runs the plan in dependency order and restores in reverse, with times from the power cut', async () => {
    const r = await simulate(SMALL, { outageAtMs: 30_000, restoreAtMs: 10 * 60_000 });
    expect(r.ok).toBe(true);
    expect(r.startMs).toBe(-30_000);
    expect(r.powerRestoredMs).toBe(570_000);
    expect(r.samples[0]).toMatchObject({ t: -30_000, status: 'online', chargePct: 100 });
    expect(r.planStartedMs).toBe(60_000);
    expect(r.trigger).toBe('on_battery_after');

    const sent = [...r.shutdown].sort((a, b) => (a.sentMs as number) - (b.sentMs as number));
    expect(sent.map((s) => s.host)).toEqual(['mail', 'nas', 'gateway']);
    // Each host goes as soon as the one that needs it is down, and takes its simulated time.
    expect(sent.map((s) => [s.sentMs, s.downMs])).toEqual([
      [60_000, 66_000],
      [66_000, 78_000],
      [78_000, 81_000],
    ]);
    expect(r.restore.map((s) => s.host)).toEqual(['gateway', 'nas', 'mail']);
    expect(r.restore.every((s) => s.state === 'done' && s.answeredMs !== null)).toBe(true);
    const [gw, nas, mail] = r.restore as [SimulationResult['restore'][number], SimulationResult['restore'][number], SimulationResult['restore'][number]];
    expect((gw.answeredMs as number) - (gw.sentMs as number)).toBe(8_000);
    expect(nas.sentMs).toBe(gw.answeredMs);
    expect(mail.sentMs).toBe(nas.answeredMs);

    const lines = r.timeline.map((e) => `${e.t / 1000} ${e.subject} ${e.text}`);
    expect(r.timeline.map((e) => e.t)).toEqual([...r.timeline.map((e) => e.t)].sort((a, b) => a - b));
    const order = ['0 rack mains failed', '60 outage shutdown plan started', '60 mail shutdown sent', '66 mail down (ipmi) after 6s', '66 nas shutdown sent', '81 gateway down', '81 outage shutdown plan over', '570 rack mains back', 'gateway power_on sent', 'gateway up after 8s', 'mail up after 25s', 'restore over (restored)'];
    const at = order.map((text) => lines.findIndex((l) => l.includes(text)));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect(at).toEqual([...at].sort((a, b) => a - b));
    expect(r.warnings.filter((w) => w.fatal)).toEqual([]);
  });

  it('warns, fatally, when the plan does not fit the runtime', async () => {
    const r = await simulate(SMALL.replace('trigger: { on_battery_after: 1m }', 'trigger: { plan: true }'), { runtimeMs: 60_000 });
    expect(r.budget).toMatchObject({ runtimeMs: 60_000, reserveMs: 60_000, neededMs: 30_000, fits: false, slackMs: -30_000 });
    expect(r.planStartedMs).toBe(0);
    const over = r.warnings.find((w) => w.code === 'over_budget');
    expect(over).toMatchObject({ fatal: true });
    expect(over?.message).toMatch(/needs 30s \(mail → nas → gateway\) plus 1m reserve, but the UPS has 1m of runtime: 30s over budget/);
    expect(r.ok).toBe(false);
  });

  it('does not promise an early start when trigger.plan is off', async () => {
    const r = await simulate(SMALL, { runtimeMs: 60_000 });
    const over = r.warnings.filter((w) => w.code === 'over_budget');
    expect(over[0]).toMatchObject({ fatal: true });
    expect(over[0]?.message).toMatch(/30s over budget, and without trigger\.plan the shutdown waits for the other triggers: set outage\.trigger\.plan: true/);
    expect(over.map((w) => w.message).join('\n')).not.toMatch(/starts as soon as mains fails/);
  });

  it('powers off a host that ignores its shutdown, at its escalate_after', async () => {
    const yaml = SMALL.replace('simulated: { shutdown_takes: 6s, wake_takes: 25s }', 'simulated: { shutdown_takes: 6s, wake_takes: 25s, ignores_shutdown: true }').replace(
      'outage: { depends_on: [nas], shutdown_takes: 10s }',
      'outage: { depends_on: [nas], shutdown_takes: 10s, escalate_after: 40s }',
    );
    const r = await simulate(yaml);
    const mail = r.shutdown.find((s) => s.host === 'mail');
    expect(mail).toMatchObject({ state: 'done', sentMs: 60_000, escalatedMs: 100_000, downMs: 100_000 });
    expect(r.shutdown.find((s) => s.host === 'nas')?.sentMs).toBe(100_000);
    expect(r.warnings).toContainEqual(expect.objectContaining({ code: 'escalated', host: 'mail', fatal: false }));
    expect(r.timeline.map((e) => `${e.subject} ${e.text}`)).toEqual(expect.arrayContaining(['mail power_off sent', expect.stringMatching(/^mail escalation: not down after 40s/)]));
    expect(r.ok).toBe(true);
  });

  it('fails when the battery runs flat before the plan is over, and cuts power to what still runs', async () => {
    const r = await simulate(
      `
outage: { reserve: 30s, trigger: { plan: true }, restore: { mains_stable_for: 10s, charge_at_least: 0 } }
ups:
  rack:
    simulated: {}
hosts:
  nas:
    simulated: { shutdown_takes: 20s }
    outage: { shutdown_takes: 20s }
  hub:
    simulated: { shutdown_takes: 2m }
    outage: { controller: true, shutdown_takes: 2m }
`,
      { runtimeMs: 2 * 60_000 },
    );
    expect(r.planStartedMs).toBe(0);
    // The simulated UPS integrates its charge one sample at a time: "empty" may land one sample late.
    expect(r.upsFlatMs).toBeGreaterThanOrEqual(120_000);
    expect(r.upsFlatMs).toBeLessThanOrEqual(121_000);
    expect(r.lostPower).toEqual(['hub']);
    expect(r.shutdown.find((s) => s.host === 'nas')).toMatchObject({ state: 'done', downMs: 20_000 });
    expect(r.shutdown.find((s) => s.host === 'hub')).toMatchObject({ state: 'lost_power', sentMs: 20_000, downMs: null });
    expect(r.warnings).toContainEqual(expect.objectContaining({ code: 'ups_flat', fatal: true, message: expect.stringMatching(/ran flat at 02:0[01], before the plan was over: hub/) }));
    expect(r.timeline.map((e) => `${e.subject} ${e.text}`)).toContain('rack outlets dark: hub lost power');
    expect(r.ok).toBe(false);
  });

  describe('Blackstart lives on the controller', () => {
    const LAB = (upsOff: string) => `
outage:
  reserve: 1m
  trigger: { on_battery_after: 1m }
  on_power_back: finish
${upsOff}
  restore: { mains_stable_for: 10s, charge_at_least: 0 }
ups:
  rack:
    simulated: { runtime_at_full: 30m }
hosts:
  nas:
    simulated: { shutdown_takes: 10s, wake_takes: 30s }
  hub:
    simulated: { shutdown_takes: 5s, wake_takes: 20s }
    outage: { controller: true }
`;

    it('stops with it, comes back when the UPS cycles its outlets, and resumes from the journal without sending the UPS command again', async () => {
      const r = await simulate(LAB('  ups_off: { action: shutdown.return, after: 2s }'), { restoreAtMs: 5 * 60_000 });
      // nas down at 70 s; the UPS is told 2 s later and cuts its outlets 20 s after that.
      expect(r.events.filter((e) => e.type === 'ups_off_sent').map((e) => e.t)).toEqual([72_000]);
      expect(r.powerCuts).toEqual([{ t: 92_000, cause: 'ups_off', hosts: [] }]);
      expect(r.shutdown.find((s) => s.host === 'hub')).toMatchObject({ state: 'done', sentMs: 72_000, downMs: 77_000 });
      expect(r.blackstartStarts).toBe(2);
      const lines = r.timeline.map((e) => `${e.t / 1000} ${e.subject} ${e.text}`);
      expect(lines).toEqual(
        expect.arrayContaining([
          '72 hub Blackstart stops: its machine is shutting down',
          '300 hub powers on as its outlet gets power back (restore on AC power loss)',
          '320 hub Blackstart starts again and resumes from the journal',
          '320 hub counted down on the restart: it was shutting down its own machine',
        ]),
      );
      expect(r.restore.find((s) => s.host === 'nas')).toMatchObject({ state: 'done', action: 'power_on' });
      expect(r.outcome).toBe('restored');
      expect(r.ok).toBe(true);
    });

    it('fails when nothing can turn the controller back on', async () => {
      const r = await simulate(LAB(''), { restoreAtMs: 5 * 60_000 });
      expect(r.blackstartStarts).toBe(1);
      expect(r.restoreStartedMs).toBeNull();
      expect(r.endMs).toBe(300_000);
      expect(r.warnings).toContainEqual(expect.objectContaining({ code: 'controller_off', host: 'hub', fatal: true, message: expect.stringMatching(/its outlet never lost power.*set outage\.ups_off/) }));
      expect(r.ok).toBe(false);
    });
  });

  it('says clearly when it cannot know the runtime, or which UPS to use', async () => {
    const nut = `
ups:
  closet:
    nut: { host: 127.0.0.1, ups: closet }
hosts:
  nas:
    simulated: {}
`;
    const err = await simulate(nut).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlackstartError);
    expect(err).toMatchObject({ code: 'CONFIG' });
    expect((err as Error).message).toMatch(/runtime of UPS "closet" is unknown .*outage\.expected_runtime.*--runtime/);
    // Either source of the figure is enough.
    await expect(simulate(nut, { runtimeMs: 5 * 60_000 })).resolves.toMatchObject({ ok: true, budget: { runtimeMs: 300_000 } });
    await expect(simulate(`outage: { expected_runtime: 7m }\n${nut}`)).resolves.toMatchObject({ budget: { runtimeMs: 420_000 } });
    // The written figure wins over a simulated UPS's own, as in `blackstart check`.
    await expect(simulate(SMALL.replace('outage:\n', 'outage:\n  expected_runtime: 7m\n'))).resolves.toMatchObject({ budget: { runtimeMs: 420_000 } });

    const twoUps = nut.replace('hosts:', '  office:\n    nut: { host: 127.0.0.1, ups: office }\nhosts:');
    await expect(simulate(twoUps, { runtimeMs: 60_000 })).rejects.toMatchObject({ code: 'CONFIG', message: expect.stringMatching(/several UPS \(closet, office\) and no outage\.ups/) });
    await expect(simulate(SMALL, { restoreAtMs: 0 })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: 'restore_at must come after outage_at' });
  });

  it('simulates a real host from its outage figures, and says what a real outage would do differently', async () => {
    const r = await simulate(
      `
outage: { trigger: { on_battery_after: 30s } }
ups:
  rack:
    simulated: {}
hosts:
  printer:
    address: 127.0.0.1
    probe: { tcp: [9] }
    outage: { shutdown_takes: 20s, boot_takes: 45s }
`,
    );
    expect(r.shutdown[0]).toMatchObject({ host: 'printer', sentMs: 30_000, downMs: 50_000 });
    expect((r.restore[0]?.answeredMs as number) - (r.restore[0]?.sentMs as number)).toBe(45_000);
    expect(r.warnings).toContainEqual(expect.objectContaining({ code: 'real_host', host: 'printer', fatal: true, message: expect.stringMatching(/no shutdown method/) }));
    expect(r.warnings).toContainEqual(expect.objectContaining({ code: 'real_host', host: 'printer', message: expect.stringMatching(/neither ipmi: nor wol:/) }));
  });
});

describe('timelineSvg', () => {
  let r: SimulationResult;
  beforeAll(async () => {
    r = await simulate(SMALL.replace('simulated: { shutdown_takes: 6s, wake_takes: 25s }', 'simulated: { shutdown_takes: 6s, wake_takes: 25s, ignores_shutdown: true }'));
  });

  it('draws one bar group per host step, the battery curves and the marker lines', () => {
    const svg = timelineSvg(r);
    expect(count(svg, '<g class="step shutdown')).toBe(r.shutdown.length);
    expect(count(svg, '<g class="step restore')).toBe(r.restore.length);
    expect(r.shutdown.length).toBe(3);
    expect(r.restore.length).toBe(3);
    expect(count(svg, 'class="bar forced"')).toBe(1);
    expect(svg).toMatch(/<polyline class="charge" points="[\d., -]+"/);
    expect(svg).toMatch(/<polyline class="runtime" points="[\d., -]+"/);
    for (const line of ['power-lost', 'power-restored', 'budget']) expect(svg).toContain(`<line class="${line}"`);
    expect(wellFormed(svg)).toBeNull();
  });

  it('escapes what it writes, and draws the same bytes for the same result', async () => {
    const evil = '<script>alert("x")</script>&';
    const tampered: SimulationResult = { ...r, ups: evil, shutdown: r.shutdown.map((s, i) => (i === 0 ? { ...s, host: evil, error: "it's <b>" } : s)) };
    const svg = timelineSvg(tampered);
    expect(svg).not.toContain('<script');
    expect(svg).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;');
    expect(wellFormed(svg)).toBeNull();

    expect(timelineSvg(r)).toBe(timelineSvg(r));
    const again = await simulate(SMALL.replace('simulated: { shutdown_takes: 6s, wake_takes: 25s }', 'simulated: { shutdown_takes: 6s, wake_takes: 25s, ignores_shutdown: true }'));
    expect(timelineSvg(again)).toBe(timelineSvg(r));
  });
});

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

