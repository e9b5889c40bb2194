/**
 * node-red-contrib-blackstart in a real Node-RED 5 (Node 22) on loopback, with a temp userDir the
 * package is installed into: the palette registers every node type, each example flow deploys with
 * no missing types, a guest switched through the vm nodes on a simulated hypervisor changes state as
 * the flow sees it, and deployed flows act on real peers: a NUT upsd (dummy-ups) going on battery
 * makes the flow shut a host down through a real sshd, and a Wake-on-LAN node's magic packet
 * reaches a UDP listener on 127.0.0.1.
 */
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeMagicPacket, parseMac } from '../../src/adapters/power/wol-codec';
import { NodeRed, nodeRedMissing, simulatedLabYaml, type FlowNode } from '../helpers/node-red';
import { NUT_USERS, nutMissing, startNut, type NutServer } from '../helpers/nut';
import { NUT_PASSWORD_ENV, OB, OL, labConfig, startLab, type Lab } from '../helpers/outage-lab';
import { freePort } from '../helpers/ports';
import { repoRoot } from '../helpers/repo';
import { sshdMissing, startSshd, type SshServer } from '../helpers/sshd';

const PKG_DIR = join(repoRoot(), 'nodes');
const WOL_REPEAT = 2;
const EXAMPLES_DIR = join(PKG_DIR, 'examples');

interface NodesPackage {
  name: string;
  'node-red': { nodes: Record<string, string> };
}

/** Read on demand, so a missing or unbuilt package fails the tests with a clear message instead of the whole file. */
function nodesPackage(): NodesPackage {
  const file = join(PKG_DIR, 'package.json');
  if (!existsSync(file)) throw new Error(`${file} is missing: the Node-RED package is not in this checkout`);
  const pkg = JSON.parse(readFileSync(file, 'utf8')) as NodesPackage;
  for (const [type, rel] of Object.entries(pkg['node-red'].nodes)) {
    for (const f of [rel, rel.replace(/\.js$/, '.html')]) {
      if (!existsSync(join(PKG_DIR, f))) throw new Error(`${type}: ${join(PKG_DIR, f)} is missing: build the package first (npm run build)`);
    }
  }
  return pkg;
}

const exampleFiles = existsSync(EXAMPLES_DIR) ? readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.json')).sort() : [];

/**
 * The deployed copy of an example: inject nodes neither fire on deploy nor repeat, so no example
 * wakes or shuts anything down by itself while the suite runs (network rule: loopback only).
 */
function inert(flow: FlowNode[]): FlowNode[] {
  return flow.map((n) => (n.type === 'inject' ? { ...n, once: false, repeat: '', crontab: '' } : n));
}

const nrMissing = nodeRedMissing();
if (nrMissing) console.warn(`node-red: skipped: ${nrMissing}`);

(nrMissing ? describe.skip : describe)(`node-red-contrib-blackstart in a real Node-RED 5${nrMissing ? ` (skipped: ${nrMissing})` : ''}`, () => {
  let nr: NodeRed;
  let stateDir: string;

  beforeAll(async () => {
    nodesPackage();
    stateDir = mkdtempSync(join(tmpdir(), 'bs-nr-state-'));
    // The examples run Blackstart in-process from blackstart.yaml in the userDir: give them one with simulated devices.
    const all = exampleFiles.flatMap((f) => JSON.parse(readFileSync(join(EXAMPLES_DIR, f), 'utf8')) as FlowNode[]);
    nr = await NodeRed.start({ packages: [PKG_DIR], env: { BLACKSTART_STATE_DIR: stateDir }, files: { 'blackstart.yaml': simulatedLabYaml(all, await freePort()) } });
  }, 40_000);

  afterAll(async () => {
    await nr?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('GET /nodes lists every node type of the package, enabled and loaded without error', async () => {
    const pkg = nodesPackage();
    const types = Object.keys(pkg['node-red'].nodes);
    expect(types.length).toBeGreaterThan(0);
    const sets = (await nr.nodes()).filter((s) => s.module === pkg.name);
    for (const type of types) {
      const set = sets.find((s) => s.name === type);
      expect({ type, found: set !== undefined }).toEqual({ type, found: true });
      expect({ type, enabled: set?.enabled, err: set?.err, types: set?.types }).toEqual({ type, enabled: true, err: undefined, types: expect.arrayContaining([type]) });
    }
    const registered = sets.flatMap((s) => s.types).sort();
    expect(registered).toEqual([...types].sort());
    expect(nr.log()).not.toMatch(new RegExp(`\\[${pkg.name}/`));
  });

  it('ships example flows', () => {
    expect(exampleFiles.length).toBeGreaterThan(0);
  });

  it.each(exampleFiles.length ? exampleFiles : ['(none)'])('example %s deploys through the admin API with no missing types', async (file) => {
    if (file === '(none)') return;
    const flow = JSON.parse(readFileSync(join(EXAMPLES_DIR, file), 'utf8')) as FlowNode[];
    expect(Array.isArray(flow)).toBe(true);
    const from = nr.log().length;
    const { missingTypes, log } = await nr.deploy(inert(flow));
    expect({ file, missingTypes }).toEqual({ file, missingTypes: [] });
    expect(log).not.toMatch(/Waiting for missing types/);
    // The config node starts Blackstart from the file, and every node finds its UPS or host there.
    await new Promise((r) => setTimeout(r, 1000));
    expect(nr.log().slice(from)).not.toMatch(/did not start|\[error\].*\[blackstart-/);
    const deployed = await nr.flows();
    expect(deployed.map((n) => `${n.id}:${n.type}`).sort()).toEqual(flow.map((n) => `${n.id}:${n.type}`).sort());
    const ours = flow.filter((n) => n.type.startsWith('blackstart-'));
    expect(ours.length).toBeGreaterThan(0);
  });

  it('a guest action through vm power changes the state a vm node reports, on a simulated hypervisor', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bs-nr-vm-'));
    try {
      const yaml = join(dir, 'vms.yaml');
      writeFileSync(
        yaml,
        [
          `mqtt: { embedded: { host: 127.0.0.1, port: ${await freePort()} } }`,
          'ups: { rack: { simulated: { interval: 1s } } }',
          'outage: { ups: rack, trigger: { on_battery_after: 24h, low_battery: false, plan: false } }',
          'hosts: { hv: { simulated: {}, vms: { simulated: {}, poll_every: 500ms, guests: { db: { stop: save, simulated: { stop_takes: 300ms } } } } } }',
          '',
        ].join('\n'),
      );
      const states = join(dir, 'states.jsonl');
      const flow: FlowNode[] = [
        { id: 'vtab', type: 'tab', label: 'Switch a guest' },
        { id: 'vcfg', type: 'blackstart-config', name: 'hv lab', mode: 'in_process', configFile: yaml },
        // POST /api/guest with a text body: the body is msg.payload, the action.
        { id: 'vin', type: 'http in', z: 'vtab', name: '', url: '/guest', method: 'post', upload: false, x: 320, y: 120, wires: [['vpow']] },
        { id: 'vpow', type: 'blackstart-vm-power', z: 'vtab', name: '', server: 'vcfg', host: 'hv', guest: 'db', action: 'start', x: 540, y: 120, wires: [['vout']] },
        { id: 'vcatch', type: 'catch', z: 'vtab', name: '', scope: ['vpow'], uncaught: false, x: 540, y: 200, wires: [['vout']] },
        { id: 'vout', type: 'http response', z: 'vtab', name: '', statusCode: '', headers: {}, x: 760, y: 120, wires: [] },
        { id: 'vvm', type: 'blackstart-vm', z: 'vtab', name: '', server: 'vcfg', host: 'hv', guest: 'db', x: 540, y: 280, wires: [['vlog']] },
        { id: 'vlog', type: 'file', z: 'vtab', name: '', filename: states, filenameType: 'str', appendNewline: true, createDir: true, overwriteFile: 'false', encoding: 'none', x: 760, y: 280, wires: [] },
        // GET /api/guest-state: a second vm node answers with the current state.
        { id: 'vnowin', type: 'http in', z: 'vtab', name: '', url: '/guest-state', method: 'get', upload: false, x: 320, y: 360, wires: [['vnow']] },
        { id: 'vnow', type: 'blackstart-vm', z: 'vtab', name: '', server: 'vcfg', host: 'hv', guest: 'db', x: 540, y: 360, wires: [['vnowout']] },
        { id: 'vnowout', type: 'http response', z: 'vtab', name: '', statusCode: '', headers: {}, x: 760, y: 360, wires: [] },
      ];
      const { missingTypes } = await nr.deploy(flow);
      expect(missingTypes).toEqual([]);
      const seen = (): string[] =>
        existsSync(states)
          ? readFileSync(states, 'utf8')
              .split('\n')
              .filter((l) => l.trim() !== '')
              .map((l) => (JSON.parse(l) as { state: string }).state)
          : [];
      const waitFor = async (what: string, fn: () => Promise<boolean> | boolean): Promise<void> => {
        const deadline = Date.now() + 15_000;
        while (!(await Promise.resolve().then(fn).catch(() => false))) {
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; states seen: ${seen().join(', ')}\n--- Node-RED log (tail):\n${nr.log().slice(-4000)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      await waitFor('db read running', async () => {
        const r = await fetch(`${nr.url}/api/guest-state`, { signal: AbortSignal.timeout(5000) });
        return r.status === 200 && ((await r.json()) as { state?: string }).state === 'running';
      });
      const from = seen().length;

      const act = (action: string): Promise<Record<string, unknown>> =>
        fetch(`${nr.url}/api/guest`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: action, signal: AbortSignal.timeout(15_000) }).then((r) => r.json() as Promise<Record<string, unknown>>);
      expect(await act('save')).toMatchObject({ action: 'save', ok: true, detail: { verified_by: 'hypervisor', state: 'saved' } });
      await waitFor('saved on the vm output', () => seen().slice(from).includes('saved'));
      expect(await act('start')).toMatchObject({ action: 'start', ok: true, detail: { state: 'running' } });
      await waitFor('running again on the vm output', () => seen().slice(from).includes('running'));
      expect(seen().slice(from)).toEqual(['stopping', 'saved', 'running']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 45_000);
});

const peersMissing = nrMissing ?? nutMissing() ?? sshdMissing();
if (peersMissing && !nrMissing) console.warn(`node-red flows on real peers: skipped: ${peersMissing}`);

(peersMissing ? describe.skip : describe)(`Node-RED flows acting on real peers${peersMissing ? ` (skipped: ${peersMissing})` : ''}`, () => {
  let nut: NutServer;
  let sshd: SshServer;
  let lab: Lab;
  let nr: NodeRed;
  let dir: string;
  let wolListener: Socket;
  let wolPort: number;
  const wolPackets: Buffer[] = [];
  const recorded = (file: string): Record<string, unknown>[] =>
    existsSync(join(dir, file))
      ? readFileSync(join(dir, file), 'utf8')
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as Record<string, unknown>)
      : [];
  const until = async (what: string, fn: () => boolean, ms: number): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!fn()) {
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${ms} ms waiting for ${what}\n--- Node-RED log (tail):\n${nr.log().slice(-6000)}\n--- ups messages:\n${JSON.stringify(recorded('ups.jsonl').slice(-5))}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const untilAsync = async (what: string, fn: () => Promise<boolean>, ms: number): Promise<void> => {
    const deadline = Date.now() + ms;
    let last = '';
    for (;;) {
      try {
        if (await fn()) return;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what} (${last})\n--- Node-RED log (tail):\n${nr.log().slice(-6000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    nodesPackage();
    [nut, sshd] = await Promise.all([startNut({ ups: { labups: OL } }), startSshd()]);
    lab = await startLab([{ id: 'nas' }], sshd);
    dir = mkdtempSync(join(tmpdir(), 'bs-nr-flow-'));
    wolListener = createSocket('udp4');
    wolListener.on('message', (m) => wolPackets.push(m));
    await new Promise<void>((r) => wolListener.bind(0, '127.0.0.1', r));
    wolPort = wolListener.address().port;
    // The trigger would only fire after an hour on battery: within the test, only the flow shuts nas down.
    writeFileSync(
      join(dir, 'blackstart.yaml'),
      labConfig({ mqttPort: await freePort(), nut, sshd, lab, journal: join(dir, 'journal.jsonl'), trigger: ['    on_battery_after: 1h', '    low_battery: false', '    plan: false'] }),
    );
    nr = await NodeRed.start({
      packages: [PKG_DIR],
      env: { BLACKSTART_STATE_DIR: join(dir, 'state'), [NUT_PASSWORD_ENV]: NUT_USERS.monuser.password },
    });
  }, 60_000);

  afterAll(async () => {
    await nr?.stop();
    await lab?.close();
    if (wolListener) await new Promise<void>((r) => wolListener.close(() => r()));
    await Promise.all([nut?.stop(), sshd?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('UPS on battery → switch → power node: the sshd records one shutdown of nas', async () => {
    const file = (id: string, name: string, x: number, y: number): FlowNode => ({ id, type: 'file', z: 'tab', name, filename: join(dir, name), filenameType: 'str', appendNewline: true, createDir: true, overwriteFile: 'false', encoding: 'none', x, y, wires: [] });
    const flow: FlowNode[] = [
      { id: 'tab', type: 'tab', label: 'On battery: shut nas down' },
      { id: 'cfg', type: 'blackstart-config', name: 'lab', mode: 'in_process', configFile: join(dir, 'blackstart.yaml') },
      { id: 'ups', type: 'blackstart-ups', z: 'tab', name: 'lab UPS', server: 'cfg', ups: 'lab', onBatteryS: 0, x: 320, y: 120, wires: [['onbattery', 'upslog']] },
      { id: 'onbattery', type: 'switch', z: 'tab', name: 'on battery?', property: 'topic', propertyType: 'msg', rules: [{ t: 'eq', v: 'on_battery', vt: 'str' }], checkall: 'true', repair: false, outputs: 1, x: 540, y: 120, wires: [['power']] },
      { id: 'power', type: 'blackstart-power', z: 'tab', name: 'shut nas down', server: 'cfg', host: 'nas', action: 'shutdown', x: 760, y: 120, wires: [['resultlog']] },
      { id: 'catch', type: 'catch', z: 'tab', name: '', scope: ['power'], uncaught: false, x: 540, y: 280, wires: [['failurelog']] },
      // The current UPS state on request, from a second UPS node whose output only answers HTTP.
      { id: 'statein', type: 'http in', z: 'tab', name: '', url: '/ups-state', method: 'get', upload: false, x: 320, y: 360, wires: [['upsnow']] },
      { id: 'upsnow', type: 'blackstart-ups', z: 'tab', name: 'lab UPS now', server: 'cfg', ups: 'lab', onBatteryS: 0, x: 540, y: 360, wires: [['stateout']] },
      { id: 'stateout', type: 'http response', z: 'tab', name: '', statusCode: '', headers: {}, x: 760, y: 360, wires: [] },
      file('upslog', 'ups.jsonl', 540, 200),
      file('resultlog', 'results.jsonl', 980, 120),
      file('failurelog', 'failures.jsonl', 760, 280),
    ];
    const { missingTypes } = await nr.deploy(flow);
    expect(missingTypes).toEqual([]);

    await untilAsync('the UPS node to see the UPS online', async () => {
      const r = await getText(nr.port, '/api/ups-state');
      return r.status === 200 && (JSON.parse(r.body) as { status?: unknown }).status === 'online';
    }, 15_000);
    expect(sshd.commands()).toEqual([]);

    nut.setVars('labups', OB);
    await until('the sshd to record shutdown-host nas', () => lab.shutdownCommands().length > 0, 20_000);
    await until('nas to stop answering', () => !lab.host('nas').answering, 5000);
    await until('the power node result', () => recorded('results.jsonl').length > 0, 25_000);
    // Long enough for a duplicate to show up: several UPS polls and probe rounds.
    await new Promise((r) => setTimeout(r, 2000));
    expect(lab.shutdownCommands()).toEqual(['shutdown-host nas']);
    const results = recorded('results.jsonl');
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ action: 'shutdown', ok: true });
    expect(recorded('failures.jsonl')).toEqual([]);
    // The UPS node announced the cut once, as on_battery.
    expect(recorded('ups.jsonl').filter((m) => m.status === 'on_battery')).toHaveLength(1);
    expect(nr.log()).not.toContain(NUT_USERS.monuser.password);
  }, 60_000);

  it('a Wake-on-LAN node sends the magic packet to a UDP listener on 127.0.0.1', async () => {
    const mac = '02:00:5e:10:00:42';
    const flow: FlowNode[] = [
      { id: 'tab2', type: 'tab', label: 'Wake' },
      { id: 'httpin', type: 'http in', z: 'tab2', name: '', url: '/wake', method: 'post', upload: false, x: 320, y: 120, wires: [['wol']] },
      wolNode('wol', 'tab2', mac, wolPort, [['httpout']]),
      { id: 'httpout', type: 'http response', z: 'tab2', name: '', statusCode: '', headers: {}, x: 760, y: 120, wires: [] },
    ];
    const { missingTypes } = await nr.deploy(flow);
    expect(missingTypes).toEqual([]);
    const r = await postJson(nr.port, '/api/wake', {});
    expect(r.status).toBe(200);
    await until(`${WOL_REPEAT} magic packets`, () => wolPackets.length >= WOL_REPEAT, 5000);
    await new Promise((res) => setTimeout(res, 300));
    // 6 × 0xff, then the MAC 16 times: 102 bytes, nothing else.
    const macBytes = Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
    const expected = Buffer.concat([Buffer.alloc(6, 0xff), ...Array.from({ length: 16 }, () => macBytes)]);
    expect(encodeMagicPacket(parseMac(mac))).toEqual(expected);
    expect(wolPackets).toHaveLength(WOL_REPEAT);
    for (const p of wolPackets) expect(p).toEqual(expected);
    expect(JSON.parse(r.body)).toMatchObject({ address: '127.0.0.1', port: wolPort });
  }, 30_000);
});

function wolNode(id: string, z: string, mac: string, port: number, wires: string[][]): FlowNode {
  return { id, type: 'blackstart-wol', z, name: 'wake test card', mac, address: '127.0.0.1', port: String(port), repeat: WOL_REPEAT, password: '', x: 540, y: 120, wires };
}

function getText(port: number, path: string): Promise<{ status: number; body: string }> {
  return fetch(`http://127.0.0.1:${port}${path}`).then(async (r) => ({ status: r.status, body: await r.text() }));
}

function postJson(port: number, path: string, body: unknown): Promise<{ status: number; body: string }> {
  return fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: await r.text() }));
}
