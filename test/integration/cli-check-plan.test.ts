import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, repoRoot } from '../helpers/repo';

const dir = mkdtempSync(join(tmpdir(), 'bs-check-plan-'));

/** `blackstart check` on a config written for the test; the journal (and any learned durations) in a folder of its own. */
function check(name: string, yaml: string) {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, yaml);
  const state = mkdtempSync(join(dir, 'state-'));
  return spawnSync(process.execPath, [cliPath(), 'check', '-c', file], { encoding: 'utf8', cwd: repoRoot(), env: { ...process.env, BLACKSTART_STATE_DIR: state } });
}

const HOSTS = `
hosts:
  gateway:
    simulated: {}
    outage: { shutdown_takes: 1m }
  nas:
    simulated: {}
    outage: { depends_on: [gateway], shutdown_takes: 1m }
  mail:
    simulated: {}
    outage: { depends_on: [nas], shutdown_takes: 1m }
  web:
    simulated: {}
    outage: { depends_on: [gateway], shutdown_takes: 30s }
`;

describe('blackstart check: the shutdown plan against the battery', () => {
  it('prints the waves in order, the critical path and the worst case, and no warning when the plan fits', () => {
    const r = check('fits', `ups:\n  rack:\n    simulated: { runtime_at_full: 20m, charge_pct: 50 }\n${HOSTS}`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/outage: follows UPS rack \(the only UPS\), reserve 2m/);
    expect(r.stdout).toContain(
      [
        '  shutdown plan, first to last (4 hosts in 3 waves):',
        '    wave 1: mail (1m), web (30s)',
        '    wave 2: nas (1m)',
        '    wave 3: gateway (1m)',
        '    critical path: mail → nas → gateway, 3m expected; worst case 7m30s (every host until its escalation)',
        '    budget: 10m runtime (simulated UPS rack at 50% charge) − 2m reserve − 3m plan: 5m to spare',
      ].join('\n'),
    );
    expect(r.stdout).not.toMatch(/warning|over budget/i);
  });

  it('warns with the numbers when the plan does not fit, and still exits 0', () => {
    const r = check('over', `outage:\n  expected_runtime: 4m\n  reserve: 90s\nups:\n  rack:\n    simulated: { runtime_at_full: 1h }\n${HOSTS}`);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/budget: 4m runtime \(outage\.expected_runtime\) − 1m30s reserve − 3m plan: 30s over budget/);
    expect(r.stdout).toMatch(/warnings \(1\):\n {2}outage\.expected_runtime: the shutdown plan needs 3m \(mail → nas → gateway\) plus 1m30s reserve, but the UPS has 4m of runtime: 30s over budget, so the shutdown starts as soon as mains fails/);
  });

  it('does not promise an early start when trigger.plan is off', () => {
    const r = check('no-plan-trigger', `outage:\n  expected_runtime: 4m\n  trigger: { on_battery_after: 1m }\nups:\n  rack:\n    simulated: {}\n${HOSTS}`);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/1m over budget, and without trigger\.plan the shutdown waits for the other triggers: set outage\.trigger\.plan: true/);
    expect(r.stdout).not.toMatch(/so the shutdown starts as soon as mains fails/);
  });

  it('warns about an orchestrator left off, a host nothing can shut down and a restore nothing can verify', () => {
    const r = check(
      'gaps',
      `ups:
  a:
    simulated: {}
  b:
    simulated: {}
hosts:
  nas:
    wol: { mac: "00:11:22:33:44:55", address: 127.0.0.1 }
  router:
    wol: { mac: "00:11:22:33:44:66", address: 127.0.0.1 }
    outage: { leave_running: true }
  mail:
    address: 127.0.0.1
    probe: { tcp: [25] }
    shutdown: { command: { command: ["true"] } }
    outage: { depends_on: [nas] }
`,
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/outage: off \(several UPS and no outage\.ups\)/);
    expect(r.stdout).toMatch(/left running: router/);
    expect(r.stdout).not.toMatch(/budget:/);
    const warnings = r.stdout.slice(r.stdout.indexOf('warnings ('));
    expect(warnings).toMatch(/^warnings \(4\):/);
    expect(warnings).toMatch(/outage\.ups: several UPS \(a, b\) and no outage\.ups: the outage orchestrator is off/);
    expect(warnings).toMatch(/hosts\.nas: in the shutdown plan, but nothing can shut it down/);
    expect(warnings).not.toMatch(/hosts\.(router|mail): in the shutdown plan/);
    expect(warnings).toMatch(/hosts\.nas\.wol: Wake-on-LAN starts it after an outage, but nothing can tell that it came back/);
    expect(warnings).toMatch(/hosts\.router\.wol: Wake-on-LAN/);
  });

  it('says the budget is not checked when nothing gives the runtime', () => {
    const r = check('unknown', `ups:\n  rack:\n    apcupsd: { host: 127.0.0.1 }\n${HOSTS}`);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/budget: not checked \(set outage\.expected_runtime to the runtime UPS rack reports at full charge\)/);
  });
});
