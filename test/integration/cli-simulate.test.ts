/**
 * `blackstart simulate` as a user runs it, on the shipped examples; and the same simulation asked
 * for over MQTT from a running daemon (`simulate` on `blackstart/outage/set`).
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, stopRun, type CliRun } from '../helpers/cli-run';
import { Watcher } from '../helpers/mqtt-watch';
import { freePort, waitForPort } from '../helpers/ports';
import { repoRoot } from '../helpers/repo';
import { wellFormed } from '../helpers/well-formed-xml';

const example = (name: string): string => join(repoRoot(), 'examples', name);

async function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  const r = cli(args);
  const code = await r.code;
  return { code, stdout: r.stdout(), stderr: r.stderr(), ms: Date.now() - started };
}

describe('blackstart simulate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bs-simulate-'));

  it('runs examples/lab.yaml: the timeline in order, a summary, a drawing; exit 0 in well under 5 s', async () => {
    const svg = join(dir, 'timeline.svg');
    const r = await run(['simulate', '-c', example('lab.yaml'), '--svg', svg]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.ms).toBeLessThan(5000);
    const lines = r.stdout.split('\n');
    const expected = [
      /^00:00 {2}rack +mains failed: on battery at 100%, 14m of runtime$/,
      /^08:25 {2}outage +shutdown plan started \(plan\)/,
      /^08:25 {2}vm-db +shutdown sent$/,
      /^09:00 {2}vm-db +down \(ipmi\) after 35s$/,
      /^09:00 {2}hypervisor +shutdown sent$/,
      /^09:40 {2}nas +shutdown sent$/,
      /^10:50 {2}nas +down \(ipmi\) after 1m10s$/,
      /^10:55 {2}outage +shutdown\.return sent to the UPS$/,
      /^10:55 {2}controller +shutdown sent$/,
      /^10:55 {2}controller +Blackstart stops: its machine is shutting down$/,
      /^11:10 {2}controller +down after 15s$/,
      /^11:15 {2}rack +cuts its outlets \(ups_off\): router lost power$/,
      /^30:00 {2}rack +mains back/,
      /^30:00 {2}controller +powers on as its outlet gets power back/,
      /^31:00 {2}controller +Blackstart starts again and resumes from the journal$/,
      /^31:00 {2}outage +shutdown plan over: 7 down, 0 failed, 0 skipped, 0 left running$/,
      /^\d\d:\d\d {2}nas +power_on sent$/,
      /^\d\d:\d\d {2}nas +up after 3m$/,
      /^\d\d:\d\d {2}vm-db +power_on sent$/,
      /^\d\d:\d\d {2}outage +restore over \(restored\): 7 back, 0 failed$/,
      /^summary:$/,
      /^ {2}budget: +the plan needs 3m35s \(vm-db → hypervisor → nas → controller\); runtime 14m − reserve 2m = 12m: fits, 8m25s to spare$/,
      /^ {2}shutdown: +started 08:25 \(plan trigger\), last host down at 11:10: 7 of 7 down$/,
      /^result: OK/,
    ];
    const at = expected.map((re) => lines.findIndex((l) => re.test(l)));
    expect(expected.filter((_, i) => at[i] === -1)).toEqual([]);
    expect(at).toEqual([...at].sort((a, b) => a - b));
    // The router is left running, so it is never commanded.
    expect(r.stdout).not.toMatch(/router +shutdown sent/);

    expect(existsSync(svg)).toBe(true);
    const drawing = readFileSync(svg, 'utf8');
    expect(wellFormed(drawing)).toBeNull();
    // One bar group per step; the controller's restore is a mark, since it came back by itself.
    expect(drawing.split('<g class="step shutdown"').length - 1).toBe(7);
    expect(drawing.split('<g class="step restore"').length - 1).toBe(6);
    expect(drawing).toContain('<g class="step restore skipped" data-host="controller">');
  });

  it('runs examples/lab-vms.yaml: guests stop through their hypervisor before their host, and come back after it', async () => {
    const svg = join(dir, 'vms.svg');
    const r = await run(['simulate', '-c', example('lab-vms.yaml'), '--svg', svg]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    const expected = [
      /^05:00 {2}outage +shutdown plan started/,
      /^05:00 {2}kvm1\/web +shutdown sent$/,
      /^05:15 {2}kvm1\/web +down \(hypervisor\) after 15s$/,
      /^05:15 {2}kvm1\/db +save sent$/,
      /^05:35 {2}kvm1\/db +down \(hypervisor\) after 20s$/,
      /^05:35 {2}kvm1 +shutdown sent$/,
      /^\d\d:\d\d {2}kvm1 +(power_on|wake) sent$/,
      /^\d\d:\d\d {2}kvm1 +up after/,
      /^\d\d:\d\d {2}kvm1\/db +start sent$/,
      /^\d\d:\d\d {2}kvm1\/web +start sent$/,
      /^\d\d:\d\d {2}outage +restore over \(restored\)/,
    ];
    const at = expected.map((re) => lines.findIndex((l) => re.test(l)));
    expect(expected.filter((_, i) => at[i] === -1)).toEqual([]);
    expect(at).toEqual([...at].sort((a, b) => a - b));
    // build is turned off at once and, with start: none, never started again.
    expect(r.stdout).toMatch(/^05:00 {2}kvm1\/build +off sent$/m);
    expect(r.stdout).not.toMatch(/kvm1\/build +start sent/);
    expect(wellFormed(readFileSync(svg, 'utf8'))).toBeNull();
  });

  it('--json prints the whole result with snake_case keys', async () => {
    const r = await run(['simulate', '-c', example('lab.yaml'), '--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ ups: 'rack', ok: true, outcome: 'restored', power_restored_ms: 1_800_000, budget: { runtime_ms: 840_000, reserve_ms: 120_000, needed_ms: 215_000, fits: true } });
    expect(json.shutdown).toContainEqual(expect.objectContaining({ host: 'nas', state: 'done', sent_ms: 580_000, down_ms: 650_000, verified_by: 'ipmi' }));
    expect(badKeys(json)).toEqual([]);
  });

  it('exits 5 with a clear warning when the plan does not fit (examples/lab-over-budget.yaml)', async () => {
    const r = await run(['simulate', '-c', example('lab-over-budget.yaml'), '--svg', join(dir, 'over.svg')]);
    expect(r.code).toBe(5);
    expect(r.stdout).toMatch(/\[problem\] the shutdown plan needs 4m50s \(app → files → hub\) plus 1m reserve, but the UPS has 4m of runtime: 1m50s over budget/);
    expect(r.stdout).toMatch(/\[problem\] the UPS ran flat at 04:0\d, before the plan was over: hub/);
    expect(r.stdout).toMatch(/^result: FAILED: 2 problems \(see warnings\); exit 5$/m);
    expect(wellFormed(readFileSync(join(dir, 'over.svg'), 'utf8'))).toBeNull();
  });

  it('exits 1 for a config error or an unknown runtime, 2 for an option it cannot read', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, readFileSync(example('lab.yaml'), 'utf8').replace('shutdown_takes: 90s', 'shutdown_takes: soon'));
    const r1 = await run(['simulate', '-c', bad]);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/hosts\.nas\.outage\.shutdown_takes \(line \d+\): /);

    const noRuntime = join(dir, 'no-runtime.yaml');
    writeFileSync(noRuntime, readFileSync(example('lab-over-budget.yaml'), 'utf8').replace(/^ {2}expected_runtime: .*$/m, ''));
    const r2 = await run(['simulate', '-c', noRuntime]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/runtime of UPS "closet" is unknown.*--runtime/);
    const r3 = await run(['simulate', '-c', noRuntime, '--runtime', '20m', '--restore-at', '10m']);
    expect(r3.code).toBe(0);

    const r4 = await run(['simulate', '-c', example('lab.yaml'), '--runtime', 'a while']);
    expect(r4.code).toBe(2);
    expect(r4.stderr).toMatch(/--runtime: cannot read "a while" as a duration/);
  });
});

describe('simulate over MQTT', () => {
  let daemon: CliRun | undefined;
  let watch: Watcher | undefined;

  afterAll(async () => {
    await watch?.close();
    await stopRun(daemon);
  });

  it('answers {"action":"simulate"} on blackstart/outage/set with a summary, and names a bad argument', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'bs-simulate-mqtt-'));
    const cfg = join(dir, 'lab.yaml');
    writeFileSync(cfg, readFileSync(example('lab.yaml'), 'utf8').replace('port: 1883', `port: ${port}`));
    daemon = cli(['run', '-c', cfg, '--log-level', 'warn']);
    await waitForPort(port, 10_000);
    watch = await Watcher.connect(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4 }, ['blackstart/outage/result']);

    await watch.publish('blackstart/outage/set', JSON.stringify({ action: 'simulate', id: 's1', args: { outage_at: '0s', restore_at: '10m', runtime: '8m' } }));
    const ok = (await watch.waitFor((m) => m.json().id === 's1', 15_000, 'the simulate result')).json();
    expect(ok).toMatchObject({ id: 's1', action: 'simulate', ok: true, detail: { ok: true, runtime_s: 480, reserve_s: 120, needed_s: 215, fits: true, outcome: 'restored', power_restored_s: 600 } });
    const detail = ok.detail as { hosts: { host: string; shutdown: string; down_s: number }[]; plan_started_s: number };
    expect(detail.plan_started_s).toBe(145);
    expect(detail.hosts.find((h) => h.host === 'controller')).toMatchObject({ shutdown: 'done', restore: 'done' });
    expect(ok.detail).toMatchObject({ blackstart_starts: 2, all_down_s: 145 + 165 });
    expect(JSON.stringify(ok)).not.toMatch(/<svg/);

    await watch.publish('blackstart/outage/set', JSON.stringify({ action: 'simulate', id: 's2', args: { restore_at: 'later' } }));
    const bad = (await watch.waitFor((m) => m.json().id === 's2', 10_000, 'the bad simulate result')).json();
    expect(bad).toMatchObject({ id: 's2', ok: false, error: { code: 'BAD_REQUEST', message: expect.stringMatching(/^simulate: args\.restore_at: cannot read "later"/) } });
  });
});

/** Keys that are not snake_case, anywhere in the object. */
function badKeys(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => badKeys(v, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => [...(/^[a-z0-9_]+$/.test(k) ? [] : [`${path}.${k}`]), ...badKeys(v, `${path}.${k}`)]);
}
