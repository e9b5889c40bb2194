/**
 * `blackstart agent` end to end through a real Mosquitto with per-user ACLs: the agent runs as a
 * child process, the hub side is a running startBlackstart (its MQTT agent requester), the
 * shutdown is a real command that records instead of powering off, and the Wake-on-LAN relay
 * sends to a UDP listener on 127.0.0.1 named in the agent's config.
 */
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentShutdown, relayWake } from '../../src/adapters/power/agent';
import { startBlackstart, type Blackstart } from '../../src/app';
import { parseConfig } from '../../src/config/loader';
import { silentLogger } from '../../src/core/logger';
import { cli, stopRun, until, type CliRun } from '../helpers/cli-run';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto';
import { sleep, Watcher } from '../helpers/mqtt-watch';
import { repoRoot } from '../helpers/repo';

const HUB = { username: 'hub', password: 'hub-pw-7e1a90', acl: ['topic readwrite blackstart/#'] };
const agentUser = (id: string, ups?: string) => ({
  username: `agent-${id}`,
  password: `agent-${id}-pw-c4f2b8`,
  acl: [
    `topic write blackstart/agent/${id}`,
    `topic write blackstart/agent/${id}/result`,
    `topic read blackstart/agent/${id}/set`,
    ...(ups ? [`topic read blackstart/ups/${ups}`] : []),
  ],
});
const WEB1 = agentUser('web1');
const WEB2 = agentUser('web2', 'rack');
const MAC = '00:1B:21:3a:4C:5d';

interface Udp {
  port: number;
  packets: Buffer[];
  close(): void;
}

async function udpListener(): Promise<Udp> {
  const socket: Socket = createSocket('udp4');
  const packets: Buffer[] = [];
  socket.on('message', (m) => packets.push(m));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, packets, close: () => socket.close() };
}

describe('blackstart agent through a real Mosquitto', () => {
  let mosq: Mosquitto;
  let app: Blackstart;
  let watch: Watcher;
  let udp: Udp;
  let web1: CliRun;
  let web2: CliRun | undefined;
  let ran1: string;
  let ran2: string;

  const agentConfig = (id: string, user: { username: string }, ranFile: string, extra: string): string => {
    const file = join(mosq.dir, `${id}.yaml`);
    writeFileSync(
      file,
      `id: ${id}
mqtt:
  url: ${mosq.url}
  username: ${user.username}
  password_env: BS_AGENT_PW
  reconnect_max: 1s
shutdown:
  command:
    command: [/bin/sh, -c, "echo shutdown-ran >> ${ranFile}"]
    timeout: 10s
${extra}`,
    );
    return file;
  };

  /** What a newcomer subscribing now is given as retained on `topic`. */
  const retainedOn = async (topic: string): Promise<string> => {
    const fresh = await Watcher.connect(mosq.url, { username: HUB.username, password: HUB.password }, [topic]);
    try {
      return (await fresh.waitFor((m) => m.retain, 5000, `a retained message on ${topic}`)).text;
    } finally {
      await fresh.close();
    }
  };

  beforeAll(async () => {
    mosq = await startMosquitto([HUB, WEB1, WEB2]);
    udp = await udpListener();
    ran1 = join(mosq.dir, 'web1-ran');
    ran2 = join(mosq.dir, 'web2-ran');
    watch = await Watcher.connect(mosq.url, { username: HUB.username, password: HUB.password, protocolVersion: 5 }, ['blackstart/#']);
    // The hub's host web1 is shut down and woken through the agent of the same name.
    const hubConfig = parseConfig(
      `mqtt:\n  url: ${mosq.url}\n  username: ${HUB.username}\n  password_env: BS_HUB_PW\nhosts:\n  web1:\n    wol: { mac: '${MAC}', relay: web1 }\n    shutdown:\n      agent: { id: web1, timeout: 5s }\n`,
      { env: { BS_HUB_PW: HUB.password } },
    );
    app = await startBlackstart(hubConfig.config, { log: silentLogger() });
    await app.bridge.ready();
    const cfg = agentConfig('web1', WEB1, ran1, `wol_relay:\n  address: 127.0.0.1\n  port: ${udp.port}\n  repeat: 1\n`);
    web1 = cli(['agent', '-c', cfg, '--log-level', 'debug'], { BS_AGENT_PW: WEB1.password });
  });

  afterAll(async () => {
    await stopRun(web1, 'SIGKILL');
    await stopRun(web2, 'SIGKILL');
    await app?.stop();
    await watch?.close();
    udp?.close();
    await mosq?.close();
  });

  it('announces itself with a retained online on its availability topic', async () => {
    await watch.waitForTopic('blackstart/agent/web1', (x) => x.text === 'online', 10_000);
    expect(await retainedOn('blackstart/agent/web1')).toBe('online');
    // The hub has seen it too, so requests go out.
    await until(() => app.agents.availabilityOf('web1') === 'online', 10_000, 'the hub to see web1 online', web1);
    const ping = await app.agents.request('web1', { action: 'ping' }, 5000);
    expect(ping).toMatchObject({ ok: true, detail: { agent: 'web1', dry_run: false, wol_relay: true, shutdown: expect.stringMatching(/^command \/bin\/sh -c/) } });
  });

  it('ignores commands on another agent\'s topic; answers unknown actions with BAD_REQUEST', async () => {
    await watch.publish('blackstart/agent/web9/set', JSON.stringify({ action: 'shutdown', id: 'not-for-web1' }));
    const reply = await app.agents.request('web1', { action: 'reboot' }, 5000);
    expect(reply).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', message: expect.stringMatching(/unknown action "reboot"/) } });
    await expect(app.agents.request('web1', { action: 'ping', args: { x: 1 } }, 5000)).resolves.toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(existsSync(ran1)).toBe(false);
    expect(watch.messages.some((m) => m.topic === 'blackstart/agent/web1/result' && /not-for-web1/.test(m.text))).toBe(false);
    // An agent nobody runs: the request times out and says the agent never announced itself.
    await expect(app.agents.request('ghost', { action: 'ping' }, 300)).rejects.toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/never announced itself on blackstart\/agent\/ghost/) });
  });

  it('relays Wake-on-LAN to the address in its own config, with the exact magic packet', async () => {
    const reply = await relayWake(app.agents, 'web1', { mac: MAC });
    expect(reply.detail).toEqual({ mac: '00:1b:21:3a:4c:5d', address: '127.0.0.1', port: udp.port, sent: 1 });
    await until(() => udp.packets.length >= 1, 5000, 'the magic packet');
    expect(udp.packets[0]).toEqual(readFileSync(join(repoRoot(), 'test/fixtures/wol/wakeonlan-001b213a4c5d.bin')));

    await relayWake(app.agents, 'web1', { mac: MAC, password: 'de:ad:be:ef' });
    await until(() => udp.packets.length >= 2, 5000, 'the SecureOn packet');
    expect(udp.packets[1]?.length).toBe(106);
    expect(udp.packets[1]?.subarray(102)).toEqual(Buffer.from([0xde, 0xad, 0xbe, 0xef]));

    // The hub names the card only: a destination in the command is refused, nothing is sent.
    await expect(app.agents.request('web1', { action: 'wake', args: { mac: MAC, address: '127.0.0.255' } }, 5000)).resolves.toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST', message: expect.stringMatching(/unknown field address/) },
    });
    expect(udp.packets).toHaveLength(2);

    // The same through the hub: the host's wol block names the agent as its relay.
    const viaHub = await app.hub.execute({ kind: 'host', id: 'web1' }, { action: 'wake', id: 'w-1' });
    expect(viaHub).toMatchObject({ ok: true });
    await until(() => udp.packets.length >= 3, 5000, 'the packet relayed for the hub');
    expect(udp.packets[2]).toEqual(udp.packets[0]);
  });

  it('runs its shutdown once when the hub commands it, answering accepted first', async () => {
    const method = new AgentShutdown({ agentId: 'web1', requester: app.agents, timeoutMs: 5000 });
    const dry = await method.run({ dryRun: true });
    expect(dry.output).toMatch(/runs: command \/bin\/sh -c/);
    expect(existsSync(ran1)).toBe(false);

    // Through the hub, as `/set shutdown` on blackstart/host/web1 would: the host's shutdown block names the agent.
    const result = await app.hub.execute({ kind: 'host', id: 'web1' }, { action: 'shutdown', id: 'sd-1' });
    expect(result).toMatchObject({ ok: true, detail: { method: 'agent', verified_by: 'none', steps: [{ name: 'shutdown', status: 'accepted' }] } });
    const done = await watch.waitForTopic('blackstart/agent/web1/result', (m) => (m.json().detail as { done?: boolean } | undefined)?.done === true, 10_000);
    expect(done.json()).toMatchObject({ action: 'shutdown', ok: true, detail: { method: 'command', dry_run: false, steps: [{ name: 'exec', status: 0 }] } });
    expect(readFileSync(ran1, 'utf8')).toBe('shutdown-ran\n');

    const again = await app.agents.request('web1', { action: 'shutdown' }, 5000);
    expect(again).toMatchObject({ ok: true, detail: { accepted: true, already_started: true } });
    expect(readFileSync(ran1, 'utf8')).toBe('shutdown-ran\n');
  });

  it('follows a UPS on its own: mains back in time cancels, on battery past `after` shuts down', async () => {
    const cfg = agentConfig('web2', WEB2, ran2, `follow_ups:\n  ups: rack\n  after: 1s\n`);
    // A retained command would run at every start of the agent: it is ignored.
    await watch.publish('blackstart/agent/web2/set', JSON.stringify({ action: 'shutdown', id: 'retained' }), { qos: 1, retain: true });
    web2 = cli(['agent', '-c', cfg, '--log-level', 'debug'], { BS_AGENT_PW: WEB2.password });
    await until(() => app.agents.availabilityOf('web2') === 'online', 10_000, 'web2 online', web2);
    await until(() => web2!.stdout().includes('ignored a retained command'), 5000, 'web2 to ignore the retained command', web2);
    await watch.publish('blackstart/agent/web2/set', '', { qos: 1, retain: true });
    const counting = async (): Promise<boolean> => {
      const r = await app.agents.request('web2', { action: 'ping' }, 5000);
      return (r.detail?.follow_ups as { counting: boolean }).counting;
    };
    await watch.publish('blackstart/ups/rack', JSON.stringify({ status: 'on_battery' }), { qos: 1, retain: true });
    await until(() => web2!.stdout().includes('on battery: this machine shuts down'), 5000, 'web2 to start counting', web2);
    await watch.publish('blackstart/ups/rack', JSON.stringify({ status: 'online' }), { qos: 1, retain: true });
    await until(() => web2!.stdout().includes('countdown cancelled'), 5000, 'web2 to cancel', web2);
    expect(await counting()).toBe(false);
    await sleep(1500);
    expect(existsSync(ran2)).toBe(false);

    await watch.publish('blackstart/ups/rack', JSON.stringify({ status: 'on_battery' }), { qos: 1, retain: true });
    const done = await watch.waitForTopic('blackstart/agent/web2/result', (m) => (m.json().detail as { done?: boolean } | undefined)?.done === true, 10_000);
    expect(done.json()).toMatchObject({ id: null, action: 'shutdown', ok: true });
    expect(watch.messages.find((m) => m.topic === 'blackstart/agent/web2/result' && (m.json().detail as { accepted?: boolean } | undefined)?.accepted)?.json()).toMatchObject({
      detail: { reason: expect.stringMatching(/follow_ups: UPS rack on battery for 1000 ms/) },
    });
    expect(readFileSync(ran2, 'utf8')).toBe('shutdown-ran\n');
    await watch.publish('blackstart/ups/rack', '', { qos: 1, retain: true });
  });

  it('goes offline (its last will) when killed, and the hub then fails fast with UNREACHABLE', async () => {
    web1.proc.kill('SIGKILL');
    await web1.code;
    await watch.waitForTopic('blackstart/agent/web1', (x) => x.text === 'offline', 10_000);
    expect(await retainedOn('blackstart/agent/web1')).toBe('offline');
    await until(() => app.agents.availabilityOf('web1') === 'offline', 5000, 'the hub to see web1 offline');
    await expect(app.agents.request('web1', { action: 'ping' }, 60_000)).rejects.toMatchObject({ code: 'UNREACHABLE' });
  });

  it('says offline and exits 0 on SIGTERM', async () => {
    const from = watch.messages.length;
    web2!.proc.kill('SIGTERM');
    expect(await web2!.code).toBe(0);
    await watch.waitForTopic('blackstart/agent/web2', (x) => x.text === 'offline' && watch.messages.indexOf(x) >= from, 10_000);
    expect(await retainedOn('blackstart/agent/web2')).toBe('offline');
  });

  it('refuses to start beyond loopback without broker credentials', async () => {
    const file = join(mosq.dir, 'remote.yaml');
    writeFileSync(file, `id: web3\nmqtt:\n  url: mqtt://192.0.2.10:1883\nshutdown:\n  command:\n    command: [/bin/true]\n`);
    const run = cli(['agent', '-c', file]);
    expect(await run.code).toBe(1);
    expect(run.stderr()).toMatch(/mqtt\.username.*beyond loopback/);
  });

  it('never shows a broker password in its output or on any topic', () => {
    const output = [web1.stdout(), web1.stderr(), web2?.stdout() ?? '', web2?.stderr() ?? ''].join('\n');
    expect(output).toMatch(/agent starting/);
    for (const pw of [WEB1.password, WEB2.password, HUB.password]) {
      expect(output).not.toContain(pw);
      for (const m of watch.messages) expect(m.text).not.toContain(pw);
    }
  });
});
