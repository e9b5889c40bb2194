/** blackstart-host in process: one message per phase change, msg.topic the phase, the current state on input. */
import type { BlackstartSource } from '../../../src/source/source';
import { ALL_NODES, collect, errors, helper, inProcess, initHelper, statuses, until, writeLab } from './lab';

describe('blackstart-host', () => {
  beforeAll(() => initHelper());
  afterEach(() => helper.unload());

  it('follows a shutdown and a wake phase by phase, with dots from the status table', async () => {
    const lab = await writeLab();
    await helper.load(ALL_NODES, [
      { id: 'f', type: 'tab' },
      inProcess(lab.file),
      { id: 'h', z: 'f', type: 'blackstart-host', server: 'cfg', host: 'nas', wires: [['out']] },
      { id: 'p', z: 'f', type: 'blackstart-power', server: 'cfg', host: 'nas', wires: [['done']] },
      { id: 'out', z: 'f', type: 'helper' },
      { id: 'done', z: 'f', type: 'helper' },
    ]);
    const got = collect(helper.getNode('out'));
    const done = collect(helper.getNode('done'));
    const dots = statuses(helper.getNode('h'));
    helper.getNode('p').receive({ action: 'shutdown' });
    await until('down', () => got.find((m) => m.topic === 'down'));
    helper.getNode('p').receive({ action: 'wake' });
    await until('running again', () => got.find((m) => m.topic === 'running'));
    await until('both results', () => done.length === 2);
    expect(got.map((m) => m.topic)).toEqual(['shutting_down', 'down', 'waking', 'running']);
    expect(got[1]).toMatchObject({ host: 'nas', previous: 'shutting_down', payload: { phase: 'down', reachable: expect.anything(), since: expect.any(String) } });
    expect(dots).toContainEqual({ fill: 'grey', shape: 'dot', text: 'down' });
    expect(dots.at(-1)).toEqual({ fill: 'green', shape: 'dot', text: 'running' });

    helper.getNode('h').receive({ payload: 'now?' });
    const now = await until('state', () => got[4]);
    expect(now).toMatchObject({ topic: 'running', host: 'nas', payload: { phase: 'running' } });
  });

  it('does not set the same dot again when a probe only moves the latency', async () => {
    const lab = await writeLab();
    await helper.load(ALL_NODES, [inProcess(lab.file), { id: 'h', type: 'blackstart-host', server: 'cfg', host: 'nas', wires: [] }]);
    const calls = statuses(helper.getNode('h'));
    const source = await (helper.getNode('cfg') as unknown as { source(): Promise<BlackstartSource> }).source();
    await until('online', () => source.online);
    const state = source.host('nas')!;
    const tick = () => new Promise((r) => setImmediate(r)); // the helper reports a call on the next tick
    await tick();
    const shown = calls.length;
    for (let i = 1; i <= 3; i++) source.emit('host', 'nas', { ...state, phase: 'waking', latencyMs: i });
    await tick();
    expect(calls.slice(shown)).toEqual([{ fill: 'blue', shape: 'ring', text: 'waking' }]);
  });

  it('reports an unknown host on input as an error with the message', async () => {
    const lab = await writeLab();
    await helper.load(ALL_NODES, [inProcess(lab.file), { id: 'h', type: 'blackstart-host', server: 'cfg', host: 'ghost', wires: [] }]);
    const errs = errors(helper.getNode('h'));
    const dots = statuses(helper.getNode('h'));
    helper.getNode('h').receive({ payload: 1, tag: 't' });
    await until('error', () => errs[0]);
    expect(String(errs[0]!.err)).toMatch(/no state for host "ghost"/);
    expect(errs[0]!.err).toMatchObject({ name: 'BlackstartError', code: 'NOT_FOUND' });
    expect(errs[0]!.msg).toMatchObject({ tag: 't' });
    // A state node's dot shows the state, not a failed request.
    expect(dots.filter((d) => d.fill === 'red' && d.shape === 'dot')).toEqual([]);
  });
});
