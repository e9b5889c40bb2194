/**
 * `blackstart ups status|list` as a user runs them, against a real upsd: the normalized state as
 * JSON, --watch following a .dev edit, a wrong password and an unknown UPS as clear exit codes.
 */
import { NUT_USERS, nutMissing, startNut, type NutServer } from '../helpers/nut';
import { cli, until } from '../helpers/cli-run';

const OL = { 'ups.status': 'OL', 'battery.charge': 100, 'battery.runtime': 1800, 'ups.load': 23, 'input.voltage': 230.0, 'battery.voltage': 27.1 };
const missing = nutMissing();

(missing ? describe.skip : describe)('blackstart ups against a real upsd', () => {
  let nut: NutServer;
  beforeAll(async () => {
    nut = await startNut({ ups: { labups: OL, spare: { ...OL, 'ups.status': 'OB' } } });
  });
  afterAll(async () => {
    await nut?.stop();
  });
  const url = (ups: string, user = ''): string => `nut://${user ? `${user}@` : ''}127.0.0.1:${nut.port}/${ups}`;

  it('status --json prints the normalized state object', async () => {
    const run = cli(['ups', 'status', url('labups'), '--json']);
    expect(await run.code).toBe(0);
    const state = JSON.parse(run.stdout()) as Record<string, unknown>;
    expect(state).toMatchObject({
      status: 'online',
      flags: ['OL'],
      charge_pct: 100,
      runtime_s: 1800,
      load_pct: 23,
      input_v: 230,
      battery_v: 27.1,
      on_battery_s: 0,
      source: url('labups'),
    });
    expect(Date.parse(String(state.updated))).toBeGreaterThan(Date.now() - 60_000);
  });

  it('status without --json is readable text', async () => {
    const run = cli(['ups', 'status', url('spare')]);
    expect(await run.code).toBe(0);
    expect(run.stdout()).toMatch(/status\s+on_battery \[OB\]/);
    expect(run.stdout()).toMatch(/charge\s+100\.0 %/);
  });

  it('status --watch follows a .dev edit', async () => {
    const run = cli(['ups', 'status', url('labups'), '--json', '--watch', '--interval', '250ms']);
    try {
      await until(() => run.stdout().includes('"status":"online"'), 8000, 'first state');
      nut.setVars('labups', { ...OL, 'ups.status': 'OB LB', 'battery.charge': 7 });
      await until(() => run.stdout().includes('"status":"low_battery"'), 8000, 'low_battery');
      const lines = run.stdout().trim().split('\n').map((l) => JSON.parse(l) as { status: string; charge_pct: number });
      expect(lines.at(-1)).toMatchObject({ status: 'low_battery', charge_pct: 7 });
    } finally {
      run.proc.kill('SIGINT');
      expect(await run.code).toBe(0);
      nut.setVars('labups', OL);
      await nut.waitForStatus('labups', 'OL');
    }
  });

  it('--login with a wrong password exits 3 (AUTH) and never prints the password', async () => {
    const run = cli(['ups', 'status', url('labups', NUT_USERS.monuser.username), '--password-env', 'PW', '--login'], { PW: 'not-the-pw-123' });
    expect(await run.code).toBe(3);
    expect(run.stderr()).toMatch(/ACCESS-DENIED/);
    expect(run.stdout() + run.stderr()).not.toContain('not-the-pw-123');
  });

  it('--login with the right password reads as a secondary', async () => {
    const run = cli(['ups', 'status', url('labups', NUT_USERS.monuser.username), '--password-env', 'PW', '--login', '--json'], { PW: NUT_USERS.monuser.password });
    expect(await run.code).toBe(0);
    expect(JSON.parse(run.stdout())).toMatchObject({ status: 'online' });
  });

  it('an unknown UPS exits 8 (NOT_FOUND) with the server answer', async () => {
    const run = cli(['ups', 'status', url('nosuch')]);
    expect(await run.code).toBe(8);
    expect(run.stderr()).toMatch(/UNKNOWN-UPS/);
  });

  it('nothing listening exits 4 (UNREACHABLE)', async () => {
    const run = cli(['ups', 'status', 'nut://127.0.0.1:1/labups', '--timeout', '1s']);
    expect(await run.code).toBe(4);
    expect(run.stderr()).toMatch(/127\.0\.0\.1:1/);
  });

  it('list shows every UPS on the server', async () => {
    const run = cli(['ups', 'list', `nut://127.0.0.1:${nut.port}`, '--json']);
    expect(await run.code).toBe(0);
    expect((JSON.parse(run.stdout()) as { name: string }[]).map((u) => u.name).sort()).toEqual(['labups', 'spare']);
  });
});
