/** blackstart-sensors in process: a host without a BMC has no readings, said on input and on the dot. */
import { ALL_NODES, errors, helper, inProcess, initHelper, statuses, until, writeLab } from './lab';

describe('blackstart-sensors', () => {
  beforeAll(() => initHelper());
  afterEach(() => helper.unload());

  it('shows no state yet and answers an input with NOT_FOUND for a host without a BMC', async () => {
    const lab = await writeLab();
    await helper.load(ALL_NODES, [inProcess(lab.file), { id: 's', type: 'blackstart-sensors', server: 'cfg', host: 'nas', wires: [[]] }]);
    const errs = errors(helper.getNode('s'));
    const dots = statuses(helper.getNode('s'));
    helper.getNode('s').receive({ tag: 'x' });
    const e = await until('error', () => errs[0]);
    expect(e.err).toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('does it have a BMC?') });
    expect(e.msg).toMatchObject({ tag: 'x' });
    expect(dots).toContainEqual({ fill: 'grey', shape: 'ring', text: 'no state yet' });
  });
});
