/** blackstart-outage in process: a whole short outage out of outputs 1 and 2, abort and simulate in. */
import { ALL_NODES, collect, errors, helper, inProcess, initHelper, statuses, until, writeLab } from './lab';

const OUTAGE = `  trigger: { on_battery_after: 500ms }
  restore: { mains_stable_for: 300ms, charge_at_least: 0 }`;
const CUT = `      timeline:
        - { at: 300ms, mains: "off" }
        - { at: 2500ms, mains: "on" }`;

describe('blackstart-outage', () => {
  beforeAll(() => initHelper());
  afterEach(() => helper.unload());

  async function load(opts: { cut: boolean; outage?: string }) {
    const lab = await writeLab({ outage: opts.outage ?? OUTAGE, ...(opts.cut ? { upsExtra: CUT } : {}) });
    await helper.load(ALL_NODES, [
      { id: 'f', type: 'tab' },
      inProcess(lab.file),
      { id: 'o', z: 'f', type: 'blackstart-outage', server: 'cfg', wires: [['state'], ['event'], ['result']] },
      { id: 'c', z: 'f', type: 'catch', scope: ['o'], wires: [['caught']] },
      { id: 'state', z: 'f', type: 'helper' },
      { id: 'event', z: 'f', type: 'helper' },
      { id: 'result', z: 'f', type: 'helper' },
      { id: 'caught', z: 'f', type: 'helper' },
    ]);
    return {
      state: collect(helper.getNode('state')),
      event: collect(helper.getNode('event')),
      result: collect(helper.getNode('result')),
      caught: collect(helper.getNode('caught')),
      dots: statuses(helper.getNode('o')),
    };
  }

  it('sends each phase on output 1 and each event on output 2 through a whole outage', async () => {
    const { state, event, dots } = await load({ cut: true });
    await until('back to normal', () => state.length > 1 && state.at(-1)?.topic === 'normal', 15_000);
    const phases = state.map((m) => m.topic).filter((p, i, all) => p !== all[i - 1]);
    expect(phases).toEqual(['on_battery', 'shutting_down', 'down', 'restoring', 'normal']);
    expect(state.find((m) => m.topic === 'shutting_down')!.payload).toMatchObject({ phase: 'shutting_down', ups: 'rack', plan: expect.any(Array), started: expect.any(String) });
    const types = event.map((m) => m.topic);
    expect(types).toEqual(expect.arrayContaining(['power_lost', 'shutdown_started', 'host_shutdown_done', 'power_restored', 'restore_started', 'restore_finished']));
    expect(event.find((m) => m.topic === 'power_lost')!.payload).toMatchObject({ type: 'power_lost', ups: 'rack', at: expect.any(String) });
    expect(dots).toContainEqual({ fill: 'yellow', shape: 'ring', text: 'shutting down' });
    expect(dots.at(-1)).toEqual({ fill: 'green', shape: 'dot', text: 'normal' });
  }, 20_000);

  it('answers abort (payload) and simulate (msg.action, msg.args) on output 3', async () => {
    // The trigger waits 30 s: the abort lands while on battery.
    const { result, state } = await load({ cut: true, outage: '  trigger: { on_battery_after: 30s }' });
    await until('on battery', () => state.find((m) => m.topic === 'on_battery'));
    helper.getNode('o').receive({ payload: 'abort' });
    const aborted = await until('abort result', () => result[0]);
    expect(aborted).toMatchObject({ payload: { action: 'abort', ok: true, detail: { aborted: 'on_battery' } } });
    helper.getNode('o').receive({ action: 'simulate', args: { outage_at: '10s', restore_at: '5m' } });
    const sim = await until('simulate result', () => result[1], 15_000);
    expect(sim).toMatchObject({ action: 'simulate', payload: { ok: true, detail: expect.any(Object) } });
  }, 20_000);

  it('refuses an unknown action to a Catch node', async () => {
    const { caught, result } = await load({ cut: false });
    const errs = errors(helper.getNode('o'));
    helper.getNode('o').receive({ payload: 'explode' });
    const c = await until('caught', () => caught[0]);
    expect(c.error).toMatchObject({ message: expect.stringContaining('unknown outage action "explode": use abort or simulate') });
    expect((errs[0]!.err as { code?: string }).code).toBe('BAD_REQUEST');
    expect(result).toEqual([]);
    helper.getNode('o').receive({ action: 'abort' });
    await until('second error', () => errs[1]);
    expect(errs[1]!.err).toMatchObject({ code: 'REFUSED', message: expect.stringContaining('nothing to abort: the outage phase is normal') });
  });
});
