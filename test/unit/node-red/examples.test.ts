/**
 * The flows in nodes/examples/ (what Node-RED's import menu lists): every node type exists, wires and
 * config references resolve, nodes sit clear of the editor's edge; and the classic scenario and the
 * guest switch run against a simulated lab with their timings shortened.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { loadConfig } from '../../../src/config/loader';
import { repoRoot as root } from '../../helpers/repo';
import { ALL_NODES, collect, helper, initHelper, statuses, until, writeLab } from './lab';

type FlowNode = Record<string, unknown> & { id: string; type: string; wires?: string[][] };

const repoRoot = root();
const examplesDir = join(repoRoot, 'nodes', 'examples');
const coreDir = join(dirname(require.resolve('@node-red/nodes/package.json')), 'core');
const files = readdirSync(examplesDir).filter((f) => f.endsWith('.json'));

function coreTypes(): Set<string> {
  const types = new Set<string>(['tab']);
  for (const sub of readdirSync(coreDir)) {
    for (const f of readdirSync(join(coreDir, sub)).filter((n) => n.endsWith('.js'))) {
      for (const m of readFileSync(join(coreDir, sub, f), 'utf8').matchAll(/registerType\(\s*["']([^"']+)["']/g)) types.add(m[1]!);
    }
  }
  return types;
}

describe('example flows', () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'nodes', 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } };
  const known = coreTypes();
  for (const t of Object.keys(pkg['node-red'].nodes)) known.add(t);

  it('there are the four of them', () => {
    expect(files).toHaveLength(4);
  });

  it('the shipped lab (blackstart.example.yaml) is a valid config with every UPS, host and guest the examples name', () => {
    const { config } = loadConfig(join(repoRoot, 'nodes', 'blackstart.example.yaml'));
    for (const file of files) {
      const flow = JSON.parse(readFileSync(join(examplesDir, file), 'utf8')) as FlowNode[];
      for (const n of flow) {
        if (n.type === 'blackstart-ups') expect(Object.keys(config.ups)).toContain(n.ups);
        if (n.type === 'blackstart-power' || n.type === 'blackstart-host') expect(Object.keys(config.hosts)).toContain(n.host);
        if (n.type === 'blackstart-vm' || n.type === 'blackstart-vm-power') expect(Object.keys(config.hosts[n.host as string]?.vms?.guests ?? {})).toContain(n.guest);
      }
    }
    // The flows decide: the orchestrator's own trigger must not fire within a demo's lifetime.
    expect(config.outage.trigger).toEqual({ onBatteryAfter: 24 * 3600_000 });
  });

  it.each(files)('%s uses only existing node types, and its references resolve', (file) => {
    const flow = JSON.parse(readFileSync(join(examplesDir, file), 'utf8')) as FlowNode[];
    const ids = new Set(flow.map((n) => n.id));
    expect(ids.size).toBe(flow.length);
    for (const n of flow) {
      expect([n.id, known.has(n.type)]).toEqual([n.id, true]);
      for (const target of (n.wires ?? []).flat()) expect(ids).toContain(target);
      for (const key of ['server', 'broker', 'z'] as const) if (typeof n[key] === 'string' && n.type !== 'mqtt-broker') expect(ids).toContain(n[key]);
      if (typeof n.x === 'number') expect(n.x).toBeGreaterThanOrEqual(300);
    }
  });

  describe('1: shut down on battery, master last, against a simulated lab', () => {
    beforeAll(() => initHelper());
    afterEach(() => helper.unload());

    it('shuts down nas, web, db and master in that order once the UPS has been on battery long enough', async () => {
      const lab = await writeLab({ upsExtra: '      timeline:\n        - { at: 200ms, mains: "off" }' });
      // The example's hosts, added to the lab.
      writeFileSync(lab.file, readFileSync(lab.file, 'utf8').replace('hosts:\n', 'hosts:\n  web: { simulated: { shutdown_takes: 100ms } }\n  master: { simulated: { shutdown_takes: 100ms } }\n'));
      const flow = (JSON.parse(readFileSync(join(examplesDir, '1-shutdown-on-battery.json'), 'utf8')) as FlowNode[]).map((n) => {
        if (n.type === 'blackstart-config') return { ...n, configFile: lab.file };
        if (n.type === 'blackstart-ups') return { ...n, onBatteryS: 0.5 };
        if (n.type === 'debug') return { ...n, type: 'helper', wires: [] };
        return n;
      });
      const load = createRequire(__filename);
      const core = ['function/10-switch.js', 'common/25-catch.js', 'common/90-comment.js'].map((f) => load(join(coreDir, f)) as (RED: never) => void);
      await helper.load([...ALL_NODES, ...core], flow);
      const allDown = collect(helper.getNode('a1dbg'));
      const order: string[] = [];
      for (const id of ['a1p1', 'a1p2', 'a1p3', 'a1p4']) helper.getNode(id).on('call:send', () => order.push(id));
      const m = await until('all down', () => allDown[0], 15_000);
      expect(m).toMatchObject({ topic: 'master', payload: { action: 'shutdown', ok: true } });
      expect(order).toEqual(['a1p1', 'a1p2', 'a1p3', 'a1p4']);
    }, 20_000);
  });

  describe('4: switch a guest from inject nodes, against a simulated lab', () => {
    beforeAll(() => initHelper());
    afterEach(() => helper.unload());

    it('saves and starts hv/app from its injects, and its state debug node sees stopping, saved and running', async () => {
      const lab = await writeLab({
        hosts: [
          '  hv:',
          '    simulated: {}',
          '    vms:',
          '      simulated: {}',
          '      poll_every: 500ms',
          '      guests:',
          '        app: { stop: save, simulated: { stop_takes: 300ms, start_takes: 300ms } }',
        ].join('\n'),
      });
      const flow = (JSON.parse(readFileSync(join(examplesDir, '4-switch-a-guest.json'), 'utf8')) as FlowNode[]).map((n) => {
        if (n.type === 'blackstart-config') return { ...n, configFile: lab.file };
        if (n.type === 'debug') return { ...n, type: 'helper', wires: [] };
        return n;
      });
      const load = createRequire(__filename);
      const core = ['common/20-inject.js', 'common/25-catch.js', 'common/90-comment.js'].map((f) => load(join(coreDir, f)) as (RED: never) => void);
      await helper.load([...ALL_NODES, ...core], flow);
      const states = collect(helper.getNode('d4state'));
      const results = collect(helper.getNode('d4res'));
      const failed = collect(helper.getNode('d4fail'));
      const dots = statuses(helper.getNode('d4vm'));
      // Read running before the node attached (no message) or after (one): the dot says so either way.
      await until('app read running', () => dots.find((d) => d.text === 'running'));
      const from = states.length;

      // An inject node's input is what its button sends.
      helper.getNode('d4save').receive({});
      expect(await until('save result', () => results[0])).toMatchObject({ topic: 'hv/app', payload: { action: 'save', ok: true } });
      helper.getNode('d4start').receive({});
      expect(await until('start result', () => results[1])).toMatchObject({ topic: 'hv/app', payload: { action: 'start', ok: true } });
      await until('running again', () => states.slice(from).find((m) => m.topic === 'running'));
      expect(states.slice(from).map((m) => m.topic)).toEqual(['stopping', 'saved', 'running']);
      expect(failed).toEqual([]);
    }, 20_000);
  });
});
