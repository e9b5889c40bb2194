import { IpmiHost, ipmiClientOptions, ipmiHostSchema, type IpmiHostConfig } from '../../../src/adapters/host/ipmi';
import { parseConfig } from '../../../src/config/loader';
import { FakeClock } from '../../../src/core/clock';
import { BlackstartError } from '../../../src/core/errors';
import { Hub } from '../../../src/core/hub';
import { createLogger } from '../../../src/core/logger';
import { Secret } from '../../../src/core/secret';
import { issuesOf } from '../../helpers/config-issues';
import { FakeBmc } from '../../helpers/fake-bmc';

const YAML = (sensorInterval = '30s'): string => `hosts:
  db:
    ipmi:
      host: 127.0.0.1
      username: oper
      password_env: DB_BMC
      poll_interval: 10s
      sensor_interval: ${sensorInterval}
`;

function ipmiConfig(sensorInterval?: string): IpmiHostConfig {
  const { config } = parseConfig(YAML(sensorInterval), { env: { DB_BMC: 'operpw' } });
  const cfg = config.hosts.db?.ipmi;
  if (!cfg) throw new Error('no ipmi section');
  return cfg;
}

function setup(sensorInterval?: string): { hub: Hub; clock: FakeClock; bmc: FakeBmc; host: IpmiHost } {
  const cfg = ipmiConfig(sensorInterval);
  const clock = new FakeClock();
  const bmc = new FakeBmc();
  const hub = new Hub({ clock });
  hub.addHost('db');
  const host = new IpmiHost('db', cfg, () => bmc);
  hub.attach(host);
  return { hub, clock, bmc, host };
}

describe('IPMI host adapter', () => {
  it('publishes power, phase and sensors once started, and polls at the configured intervals', async () => {
    const { hub, clock, bmc } = setup();
    await hub.start();
    await clock.advance(0);
    expect(hub.host('db')).toMatchObject({ power: 'on', phase: 'running', lastError: null });
    expect(hub.sensors('db')).toEqual({ 'CPU Temp': { value: 45, unit: 'degrees C', status: 'ok' } });
    bmc.power = 'off';
    await clock.advance(9_999);
    expect(hub.host('db')?.power).toBe('on');
    await clock.advance(1);
    expect(hub.host('db')).toMatchObject({ power: 'off', phase: 'down' });
    expect(bmc.statusCalls).toBe(2);
    expect(bmc.sensorCalls).toBe(1);
    await clock.advance(20_000);
    expect(bmc.sensorCalls).toBe(2);
    await hub.stop();
    expect(clock.pending).toBe(0);
    expect(bmc.closed).toBe(1);
  });

  it('sends each power action to the BMC and reads power back at once', async () => {
    const { hub, clock, bmc } = setup();
    await hub.start();
    await clock.advance(0);
    const off = await hub.execute({ kind: 'host', id: 'db' }, { action: 'power_off', id: 'r1' });
    expect(off.ok).toBe(true);
    await clock.advance(0);
    expect(hub.host('db')).toMatchObject({ power: 'off', phase: 'down' });
    for (const action of ['power_on', 'power_cycle', 'reset']) {
      expect((await hub.execute({ kind: 'host', id: 'db' }, { action })).ok).toBe(true);
    }
    expect(bmc.actions).toEqual(['off', 'on', 'cycle', 'reset']);
    await clock.advance(0);
    expect(hub.host('db')).toMatchObject({ power: 'on', phase: 'running' });
    await hub.stop();
  });

  it('shows shutting_down after soft_off until the BMC reads power off', async () => {
    const { hub, clock, bmc } = setup();
    await hub.start();
    await clock.advance(0);
    expect((await hub.execute({ kind: 'host', id: 'db' }, { action: 'soft_off' })).ok).toBe(true);
    await clock.advance(0);
    expect(hub.host('db')).toMatchObject({ power: 'on', phase: 'shutting_down' });
    await clock.advance(10_000);
    expect(hub.host('db')?.phase).toBe('shutting_down');
    bmc.power = 'off';
    await clock.advance(10_000);
    expect(hub.host('db')).toMatchObject({ power: 'off', phase: 'down' });
    await hub.stop();
  });

  it('after a power-on, a probed host shows waking until it answers; an unprobed one is running at once', async () => {
    const { hub, clock, bmc } = setup();
    bmc.power = 'off';
    await hub.start();
    await clock.advance(0);
    // A probe (another adapter of the host) has seen it silent.
    hub.updateHost('db', { reachable: false });
    expect(hub.host('db')?.phase).toBe('down');
    bmc.power = 'on';
    await hub.execute({ kind: 'host', id: 'db' }, { action: 'power_on' });
    await clock.advance(20_000);
    expect(hub.host('db')).toMatchObject({ power: 'on', phase: 'waking' });
    hub.updateHost('db', { reachable: true, phase: 'running' });
    expect(hub.host('db')?.phase).toBe('running');
    await hub.stop();

    const other = setup();
    other.bmc.power = 'off';
    await other.hub.start();
    await other.clock.advance(0);
    other.bmc.power = 'on';
    await other.hub.execute({ kind: 'host', id: 'db' }, { action: 'power_on' });
    await other.clock.advance(0);
    expect(other.hub.host('db')).toMatchObject({ power: 'on', phase: 'running' });
    await other.hub.stop();
  });

  it('gives up on waking when a probed host never answers after a power-on', async () => {
    const { hub, clock, bmc } = setup();
    bmc.power = 'off';
    await hub.start();
    await clock.advance(0);
    hub.updateHost('db', { reachable: false });
    bmc.power = 'on';
    await hub.execute({ kind: 'host', id: 'db' }, { action: 'power_on' });
    await clock.advance(9 * 60_000);
    expect(hub.host('db')?.phase).toBe('waking');
    await clock.advance(2 * 60_000);
    expect(hub.host('db')).toMatchObject({ power: 'on', phase: 'unreachable' });
    await hub.stop();
  });

  it('gives up on shutting_down when the OS ignores the soft-off request', async () => {
    const { hub, clock } = setup();
    await hub.start();
    await hub.execute({ kind: 'host', id: 'db' }, { action: 'soft_off' });
    await clock.advance(9 * 60_000);
    expect(hub.host('db')?.phase).toBe('shutting_down');
    await clock.advance(2 * 60_000);
    expect(hub.host('db')).toMatchObject({ power: 'on', phase: 'running' });
    await hub.stop();
  });

  it('reports an unreachable BMC as power unknown with the reason, warns once, and recovers', async () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', destination: { write: (l: string) => lines.push(l) } });
    const clock = new FakeClock();
    const bmc = new FakeBmc();
    const hub = new Hub({ clock, log });
    hub.addHost('db');
    hub.attach(new IpmiHost('db', ipmiConfig(), () => bmc));
    bmc.failWith = new BlackstartError('TIMEOUT', 'no answer from 127.0.0.1:623 within 5000 ms');
    await hub.start();
    await clock.advance(30_000);
    expect(hub.host('db')).toMatchObject({ power: 'unknown', lastError: 'BMC: no answer from 127.0.0.1:623 within 5000 ms' });
    expect(lines.filter((l) => l.includes('cannot read chassis power'))).toHaveLength(1);
    bmc.failWith = undefined;
    await clock.advance(10_000);
    expect(hub.host('db')).toMatchObject({ power: 'on', phase: 'running', lastError: null });
    expect(lines.some((l) => l.includes('BMC answers again'))).toBe(true);
    expect(lines.join('')).not.toContain('operpw');
    await hub.stop();
  });

  it("passes the BMC's refusal to the caller with its code", async () => {
    const { hub, clock, bmc } = setup();
    await hub.start();
    await clock.advance(0);
    bmc.failWith = new BlackstartError('REFUSED', 'insufficient privilege (0xD4)');
    const r = await hub.execute({ kind: 'host', id: 'db' }, { action: 'power_off' });
    expect(r.ok).toBe(false);
    expect(r.error).toMatchObject({ code: 'REFUSED', message: 'insufficient privilege (0xD4)' });
    expect(bmc.actions).toEqual([]);
    await hub.stop();
  });

  it('leaves wake and shutdown to other methods: the hub answers UNSUPPORTED', async () => {
    const { hub, clock, bmc } = setup();
    await hub.start();
    await clock.advance(0);
    for (const action of ['wake', 'shutdown']) {
      const r = await hub.execute({ kind: 'host', id: 'db' }, { action });
      expect(r.error?.code).toBe('UNSUPPORTED');
    }
    expect(bmc.actions).toEqual([]);
    await hub.stop();
  });

  it('sweeps no sensors with sensor_interval 0s', async () => {
    const { hub, clock, bmc } = setup('0s');
    await hub.start();
    await clock.advance(60_000);
    expect(bmc.sensorCalls).toBe(0);
    expect(hub.sensors('db')).toEqual({});
    expect(hub.host('db')?.power).toBe('on');
    await hub.stop();
  });
});

describe('IPMI host config', () => {
  it('fills the defaults close to ipmitool and keeps the password out of JSON', () => {
    const { config } = parseConfig(YAML(), { env: { DB_BMC: 'operpw' } });
    const cfg = ipmiConfig();
    expect(cfg).toMatchObject({ port: 623, privilege: 'operator', cipherSuite: 'auto', timeout: 1000, retries: 4, keepAlive: 30_000 });
    expect(JSON.stringify(config)).not.toContain('operpw');
    const opts = ipmiClientOptions(cfg);
    expect(opts).toMatchObject({ host: '127.0.0.1', port: 623, username: 'oper', password: 'operpw', cipherSuite: 'auto', timeoutMs: 1000, retries: 4 });
  });

  it('rejects a block without a password, an unknown cipher suite and a too-short sensor interval, by path', () => {
    const block = (extra: string): string => `hosts:\n  db:\n    ipmi:\n      host: 10.0.0.5\n      username: admin\n${extra}`;
    const only = (extra: string, env: NodeJS.ProcessEnv = { P: 'x' }): Record<string, string> =>
      Object.fromEntries(issuesOf(block(extra), env).map((i) => [i.path, i.message]));
    expect(only('')).toEqual({ 'hosts.db.ipmi.password': expect.stringMatching(/password_env or password_file/) });
    expect(only('      password_env: P\n      cipher_suite: 7\n')).toEqual({ 'hosts.db.ipmi.cipher_suite': expect.stringMatching(/auto, ipmi15, 0, 1, 2, 3, 17/) });
    expect(only('      password_env: P\n      sensor_interval: 200ms\n')).toEqual({ 'hosts.db.ipmi.sensor_interval': expect.stringMatching(/0s \(off\) or at least 1s/) });
  });

  it('refuses simulated and ipmi together, and a host with neither', () => {
    const both = issuesOf('hosts:\n  db:\n    simulated: {}\n    ipmi:\n      host: h\n      username: u\n      password_env: P\n', { P: 'x' });
    expect(both.map((i) => i.message).join('\n')).toMatch(/simulated or ipmi, not both/);
    const none = issuesOf('hosts:\n  db:\n    name: Database\n');
    expect(none.map((i) => i.message).join('\n')).toMatch(/add ipmi/);
  });

  it('checks kg is hex before any packet is sent', () => {
    const cfg = ipmiHostSchema.parse({ host: 'h', username: 'u', password: 'p', kg: 'not-hex' });
    // The loader resolves secrets; the schema alone leaves that to us.
    cfg.password?.resolve(new Secret('p', 'inline'));
    cfg.kg?.resolve(new Secret('not-hex', 'inline'));
    expect(() => ipmiClientOptions(cfg)).toThrow(/kg must be hex/);
  });
});
