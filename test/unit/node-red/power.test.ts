/** blackstart-power in process: settings, msg.host / msg.action overrides, refusals to Catch, status dots. */
import { ALL_NODES, collect, errors, helper, inProcess, initHelper, statuses, until, writeLab } from './lab';

describe('blackstart-power', () => {
  beforeAll(() => initHelper());
  afterEach(() => helper.unload());

  async function load(node: Record<string, unknown>): Promise<{ out: Record<string, unknown>[]; caught: Record<string, unknown>[] }> {
    const lab = await writeLab();
    await helper.load(ALL_NODES, [
      { id: 'f', type: 'tab' },
      inProcess(lab.file),
      { id: 'p', z: 'f', type: 'blackstart-power', server: 'cfg', wires: [['out']], ...node },
      { id: 'c', z: 'f', type: 'catch', scope: ['p'], wires: [['caught']] },
      { id: 'out', z: 'f', type: 'helper' },
      { id: 'caught', z: 'f', type: 'helper' },
    ]);
    return { out: collect(helper.getNode('out')), caught: collect(helper.getNode('caught')) };
  }

  it('runs the configured action on the configured host and sends the result on', async () => {
    const { out } = await load({ host: 'nas', action: 'shutdown' });
    const dots = statuses(helper.getNode('p'));
    helper.getNode('p').receive({ payload: 1, keep: 'me' });
    const m = await until('result', () => out[0]);
    expect(m).toMatchObject({ keep: 'me', topic: 'nas', payload: { action: 'shutdown', ok: true, took_ms: expect.any(Number) } });
    expect(dots).toContainEqual({ fill: 'blue', shape: 'ring', text: 'working · shutdown nas' });
    expect(dots.at(-1)).toEqual({ fill: 'green', shape: 'dot', text: 'ok · shutdown nas' });
  });

  it('takes msg.host and msg.action over its settings', async () => {
    const { out, caught } = await load({ host: 'nas', action: 'shutdown' });
    helper.getNode('p').receive({ host: 'db', action: 'shutdown' });
    await until('db shutdown answered', () => out[0]);
    // The simulated shutdown takes 200 ms after its answer; a wake before then is BUSY.
    await new Promise((r) => setTimeout(r, 600));
    helper.getNode('p').receive({ host: 'db', action: 'wake' });
    const m = await until('db woken', () => out[1] ?? (caught[0] && { caught: caught[0] }));
    expect(m).toMatchObject({ topic: 'db', host: 'db', action: 'wake', payload: { action: 'wake', ok: true } });
  });

  it('refuses an unknown action with BAD_REQUEST, naming the actions, to a Catch node', async () => {
    const { out, caught } = await load({ host: 'nas', action: 'wake' });
    const errs = errors(helper.getNode('p'));
    helper.getNode('p').receive({ action: 'explode', payload: 'x' });
    const c = await until('caught', () => caught[0]);
    expect(c.error).toMatchObject({ message: expect.stringMatching(/unknown action "explode": use one of wake, shutdown, power_on/) });
    expect((errs[0]!.err as { code?: string }).code).toBe('BAD_REQUEST');
    expect(out).toEqual([]);
  });

  it('can be chained: each power node in a row acts on its own host', async () => {
    const lab = await writeLab();
    await helper.load(ALL_NODES, [
      inProcess(lab.file),
      { id: 'p1', type: 'blackstart-power', server: 'cfg', host: 'nas', action: 'shutdown', wires: [['p2']] },
      { id: 'p2', type: 'blackstart-power', server: 'cfg', host: 'db', action: 'shutdown', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    const out = collect(helper.getNode('out'));
    helper.getNode('p1').receive({ payload: 'mains gone' });
    const m = await until('second result', () => out[0]);
    expect(m).toMatchObject({ topic: 'db', payload: { action: 'shutdown', ok: true } });
  });

  it('sends a failed action (unknown host) to a Catch node with the result in msg.payload', async () => {
    const { out, caught } = await load({ host: 'nas', action: 'wake' });
    const dots = statuses(helper.getNode('p'));
    helper.getNode('p').receive({ host: 'ghost' });
    const c = await until('caught', () => caught[0]);
    expect(c).toMatchObject({ host: 'ghost', payload: { ok: false, error: { code: 'NOT_FOUND' } }, error: { message: expect.stringContaining('NOT_FOUND') } });
    expect(out).toEqual([]);
    expect(dots.at(-1)).toMatchObject({ fill: 'red', shape: 'dot' });
  });

  it('refuses a message with no host at all', async () => {
    const { caught } = await load({ action: 'wake' });
    helper.getNode('p').receive({});
    const c = await until('caught', () => caught[0]);
    expect(c.error).toMatchObject({ message: expect.stringContaining('no host') });
  });
});
