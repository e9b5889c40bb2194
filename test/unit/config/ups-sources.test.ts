/** The config sections of the real UPS sources: defaults, cross-field rules, secrets. */
import { parseConfig } from '../../../src/config/loader';
import { issuesOf } from '../../helpers/config-issues';

describe('config: UPS sources', () => {
  it('fills NUT defaults and resolves the password without printing it', () => {
    const { config } = parseConfig(
      ['ups:', '  rack:', '    nut:', '      ups: labups', '      username: monuser', '      password_env: NUT_PW', '      role: secondary', '      commands: [test.battery.start, fsd]'].join('\n'),
      { env: { NUT_PW: 'monpw-s3cret' } },
    );
    const nut = config.ups.rack?.nut;
    expect(nut).toMatchObject({ host: '127.0.0.1', port: 3493, ups: 'labups', role: 'secondary', tls: 'auto', pollInterval: 1000, timeout: 3000, deadTime: 15_000, onBatteryDelay: 5000, reconnectMax: 10_000 });
    expect(nut?.password?.secret.reveal()).toBe('monpw-s3cret');
    expect(JSON.stringify(config)).not.toContain('monpw-s3cret');
  });

  it('fills apcupsd and APC smart defaults', () => {
    const { config } = parseConfig(['ups:', '  a:', '    apcupsd: {}', '  b:', '    apc_smart:', '      device: /dev/ttyS0', '      poll_interval: 250ms'].join('\n'));
    expect(config.ups.a?.apcupsd).toMatchObject({ host: '127.0.0.1', port: 3551 });
    expect(config.ups.b?.apcSmart).toMatchObject({ device: '/dev/ttyS0', baudRate: 2400, dataBits: 8, parity: 'none', stopBits: 1, pollInterval: 250, commands: [] });
  });

  it.each([
    ['one source only', ['ups:', '  a:', '    apcupsd: {}', '    nut: {ups: x}'], 'ups.a', /only one source \(got nut, apcupsd\)/],
    ['no source', ['ups:', '  a:', '    name: A'], 'ups.a', /needs a source: one of nut, apcupsd, apc_smart, simulated/],
    ['poll faster than 250 ms', ['ups:', '  a:', '    apcupsd: {poll_interval: 100ms}'], 'ups.a.apcupsd.poll_interval', /at least 250 ms/],
    ['dead time shorter than the poll', ['ups:', '  a:', '    apcupsd: {poll_interval: 10s, dead_time: 5s}'], 'ups.a.apcupsd.dead_time', /not be shorter than poll_interval/],
    ['login role without credentials', ['ups:', '  a:', '    nut: {ups: x, role: primary}'], 'ups.a.nut.role', /role primary logs in/],
    ['username without password', ['ups:', '  a:', '    nut: {ups: x, username: u}'], 'ups.a.nut.username', /both username and a password/],
    ['commands without credentials', ['ups:', '  a:', '    nut: {ups: x, commands: [load.off]}'], 'ups.a.nut.commands', /need username/],
    ['bad NUT command name', ['ups:', '  a:', '    nut: {ups: x, username: u, password_env: P, commands: ["rm -rf"]}'], 'ups.a.nut.commands[0]', /NUT instant command name/],
    ['APC command it cannot do', ['ups:', '  a:', '    apc_smart: {device: /dev/ttyS0, commands: [beeper.mute]}'], 'ups.a.apc_smart.commands[0]', /test.battery.start/],
    ['commands on apcupsd', ['ups:', '  a:', '    apcupsd: {commands: [fsd]}'], 'ups.a.apcupsd.commands', /unknown key "commands"/],
    ['relative serial device', ['ups:', '  a:', '    apc_smart: {device: ttyS0}'], 'ups.a.apc_smart.device', /absolute device path/],
  ])('%s', (_name, lines, path, message) => {
    const issues = issuesOf(lines.join('\n'), { P: 'x' });
    expect(issues.map((i) => i.path)).toContain(path);
    expect(issues.find((i) => i.path === path)?.message).toMatch(message);
  });
});
