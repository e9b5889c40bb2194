/** blackstart-ups in process: events by msg.topic, the on-battery hold, status dots, errors to Catch. */
import { ALL_NODES, collect, errors, helper, inProcess, initHelper, statuses, until, writeLab } from './lab';

const mainsOffThenOn = (off: string, on: string): string => `      timeline:\n        - { at: ${off}, mains: "off" }\n        - { at: ${on}, mains: "on" }`;

describe('blackstart-ups', () => {
  beforeAll(() => initHelper());
  afterEach(() => helper.unload());

  it('sends on_battery then restored with the UPS state, and shows it as a dot', async () => {
    const lab = await writeLab({ upsExtra: mainsOffThenOn('500ms', '1500ms') });
    await helper.load(ALL_NODES, [
      inProcess(lab.file),
      { id: 'u', type: 'blackstart-ups', server: 'cfg', ups: 'rack', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    const got = collect(helper.getNode('out'));
    const dots = statuses(helper.getNode('u'));
    await until('restored', () => got.find((m) => m.topic === 'restored'));
    const topics = got.map((m) => m.topic);
    // The state found at start is not sent: only changes are.
    expect(topics).toEqual(['on_battery', 'restored']);
    const onBattery = got[0]!;
    expect(onBattery).toMatchObject({ ups: 'rack', previous: 'online', payload: { status: 'on_battery', source: expect.any(String) } });
    expect((onBattery.payload as Record<string, unknown>).charge_pct).toEqual(expect.any(Number));
    expect(dots).toContainEqual(expect.objectContaining({ fill: 'yellow', shape: 'dot', text: expect.stringMatching(/^on battery/) }));
    expect(dots.at(-1)).toMatchObject({ fill: 'green', shape: 'dot', text: expect.stringMatching(/^online/) });
  });

  it('holds on_battery back for on_battery_s: a shorter cut sends neither on_battery nor restored', async () => {
    const lab = await writeLab({ upsExtra: mainsOffThenOn('300ms', '800ms') });
    await helper.load(ALL_NODES, [
      inProcess(lab.file),
      { id: 'u', type: 'blackstart-ups', server: 'cfg', ups: 'rack', onBatteryS: '2', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    const got = collect(helper.getNode('out'));
    const dots = statuses(helper.getNode('u'));
    await until('the cut seen and over', () => dots.some((d) => d.fill === 'yellow') && dots.at(-1)?.fill === 'green');
    await new Promise((r) => setTimeout(r, 2500));
    expect(got).toEqual([]);
  });

  it('sends on_battery after on_battery_s when the cut lasts', async () => {
    const lab = await writeLab({ upsExtra: mainsOffThenOn('200ms', '60s') });
    await helper.load(ALL_NODES, [
      inProcess(lab.file),
      { id: 'u', type: 'blackstart-ups', server: 'cfg', ups: 'rack', onBatteryS: 1, wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    const got = collect(helper.getNode('out'));
    const t0 = Date.now();
    await until('on_battery', () => got.find((m) => m.topic === 'on_battery'));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(got.at(-1)).toMatchObject({ topic: 'on_battery', payload: { status: 'on_battery' } });
  });

  it('answers an input with the current state, and sends an unknown UPS to a Catch node', async () => {
    const lab = await writeLab();
    await helper.load(ALL_NODES, [
      { id: 'f', type: 'tab' },
      inProcess(lab.file),
      { id: 'u', z: 'f', type: 'blackstart-ups', server: 'cfg', ups: 'rack', wires: [['out']] },
      { id: 'g1', z: 'f', type: 'blackstart-ups', server: 'cfg', ups: 'ghost', wires: [['out']] },
      { id: 'c', z: 'f', type: 'catch', scope: ['g1'], wires: [['caught']] },
      { id: 'out', z: 'f', type: 'helper' },
      { id: 'caught', z: 'f', type: 'helper' },
    ]);
    const got = collect(helper.getNode('out'));
    const caught = collect(helper.getNode('caught'));
    const errs = errors(helper.getNode('g1'));
    helper.getNode('u').receive({ payload: 'now', mine: 1 });
    const state = await until('state', () => got.find((m) => m.topic === 'state'));
    expect(state).toMatchObject({ mine: 1, ups: 'rack', payload: { status: 'online' } });
    helper.getNode('g1').receive({ payload: 'x' });
    const c = await until('caught', () => caught[0]);
    expect(c.error).toMatchObject({ message: expect.stringContaining('no state for UPS "ghost"') });
    expect(errs).toHaveLength(1);
  });

  it('shows an error dot and reports when it has no config node', async () => {
    await helper.load(ALL_NODES, [{ id: 'u', type: 'blackstart-ups', ups: 'rack', wires: [] }]);
    const errs = errors(helper.getNode('u'));
    const dots = statuses(helper.getNode('u'));
    helper.getNode('u').receive({});
    await until('error', () => errs.length > 0);
    expect(String(errs[0]!.err)).toMatch(/no Blackstart server/);
    expect(dots).toContainEqual(expect.objectContaining({ fill: 'red', shape: 'dot' }));
  });
});
