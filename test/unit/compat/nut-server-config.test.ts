/** `compat.nut` in config: defaults, users and their secrets, references to UPS ids. */
import { parseConfig } from '../../../src/config/loader';
import { issuesOf } from '../../helpers/config-issues';

const UPS = 'ups:\n  rack: { simulated: {} }\n  spare: { simulated: {} }\n';

describe('compat.nut config', () => {
  it('defaults: loopback, 3493, every UPS, no users, a 15 s FSD wait', () => {
    const { config } = parseConfig(`${UPS}compat:\n  nut: {}\n`);
    expect(config.compat.nut).toEqual({ listen: '127.0.0.1', port: 3493, users: [], fsdWait: 15_000, maxClients: 64 });
  });

  it('users with roles and secrets; the passwords never print', () => {
    const { config, warnings } = parseConfig(
      `${UPS}compat:
  nut:
    listen: 0.0.0.0
    ups: [rack]
    fsd_wait: 30s
    max_clients: 8
    users:
      - { username: monuser, password_env: MON_PW }
      - { username: nas-primary, password_env: PRI_PW, role: primary }
      - { username: admin, password: inline-pw, role: admin, instcmds: [test.battery.start] }
`,
      { env: { MON_PW: 'mon-secret', PRI_PW: 'pri-secret' } },
    );
    const nut = config.compat.nut;
    expect(nut?.ups).toEqual(['rack']);
    expect(nut?.fsdWait).toBe(30_000);
    expect(nut?.users.map((u) => [u.username, u.role, u.instcmds, u.password?.secret.reveal()])).toEqual([
      ['monuser', 'secondary', undefined, 'mon-secret'],
      ['nas-primary', 'primary', undefined, 'pri-secret'],
      ['admin', 'admin', ['test.battery.start'], 'inline-pw'],
    ]);
    const printed = JSON.stringify(config);
    for (const pw of ['mon-secret', 'pri-secret', 'inline-pw']) expect(printed).not.toContain(pw);
    expect(warnings.map((w) => w.path)).toEqual(['compat.nut.users[2].password']);
  });

  it.each([
    [`${UPS}compat:\n  nut: { ups: [rack, nosuch] }\n`, 'compat.nut.ups[1]', '"nosuch" is not a UPS of this config (have: rack, spare)'],
    [`${UPS}compat:\n  nut: { ups: [rack, rack] }\n`, 'compat.nut.ups[1]', 'listed twice'],
    [`${UPS}compat:\n  nut: { ups: [] }\n`, 'compat.nut.ups', ''],
    [`compat:\n  nut: {}\n`, 'compat.nut', 'there is no UPS to serve'],
    [`${UPS}compat:\n  nut: { users: [{ username: monuser }] }\n`, 'compat.nut.users[0].password_env', 'give password_env, password_file or password'],
    [`${UPS}compat:\n  nut: { users: [{ username: monuser, password: a, password_env: B }] }\n`, 'compat.nut.users[0].password_env', 'give only one of'],
    [`${UPS}compat:\n  nut: { users: [{ username: m, password: a, instcmds: [load.off] }] }\n`, 'compat.nut.users[0].instcmds', 'only an admin runs instant commands'],
    [`${UPS}compat:\n  nut: { users: [{ username: m, password: a, role: admin, instcmds: [LOAD OFF] }] }\n`, 'compat.nut.users[0].instcmds[0]', 'instant command name'],
    [`${UPS}compat:\n  nut: { users: [{ username: m, password: a, role: master }] }\n`, 'compat.nut.users[0].role', ''],
    [`${UPS}compat:\n  nut: { users: [{ username: "bad name", password: a }] }\n`, 'compat.nut.users[0].username', 'letters, digits'],
    [`${UPS}compat:\n  nut: { users: [{ username: a, password: x }, { username: a, password: y }] }\n`, 'compat.nut.users[1].username', 'listed twice'],
    [`${UPS}compat:\n  nut: { fsd_wait: 20m }\n`, 'compat.nut.fsd_wait', 'at most'],
    [`${UPS}compat:\n  nut: { max_clients: 0 }\n`, 'compat.nut.max_clients', ''],
    [`${UPS}compat:\n  nut: { fsd_wiat: 5s }\n`, 'compat.nut.fsd_wiat', 'did you mean "fsd_wait"'],
  ])('%#: %s → %s', (text, path, message) => {
    const issues = issuesOf(text);
    expect(issues).toEqual(expect.arrayContaining([expect.objectContaining({ path, message: expect.stringContaining(message) })]));
  });

  it('a password from an unset variable is a config error naming the variable, not a start-up crash', () => {
    expect(issuesOf(`${UPS}compat:\n  nut: { users: [{ username: m, password_env: NOPE_PW }] }\n`)).toEqual([
      expect.objectContaining({ path: 'compat.nut.users[0].password_env', message: 'environment variable NOPE_PW is not set' }),
    ]);
  });
});
