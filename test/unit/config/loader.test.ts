import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseConfig } from '../../../src/config/loader';
import { repoRoot } from '../../helpers/repo';
import { issuesOf } from '../../helpers/config-issues';

describe('config: good files', () => {
  it('loads the demo with defaults filled in and camelCase in TypeScript', () => {
    const { config, warnings } = loadConfig(join(repoRoot(), 'examples/demo.yaml'));
    expect(warnings).toEqual([]);
    expect(config.mqtt).toMatchObject({ baseTopic: 'blackstart', protocolVersion: 5, reconnectMin: 1000, reconnectMax: 30_000 });
    expect(config.mqtt.embedded).toMatchObject({ host: '127.0.0.1', port: 1883 });
    expect(Object.keys(config.hosts)).toEqual(['gateway', 'nas', 'mail']);
    expect(config.compat).toMatchObject({ apcupsd: { listen: '127.0.0.1', port: 3551 }, nut: { listen: '127.0.0.1', port: 3493 } });
    expect(config.homeassistant).toMatchObject({ discovery: true, prefix: 'homeassistant' });
    expect(config.hosts.nas?.simulated).toMatchObject({ shutdownTakes: 12_000, wakeTakes: 40_000, running: true });
    const ups = config.ups.rack?.simulated;
    expect(ups?.timeline.map((s) => [s.at, s.mains])).toEqual([
      [20_000, 'off'],
      [80_000, 'on'],
    ]);
  });

  it('an empty file is a valid (if idle) config', () => {
    const { config } = parseConfig('');
    expect(config.hosts).toEqual({});
    expect(config.mqtt.url).toBeUndefined();
  });

  it('reads secrets from the environment and from files, and never prints them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bs-cfg-'));
    writeFileSync(join(dir, 'mqtt.pw'), 'from-file-s3cret\n');
    const fromFile = parseConfig(`mqtt:\n  url: mqtt://127.0.0.1:1883\n  username: hub\n  password_file: mqtt.pw\n`, { baseDir: dir, env: {} });
    expect(fromFile.config.mqtt.password?.secret.reveal()).toBe('from-file-s3cret');
    const fromEnv = parseConfig(`mqtt:\n  url: mqtts://broker.lan:8883\n  username: hub\n  password_env: BS_PW\n`, { env: { BS_PW: 'env-s3cret' } });
    expect(fromEnv.config.mqtt.password?.secret.reveal()).toBe('env-s3cret');
    const dump = JSON.stringify([fromFile.config, fromEnv.config]);
    expect(dump).not.toMatch(/s3cret/);
  });

  it('accepts an inline secret with a warning that names where it is', () => {
    const { config, warnings } = parseConfig(`mqtt:\n  url: mqtt://127.0.0.1\n  username: hub\n  password: inline-pw\n`);
    expect(config.mqtt.password?.secret.reveal()).toBe('inline-pw');
    expect(warnings).toEqual([expect.objectContaining({ path: 'mqtt.password', line: 4, message: expect.stringMatching(/password_env or password_file/) })]);
  });
});

describe('config: errors name the path and the line', () => {
  it('a typo\'d key is an error suggesting the right one', () => {
    const issues = issuesOf(`hosts:\n  nas:\n    simulated:\n      wake_takes: 5s\n      shutdwn_takes: 5s\n`);
    expect(issues).toEqual([
      { path: 'hosts.nas.simulated.shutdwn_takes', line: 5, column: 7, message: 'unknown key "shutdwn_takes" (did you mean "shutdown_takes"?)' },
    ]);
  });

  it('reports every problem at once', () => {
    const issues = issuesOf(`
mqtt:
  base_topic: "bad/#"
  protocol_version: 3
ups:
  main:
    simulated:
      interval: 5
      charge_pct: 140
      timeline:
        - at: 2x
          mains: off
        - at: 5s
hosts:
  Bad_Id:
    simulated: {}
  web: {}
`);
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
    expect(Object.keys(byPath).sort()).toEqual(
      [
        'mqtt.base_topic',
        'mqtt.protocol_version',
        'ups.main.simulated.interval',
        'ups.main.simulated.charge_pct',
        'ups.main.simulated.timeline[0].at',
        'ups.main.simulated.timeline[1]',
        'hosts.Bad_Id',
        'hosts.web',
      ].sort(),
    );
    expect(byPath['ups.main.simulated.interval']).toMatchObject({ line: 8, message: expect.stringMatching(/duration such as/) });
    expect(byPath['ups.main.simulated.timeline[0].at']).toMatchObject({ line: 11, message: expect.stringMatching(/"2x"/) });
    expect(byPath['ups.main.simulated.timeline[1]']?.message).toMatch(/needs at least one of mains, link, charge_pct/);
    expect(byPath['hosts.Bad_Id']).toMatchObject({ line: 15, message: expect.stringMatching(/lowercase/) });
    expect(byPath['hosts.web']?.message).toMatch(/nothing to watch or control/);
  });

  it('a wrong type says what was expected; a missing value says required', () => {
    const wrong = issuesOf(`hosts:\n  nas:\n    simulated:\n      running: "yes"\n`);
    expect(wrong).toEqual([expect.objectContaining({ path: 'hosts.nas.simulated.running', line: 4, message: expect.stringMatching(/expected boolean/) })]);
    const missing = issuesOf(`ups:\n  main:\n    simulated:\n      timeline:\n        - mains: off\n`);
    expect(missing).toEqual([expect.objectContaining({ path: 'ups.main.simulated.timeline[0].at', message: 'required' })]);
  });

  it('a missing secret file or unset variable is an error at the secret\'s key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bs-cfg-'));
    const file = issuesOf(`mqtt:\n  url: mqtt://127.0.0.1\n  username: hub\n  password_file: missing.pw\n`, {}, dir);
    expect(file).toEqual([{ path: 'mqtt.password_file', line: 4, column: 18, message: expect.stringMatching(/cannot read secret file .*missing\.pw: ENOENT/) }]);
    const env = issuesOf(`mqtt:\n  url: mqtt://127.0.0.1\n  username: hub\n  password_env: NOT_SET_ANYWHERE\n`);
    expect(env).toEqual([expect.objectContaining({ path: 'mqtt.password_env', message: 'environment variable NOT_SET_ANYWHERE is not set' })]);
    const ca = issuesOf(`mqtt:\n  url: mqtts://127.0.0.1\n  ca_file: nope.pem\n`, {}, dir);
    expect(ca).toEqual([expect.objectContaining({ path: 'mqtt.ca_file', line: 3, message: expect.stringMatching(/ENOENT/) })]);
  });

  it('two forms of one secret are refused', () => {
    const issues = issuesOf(`mqtt:\n  url: mqtt://127.0.0.1\n  username: hub\n  password: a\n  password_env: B\n`);
    expect(issues).toEqual([expect.objectContaining({ path: 'mqtt.password_env', message: 'give only one of password, password_env' })]);
  });

  it('an embedded broker beyond loopback needs credentials', () => {
    const issues = issuesOf(`mqtt:\n  embedded:\n    host: 0.0.0.0\n`);
    expect(issues).toEqual([expect.objectContaining({ path: 'mqtt.embedded.host', line: 3, message: expect.stringMatching(/beyond loopback/) })]);
    const ok = parseConfig(`mqtt:\n  embedded:\n    host: 0.0.0.0\n    username: hub\n    password_env: PW\n`, { env: { PW: 'x' } });
    expect(ok.config.mqtt.embedded.username).toBe('hub');
  });

  it('a YAML syntax error gives its line', () => {
    const issues = issuesOf(`hosts:\n  nas:\n    simulated: {\n  bad: [\n`);
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0]).toMatchObject({ path: '', line: expect.any(Number), message: expect.stringMatching(/^YAML: /) });
  });

  it('a duplicate key is an error, not a silent override', () => {
    const issues = issuesOf(`hosts:\n  nas:\n    simulated: {}\n  nas:\n    simulated: {}\n`);
    expect(issues[0]).toMatchObject({ line: 4, message: expect.stringMatching(/YAML: .*unique/i) });
  });

  it('an unreadable file is a CONFIG error naming the file', () => {
    expect(() => loadConfig('/nonexistent/blackstart.yaml')).toThrow(/\/nonexistent\/blackstart\.yaml.*cannot read the config file/s);
  });

  it('the example file round-trips through the loader unchanged on disk', () => {
    const path = join(repoRoot(), 'examples/demo.yaml');
    const before = readFileSync(path, 'utf8');
    loadConfig(path);
    expect(readFileSync(path, 'utf8')).toBe(before);
  });
});

describe('config: documentation', () => {
  it('the configuration reference in README.md is a valid config', () => {
    const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
    const block = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    // Files the reference names must exist: give them a folder of their own.
    const baseDir = mkdtempSync(join(tmpdir(), 'bs-readme-'));
    mkdirSync(join(baseDir, 'keys'));
    writeFileSync(join(baseDir, 'keys', 'mail_ed25519'), 'placeholder: the loader checks only that it is readable\n');
    const { config } = parseConfig(block as string, { env: { NUT_PASSWORD: 'x', DB_BMC_PASSWORD: 'y', NAS_PASSWORD: 'z' }, baseDir });
    expect(Object.keys(config.hosts)).toEqual(['db', 'mail', 'storage', 'backup', 'nas']);
    expect(config.hosts.mail?.shutdown?.ssh).toMatchObject({ username: 'blackstart', os: 'linux' });
    expect(config.hosts.storage?.shutdown?.http).toMatchObject({ recipe: 'terastation' });
    expect(config.hosts.db?.ipmi).toMatchObject({ host: '10.0.0.21', privilege: 'operator', cipherSuite: 'auto', sensorInterval: 30_000 });
    expect(Object.keys(config.ups)).toEqual(['server_room', 'office', 'closet', 'rack']);
    expect(config.ups.rack?.simulated?.timeline).toHaveLength(4);
    expect(config.homeassistant).toEqual({ discovery: true, prefix: 'homeassistant', exclude: [] });
  });

  it('the example in the Virtual machines section of README.md is a valid config', () => {
    const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
    const block = /```yaml\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('## Virtual machines')))?.[1];
    expect(block).toBeDefined();
    const baseDir = mkdtempSync(join(tmpdir(), 'bs-readme-'));
    mkdirSync(join(baseDir, 'keys'));
    writeFileSync(join(baseDir, 'keys', 'kvm1_ed25519'), 'placeholder\n');
    const { config } = parseConfig(block as string, { baseDir, env: { KVM1_BMC_PASSWORD: 'x', HYPERV_PASSWORD: 'y' } });
    expect(config.hosts.kvm1?.vms?.guests.db).toMatchObject({ name: 'PostgreSQL 16', stop: 'save', stopTakes: 20_000, stopWithin: 120_000, start: 'if_running_before' });
    expect(config.hosts.kvm1?.vms?.libvirt?.ssh).toMatchObject({ host: '10.0.0.50', username: 'blackstart' });
    expect(config.hosts.xen1?.vms?.xen).toMatchObject({ saveDir: '/var/lib/xen/save', xl: 'xl' });
    expect(config.hosts.hyperv1?.vms?.guests.dc).toMatchObject({ name: 'Domain Controller', start: 'always' });
  });

  it('the example in the Outages section of README.md is a valid config', () => {
    const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Outages'));
    const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBeDefined();
    const baseDir = mkdtempSync(join(tmpdir(), 'bs-readme-'));
    mkdirSync(join(baseDir, 'keys'));
    writeFileSync(join(baseDir, 'keys', 'mail_ed25519'), 'placeholder\n');
    const { config } = parseConfig(block as string, { baseDir });
    expect(config.outage).toMatchObject({ ups: 'rack', reserve: 120_000, onPowerBack: 'stop', expectedRuntime: 25 * 60_000 });
    expect(config.outage.planned.map((p) => p.name)).toEqual(['electrician', 'sunday-maintenance']);
    expect(config.hosts.mail?.outage).toMatchObject({ dependsOn: ['storage'], shutdownTakes: 30_000, escalateAfter: 120_000 });
    expect(config.hosts.mail?.outage.services).toHaveLength(2);
    expect(config.hosts.mail?.remediate?.ssh?.command).toBe('sudo -n /usr/local/sbin/fix-milter-socket');
  });
});
