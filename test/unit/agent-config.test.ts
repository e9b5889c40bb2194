import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentConfigSchema, isLoopbackUrl } from '../../src/agent/config';
import { repoRoot } from '../helpers/repo';
import { ConfigError, parseConfigWith, type ConfigIssue } from '../../src/config/loader';

const parse = (text: string, env: NodeJS.ProcessEnv = {}) => parseConfigWith(agentConfigSchema, text, { env });

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): ConfigIssue[] {
  try {
    parse(text, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error('expected the config to be rejected');
}

const SHUTDOWN = `shutdown:\n  command:\n    command: [systemctl, poweroff]\n`;

describe('agent config', () => {
  it('loads a minimal loopback config with defaults', () => {
    const { config } = parse(`id: web1\nmqtt:\n  url: mqtt://127.0.0.1:1883\n${SHUTDOWN}`);
    expect(config).toMatchObject({ id: 'web1', dryRun: false, mqtt: { baseTopic: 'blackstart', protocolVersion: 5, reconnectMin: 1000 } });
    expect(config.shutdown?.command.command).toEqual(['systemctl', 'poweroff']);
    expect(config.followUps).toBeUndefined();
  });

  it('refuses a broker beyond loopback without credentials, naming mqtt.username', () => {
    const issues = issuesOf(`id: web1\nmqtt:\n  url: mqtt://10.0.0.5:1883\n${SHUTDOWN}`);
    expect(issues).toEqual([expect.objectContaining({ path: 'mqtt.username', line: 3, message: expect.stringMatching(/beyond loopback.*username and password_env or password_file/) })]);
    // A user without a password is not authentication either.
    expect(issuesOf(`id: web1\nmqtt:\n  url: mqtts://hub.lan\n  username: a\n${SHUTDOWN}`)[0]?.path).toBe('mqtt.username');
  });

  it('accepts a remote broker with a user and a password from the environment, and never shows the password', () => {
    const { config } = parse(`id: web1\nmqtt:\n  url: mqtt://hub.lan:1883\n  username: agent-web1\n  password_env: AGENT_PW\n${SHUTDOWN}`, { AGENT_PW: 'agent-s3cret-pw' });
    expect(config.mqtt.password?.secret.reveal()).toBe('agent-s3cret-pw');
    expect(JSON.stringify(config)).not.toMatch(/s3cret/);
  });

  it('reads follow_ups with its duration and default on_low_battery', () => {
    const { config } = parse(`id: web1\nmqtt:\n  url: mqtt://localhost\n${SHUTDOWN}follow_ups:\n  ups: rack\n  after: 5m\n`);
    expect(config.followUps).toEqual({ ups: 'rack', after: 300_000, onLowBattery: true });
    const bad = issuesOf(`id: web1\nmqtt:\n  url: mqtt://localhost\n${SHUTDOWN}follow_ups:\n  ups: Rack!\n  after: soon\n  on_lowbattery: false\n`);
    expect(bad.map((i) => i.path).sort()).toEqual(['follow_ups.after', 'follow_ups.on_lowbattery', 'follow_ups.ups']);
  });

  it('needs a shutdown method unless it only relays Wake-on-LAN', () => {
    expect(issuesOf(`id: web1\nmqtt:\n  url: mqtt://[::1]:1883\n`)).toEqual([expect.objectContaining({ path: 'shutdown' })]);
    const { config } = parse(`id: relay1\nmqtt:\n  url: mqtt://[::1]:1883\nwol_relay:\n  address: 127.255.255.255\n`);
    expect(config.wolRelay).toEqual({ allowed: true, address: '127.255.255.255', port: 9, repeat: 3, spacing: 100 });
    expect(issuesOf(`id: relay1\nmqtt:\n  url: mqtt://[::1]:1883\nwol_relay:\n  address: 127.255.255.255\nfollow_ups:\n  ups: rack\n  after: 1m\n`)).toEqual([
      expect.objectContaining({ path: 'follow_ups', message: expect.stringMatching(/needs a shutdown method/) }),
    ]);
  });

  it('rejects a bad id and unknown keys with their paths', () => {
    const issues = issuesOf(`id: Web 1\nmqtt:\n  url: mqtt://127.0.0.1\n  pasword_env: X\n${SHUTDOWN}dryrun: true\n`);
    expect(issues.map((i) => i.path).sort()).toEqual(['dryrun', 'id', 'mqtt.pasword_env']);
  });

  it('tells loopback broker URLs from others', () => {
    for (const u of ['mqtt://127.0.0.1', 'mqtt://127.1.2.3:1884', 'mqtts://localhost:8883', 'mqtt://[::1]:1883']) expect(isLoopbackUrl(u)).toBe(true);
    for (const u of ['mqtt://10.0.0.1', 'mqtt://hub.lan', 'mqtt://127.0.0.1.evil.com', 'mqtt://[::2]', 'not a url']) expect(isLoopbackUrl(u)).toBe(false);
  });

  it('the example in README.md\'s Agent section is a valid agent config', () => {
    const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Agent\n'));
    const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toMatch(/^id: web1/);
    const { config } = parse(block as string, { AGENT_MQTT_PASSWORD: 'x' });
    expect(config).toMatchObject({ id: 'web1', followUps: { ups: 'rack', after: 300_000 }, wolRelay: { address: expect.stringMatching(/^(\d{1,3}\.){3}255$/), port: 9 } });
    // The README names its LAN's directed broadcast; the test only checks its shape.
  });
});
