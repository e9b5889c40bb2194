/** blackstart-config in process: one poller per config file, and a bad file shown on the nodes that use it. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_NODES, errors, helper, inProcess, initHelper, statuses, until, writeLab } from './lab';

describe('blackstart-config', () => {
  beforeAll(() => initHelper());
  afterEach(() => helper.unload());

  it('refuses a second config node on the same file: a device is polled by one process', async () => {
    const lab = await writeLab();
    await helper.load(ALL_NODES, [
      inProcess(lab.file, 'cfg1'),
      inProcess(lab.file, 'cfg2'),
      { id: 'h1', type: 'blackstart-host', server: 'cfg1', host: 'nas', wires: [] },
      { id: 'h2', type: 'blackstart-host', server: 'cfg2', host: 'nas', wires: [] },
    ]);
    const errs2 = errors(helper.getNode('h2'));
    const dots1 = statuses(helper.getNode('h1'));
    // The start failure is logged once by the node (a string), then goes with each message (an error).
    await until('start failure logged', () => errs2.find((e) => String(e.err).includes('did not start')));
    helper.getNode('h2').receive({});
    const refused = await until('refused', () => errs2.find((e) => e.msg));
    expect(refused.err).toMatchObject({ code: 'REFUSED', message: expect.stringContaining('already runs in config node cfg1') });
    helper.getNode('h1').receive({});
    await until('h1 running', () => dots1.find((d) => d.text === 'running'));
  });

  it('starts again on the same file after a redeploy (close frees the file and the journal)', async () => {
    const lab = await writeLab();
    for (let i = 0; i < 2; i++) {
      await helper.load(ALL_NODES, [inProcess(lab.file), { id: 'h', type: 'blackstart-host', server: 'cfg', host: 'nas', wires: [] }]);
      const dots = statuses(helper.getNode('h'));
      helper.getNode('h').receive({});
      await until(`running (deploy ${i + 1})`, () => dots.find((d) => d.text === 'running'));
      await helper.unload();
    }
  });

  it('shows CONFIG on the nodes when the file is invalid', async () => {
    const lab = await writeLab();
    const bad = join(lab.dir, 'bad.yaml');
    writeFileSync(bad, 'hosts:\n  NAS!: { simulated: {} }\n');
    await helper.load(ALL_NODES, [inProcess(bad), { id: 'h', type: 'blackstart-host', server: 'cfg', host: 'nas', wires: [] }]);
    const dots = statuses(helper.getNode('h'));
    const errs = errors(helper.getNode('h'));
    helper.getNode('h').receive({});
    const failed = await until('error', () => errs.find((e) => e.msg));
    expect(failed.err).toMatchObject({ code: 'CONFIG', message: expect.stringContaining('hosts.NAS!') });
    expect(dots.at(-1)).toEqual({ fill: 'red', shape: 'dot', text: 'error · CONFIG' });
  });
});
