/**
 * blackstart-vm and blackstart-vm-power in process, on a simulated hypervisor host `hv`: one message
 * per guest state change with dots from the status table, actions with their results, refusals
 * before anything is sent, failures to Catch.
 */
import type { BlackstartSource } from 'blackstart';
import { ALL_NODES, collect, errors, helper, inProcess, initHelper, statuses, until, writeLab } from './lab';

// db is saved (its memory to disk) on the way down; web starts off; both take 300 ms either way.
const HV = `
  hv:
    simulated: { shutdown_takes: 200ms, wake_takes: 200ms }
    vms:
      simulated: {}
      poll_every: 500ms
      guests:
        db: { name: "Database VM", stop: save, simulated: { stop_takes: 300ms, start_takes: 300ms } }
        web: { simulated: { running: false, start_takes: 300ms, stop_takes: 300ms } }
  dead:
    simulated: {}
    vms:
      simulated: { answers: false }
      guests:
        app: { simulated: {} }
`;

/** The config node's source, with every executeVm call recorded. */
async function spiedSource(): Promise<unknown[][]> {
  const cfg = helper.getNode('cfg') as unknown as { source(): Promise<BlackstartSource> };
  const source = await cfg.source();
  const calls: unknown[][] = [];
  const real = source.executeVm.bind(source);
  source.executeVm = (...args) => {
    calls.push(args);
    return real(...args);
  };
  return calls;
}

describe('blackstart-vm and blackstart-vm-power', () => {
  beforeAll(() => initHelper());
  afterEach(() => helper.unload());

  async function load(powerSettings: Record<string, unknown> = {}): Promise<Record<string, Record<string, unknown>[]>> {
    const lab = await writeLab({ hosts: HV });
    await helper.load(ALL_NODES, [
      { id: 'f', type: 'tab' },
      inProcess(lab.file),
      { id: 'v', z: 'f', type: 'blackstart-vm', server: 'cfg', host: 'hv', guest: 'db', wires: [['state']] },
      { id: 'p', z: 'f', type: 'blackstart-vm-power', server: 'cfg', host: 'hv', guest: 'db', action: 'start', wires: [['result']], ...powerSettings },
      { id: 'c', z: 'f', type: 'catch', scope: ['p', 'v'], wires: [['caught']] },
      ...['state', 'result', 'caught'].map((id) => ({ id, z: 'f', type: 'helper' })),
    ]);
    return Object.fromEntries(['state', 'result', 'caught'].map((id) => [id, collect(helper.getNode(id))]));
  }

  it('follows a save and a start state by state, with dots from the status table', async () => {
    const out = await load();
    const dots = statuses(helper.getNode('v'));
    const powerDots = statuses(helper.getNode('p'));
    // The hypervisor's first read turns the guest from unknown to running; changes count from there.
    await until('db read running', () => dots.find((d) => d.text === 'running'));
    const from = out.state!.length;

    helper.getNode('p').receive({ payload: 'save', keep: 'me' });
    const saved = await until('save result', () => out.result![0]);
    expect(saved).toMatchObject({ keep: 'me', topic: 'hv/db', payload: { action: 'save', ok: true, detail: { verified_by: 'hypervisor', state: 'saved' } } });
    helper.getNode('p').receive({ payload: 'start' });
    await until('start result', () => out.result![1]);
    await until('running again', () => out.state!.slice(from).find((m) => m.topic === 'running'));

    const changes = out.state!.slice(from);
    expect(changes.map((m) => m.topic)).toEqual(['stopping', 'saved', 'running']);
    expect(changes[1]).toMatchObject({
      host: 'hv',
      guest: 'db',
      previous: 'stopping',
      payload: { state: 'saved', since: expect.any(String), last_error: null, name: 'Database VM' },
    });
    expect(dots).toContainEqual({ fill: 'yellow', shape: 'ring', text: 'stopping' });
    expect(dots).toContainEqual({ fill: 'grey', shape: 'dot', text: 'saved' });
    expect(dots.at(-1)).toEqual({ fill: 'green', shape: 'dot', text: 'running' });
    expect(powerDots).toContainEqual({ fill: 'blue', shape: 'ring', text: 'working · save hv/db' });
    expect(powerDots.at(-1)).toEqual({ fill: 'green', shape: 'dot', text: 'ok · start hv/db' });
    expect(out.caught).toEqual([]);

    // Any input asks for the current state.
    helper.getNode('v').receive({ payload: 'now?', tag: 't' });
    const now = await until('current state', () => out.state![from + 3]);
    expect(now).toMatchObject({ tag: 't', topic: 'running', host: 'hv', guest: 'db', payload: { state: 'running', name: 'Database VM' } });
  });

  it('takes msg.action over msg.payload over its setting, and msg.host / msg.guest over its guest', async () => {
    const out = await load({ action: 'off' });
    const calls = await spiedSource();
    helper.getNode('p').receive({ guest: 'web', payload: 'start' });
    expect(await until('web started', () => out.result![0])).toMatchObject({ topic: 'hv/web', guest: 'web', payload: { action: 'start', ok: true } });
    helper.getNode('p').receive({ guest: 'web', payload: 'start', action: 'shutdown' });
    expect(await until('web shut down', () => out.result![1])).toMatchObject({ topic: 'hv/web', payload: { action: 'shutdown', ok: true } });
    // A payload that is not a string (an inject's timestamp) leaves the node's own action.
    helper.getNode('p').receive({ payload: 1_700_000_000_000 });
    expect(await until('db off', () => out.result![2])).toMatchObject({ topic: 'hv/db', payload: { action: 'off', ok: true } });
    expect(calls).toEqual([
      ['hv', 'web', 'start'],
      ['hv', 'web', 'shutdown'],
      ['hv', 'db', 'off'],
    ]);
    expect(out.caught).toEqual([]);
  });

  it('refuses an unknown action with BAD_REQUEST to a Catch node before anything is sent', async () => {
    const out = await load();
    const calls = await spiedSource();
    const errs = errors(helper.getNode('p'));
    const dots = statuses(helper.getNode('p'));
    helper.getNode('p').receive({ payload: 'reboot', tag: 'x' });
    const c = await until('caught', () => out.caught![0]);
    expect(c).toMatchObject({ tag: 'x', error: { message: expect.stringMatching(/unknown guest action "reboot" for "hv\/db": use one of start, shutdown, save, off/) } });
    expect((errs[0]!.err as { code?: string }).code).toBe('BAD_REQUEST');
    expect(errs[0]!.msg).toMatchObject({ tag: 'x' });
    expect(dots.at(-1)).toEqual({ fill: 'red', shape: 'dot', text: 'failed · BAD_REQUEST' });
    expect(calls).toEqual([]);
    expect(out.result).toEqual([]);
  });

  it('refuses a message with no guest at all', async () => {
    const out = await load({ guest: '' });
    const calls = await spiedSource();
    helper.getNode('p').receive({ payload: 'start' });
    const c = await until('caught', () => out.caught![0]);
    expect(c.error).toMatchObject({ message: expect.stringContaining('no guest on host "hv"') });
    expect(calls).toEqual([]);
  });

  it('sends a failed action (unknown guest; a guest whose hypervisor does not answer) to a Catch node with the result and the code', async () => {
    const out = await load();
    const errs = errors(helper.getNode('p'));
    const dots = statuses(helper.getNode('p'));
    helper.getNode('p').receive({ guest: 'ghost', payload: 'start' });
    const c = await until('caught', () => out.caught![0]);
    expect(c).toMatchObject({ guest: 'ghost', topic: 'hv/ghost', payload: { ok: false, error: { code: 'NOT_FOUND' } }, error: { message: expect.stringContaining('NOT_FOUND') } });
    expect((errs[0]!.err as { code?: string }).code).toBe('NOT_FOUND');
    expect(dots.at(-1)).toMatchObject({ fill: 'red', shape: 'dot', text: expect.stringContaining('NOT_FOUND') });

    // A guest whose hypervisor cannot be read is unknown: the core refuses to send anything blind, and says why.
    helper.getNode('p').receive({ host: 'dead', guest: 'app', payload: 'save' });
    const refused = await until('second catch', () => out.caught![1]);
    expect(refused).toMatchObject({ topic: 'dead/app', payload: { action: 'save', ok: false, error: { code: 'UNREACHABLE' } }, error: { message: expect.stringContaining('save of guest "dead/app" failed (UNREACHABLE): simulated hypervisor on dead: not answering') } });
    expect(out.result).toEqual([]);
  });

  it('shows a guest whose hypervisor does not answer as a red ring, and sends no change for it', async () => {
    const lab = await writeLab({ hosts: HV });
    await helper.load(ALL_NODES, [
      inProcess(lab.file),
      { id: 'v', type: 'blackstart-vm', server: 'cfg', host: 'dead', guest: 'app', wires: [['state']] },
      { id: 'state', type: 'helper' },
    ]);
    const got = collect(helper.getNode('state'));
    const dots = statuses(helper.getNode('v'));
    await until('the unknown dot', () => dots.find((d) => d.text === 'state unknown'));
    expect(dots.find((d) => d.text === 'state unknown')).toEqual({ fill: 'red', shape: 'ring', text: 'state unknown' });
    helper.getNode('v').receive({});
    expect(await until('current state', () => got[0])).toMatchObject({ topic: 'unknown', previous: 'unknown', payload: { state: 'unknown' } });
    expect(got).toHaveLength(1);
  });

  it('reports a guest it has no state for on input as an error with the message', async () => {
    const lab = await writeLab({ hosts: HV });
    await helper.load(ALL_NODES, [inProcess(lab.file), { id: 'v', type: 'blackstart-vm', server: 'cfg', host: 'hv', guest: 'ghost', wires: [] }]);
    const errs = errors(helper.getNode('v'));
    helper.getNode('v').receive({ payload: 1, tag: 't' });
    await until('error', () => errs[0]);
    expect(String(errs[0]!.err)).toMatch(/no state for guest "ghost" on host "hv"/);
    expect(errs[0]!.msg).toMatchObject({ tag: 't' });
  });
});
