import type { Adapter, AdapterContext, CommandRequest } from '../../../src/core/adapter';
import { FakeClock, sleep } from '../../../src/core/clock';
import { BlackstartError } from '../../../src/core/errors';
import type { BlackstartEvent } from '../../../src/core/events';
import { Hub } from '../../../src/core/hub';

/** An adapter whose actions are recorded and whose completion the test controls. */
class Recorder implements Adapter<'host'> {
  readonly kind = 'host' as const;
  readonly name: string;
  calls: string[] = [];
  ctx: AdapterContext<'host'> | undefined;
  constructor(
    readonly deviceId: string,
    readonly capabilities: readonly string[],
    private readonly behaviour: (req: CommandRequest) => Promise<void> = () => Promise.resolve(),
  ) {
    this.name = `host:${deviceId}/recorder`;
  }
  start(ctx: AdapterContext<'host'>): void {
    this.ctx = ctx;
  }
  stop(): void {}
  async execute(req: CommandRequest): Promise<void> {
    this.calls.push(req.action);
    await this.behaviour(req);
  }
}

function setup() {
  const clock = new FakeClock(Date.UTC(2026, 10, 1));
  const hub = new Hub({ clock, commandTimeoutMs: 60_000 });
  const events: BlackstartEvent[] = [];
  hub.on('event', (e) => events.push(e));
  return { clock, hub, events };
}

describe('Hub state', () => {
  it('starts every UPS as comm_lost and every host as unknown, never as a stale "online"', () => {
    const { hub } = setup();
    hub.addUps('main');
    hub.addHost('nas');
    expect(hub.ups('main')?.status).toBe('comm_lost');
    expect(hub.host('nas')).toMatchObject({ power: 'unknown', phase: 'unreachable', reachable: null });
  });

  it('emits a change only when something other than the timestamp changed', async () => {
    const { hub, clock } = setup();
    hub.addUps('main');
    const changes: string[] = [];
    hub.on('ups', (_id, s) => changes.push(s.status));
    hub.updateUps('main', { status: 'online', chargePct: 100 });
    await clock.advance(1000);
    hub.updateUps('main', { status: 'online', chargePct: 100 });
    expect(changes).toEqual(['online']);
    expect(hub.ups('main')?.updated).toBe(clock.now());
    hub.updateUps('main', { chargePct: 99 });
    expect(changes).toEqual(['online', 'online']);
  });

  it('counts seconds on battery and derives power events, ignoring a link blip in between', async () => {
    const { hub, clock, events } = setup();
    hub.addUps('main');
    hub.updateUps('main', { status: 'online' });
    expect(events).toEqual([]);
    hub.updateUps('main', { status: 'on_battery' });
    await clock.advance(30_000);
    hub.updateUps('main', { status: 'on_battery' });
    expect(hub.ups('main')?.onBatteryS).toBe(30);
    hub.updateUps('main', { status: 'comm_lost' });
    hub.updateUps('main', { status: 'on_battery' });
    hub.updateUps('main', { status: 'low_battery' });
    await clock.advance(5000);
    hub.updateUps('main', { status: 'online' });
    expect(hub.ups('main')?.onBatteryS).toBe(0);
    expect(events.map((e) => e.type)).toEqual(['power_lost', 'ups_comm_lost', 'ups_comm_restored', 'low_battery', 'power_restored']);
    expect(events.every((e) => e.ups === 'main')).toBe(true);
    expect(events[4]?.detail).toEqual({ on_battery_s: 35 });
  });

  it('raises power_lost when the first reading is already on battery (started mid-outage)', () => {
    const { hub, events } = setup();
    hub.addUps('main');
    hub.updateUps('main', { status: 'on_battery' });
    expect(events.map((e) => e.type)).toEqual(['power_lost']);
  });

  it('stamps `since` when the phase changes and derives host events', async () => {
    const { hub, clock, events } = setup();
    hub.addHost('nas');
    hub.updateHost('nas', { phase: 'running', reachable: true });
    const t0 = hub.host('nas')?.since;
    await clock.advance(1000);
    hub.updateHost('nas', { latencyMs: 3 });
    expect(hub.host('nas')?.since).toBe(t0);
    hub.updateHost('nas', { phase: 'shutting_down' });
    await clock.advance(4000);
    hub.updateHost('nas', { phase: 'down', reachable: false });
    expect(hub.host('nas')?.since).toBe(clock.now());
    expect(events.map((e) => e.type)).toEqual(['host_shutdown_started', 'host_shutdown_done']);
    expect(events[1]?.detail).toEqual({ took_ms: 4000 });
  });

  it('a listener that throws does not stop the update or the other listeners', () => {
    const { hub } = setup();
    hub.addHost('nas');
    const seen: string[] = [];
    hub.on('host', () => {
      throw new Error('broken face');
    });
    hub.on('host', (_id, s) => seen.push(s.phase));
    expect(() => hub.updateHost('nas', { phase: 'running' })).not.toThrow();
    expect(seen).toEqual(['running']);
  });

  it('refuses duplicate ids and adapters for undeclared devices', () => {
    const { hub } = setup();
    hub.addHost('nas');
    expect(() => hub.addHost('nas')).toThrow(BlackstartError);
    expect(() => hub.attach(new Recorder('ghost', ['wake']))).toThrow(/unknown host "ghost"/);
  });
});

describe('Hub.execute', () => {
  it('routes an action to the adapter that has it and reports the time taken', async () => {
    const { hub, clock } = setup();
    hub.addHost('nas');
    const reach = new Recorder('nas', []);
    const power = new Recorder('nas', ['wake', 'shutdown'], () => sleep(clock, 1500));
    hub.attach(reach);
    hub.attach(power);
    await hub.start();
    const pending = hub.execute({ kind: 'host', id: 'nas' }, { action: 'wake', id: 'w1' });
    await clock.advance(1500);
    await expect(pending).resolves.toEqual({ id: 'w1', action: 'wake', ok: true, tookMs: 1500 });
    expect(power.calls).toEqual(['wake']);
    expect(reach.calls).toEqual([]);
  });

  it.each([
    [{ kind: 'host' as const, id: 'ghost' }, 'wake', 'NOT_FOUND', /unknown host "ghost"/],
    [{ kind: 'ups' as const, id: 'ghost' }, 'test', 'NOT_FOUND', /unknown UPS "ghost"/],
    [{ kind: 'host' as const, id: 'nas' }, 'explode', 'BAD_REQUEST', /unknown action "explode"/],
    [{ kind: 'host' as const, id: 'nas' }, 'power_cycle', 'UNSUPPORTED', /no method configured for "power_cycle"/],
  ])('%o %s → ok:false %s and nothing is done', async (device, action, code, message) => {
    const { hub } = setup();
    hub.addHost('nas');
    const adapter = new Recorder('nas', ['wake']);
    hub.attach(adapter);
    await hub.start();
    const r = await hub.execute(device, { action, id: 'x' });
    expect(r).toMatchObject({ id: 'x', action, ok: false, error: { code } });
    expect(r.error?.message).toMatch(message);
    expect(adapter.calls).toEqual([]);
  });

  it('turns an adapter failure into a coded result and a command_failed event', async () => {
    const { hub, events } = setup();
    hub.addHost('nas');
    hub.attach(new Recorder('nas', ['shutdown'], () => Promise.reject(new BlackstartError('AUTH', 'ssh: permission denied'))));
    await hub.start();
    const r = await hub.execute({ kind: 'host', id: 'nas' }, { action: 'shutdown' });
    expect(r).toMatchObject({ id: null, ok: false, error: { code: 'AUTH', message: 'ssh: permission denied' } });
    expect(events.map((e) => e.type)).toEqual(['command_failed']);
  });

  it('runs actions on one device one after another, and on different devices at once', async () => {
    const { hub, clock } = setup();
    hub.addHost('a');
    hub.addHost('b');
    const log: string[] = [];
    const slow = (id: string) => async (req: CommandRequest) => {
      log.push(`${id}:${req.action}:start@${clock.now()}`);
      await sleep(clock, 1000);
      log.push(`${id}:${req.action}:end@${clock.now()}`);
    };
    const t0 = clock.now();
    hub.attach(new Recorder('a', ['wake', 'shutdown'], slow('a')));
    hub.attach(new Recorder('b', ['wake'], slow('b')));
    await hub.start();
    const all = Promise.all([
      hub.execute({ kind: 'host', id: 'a' }, { action: 'wake' }),
      hub.execute({ kind: 'host', id: 'a' }, { action: 'shutdown' }),
      hub.execute({ kind: 'host', id: 'b' }, { action: 'wake' }),
    ]);
    await clock.advance(2000);
    await all;
    const rel = log.map((l) => l.replace(/@(\d+)/, (_, t: string) => `@${Number(t) - t0}`));
    expect([...rel].sort()).toEqual(['a:shutdown:end@2000', 'a:shutdown:start@1000', 'a:wake:end@1000', 'a:wake:start@0', 'b:wake:end@1000', 'b:wake:start@0']);
    expect(rel.indexOf('a:shutdown:start@1000')).toBeGreaterThan(rel.indexOf('a:wake:end@1000'));
  });

  it('an urgent action does not wait behind the one in progress (escalation to power-off)', async () => {
    const { hub, clock } = setup();
    hub.addHost('a');
    const log: string[] = [];
    hub.attach(
      new Recorder('a', ['shutdown', 'power_off'], async (req) => {
        log.push(`${req.action}:start@${clock.now()}`);
        if (req.action === 'shutdown') await sleep(clock, 10_000);
      }),
    );
    await hub.start();
    const t0 = clock.now();
    const shutdown = hub.execute({ kind: 'host', id: 'a' }, { action: 'shutdown' });
    await clock.advance(1000);
    const off = hub.execute({ kind: 'host', id: 'a' }, { action: 'power_off' }, { urgent: true });
    await clock.advance(0);
    expect((await off).ok).toBe(true);
    expect(log.map((l) => l.replace(/@(\d+)/, (_, t: string) => `@${Number(t) - t0}`))).toEqual(['shutdown:start@0', 'power_off:start@1000']);
    await clock.advance(10_000);
    expect((await shutdown).ok).toBe(true);
  });

  it('routes outage commands to the orchestrator that registered, and refuses them when none did', async () => {
    const { hub } = setup();
    expect(await hub.outageCommand({ action: 'abort', id: 'x' })).toMatchObject({ id: 'x', ok: false, error: { code: 'UNSUPPORTED' } });
    hub.setOutageHandler((req) => (req.action === 'abort' ? Promise.resolve({ aborted: 'on_battery' }) : Promise.reject(new BlackstartError('BAD_REQUEST', 'no'))));
    expect(await hub.outageCommand({ action: 'abort', id: 'y' })).toMatchObject({ id: 'y', action: 'abort', ok: true, detail: { aborted: 'on_battery' } });
    expect(await hub.outageCommand({ action: 'nope' })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', message: 'no' } });
  });

  it('answers TIMEOUT when an adapter never finishes', async () => {
    const { hub, clock } = setup();
    hub.addHost('nas');
    hub.attach(new Recorder('nas', ['wake'], () => new Promise<void>(() => undefined)));
    await hub.start();
    const pending = hub.execute({ kind: 'host', id: 'nas' }, { action: 'wake' });
    await clock.advance(60_000);
    await expect(pending).resolves.toMatchObject({ ok: false, error: { code: 'TIMEOUT' }, tookMs: 60_000 });
  });

  it('a failing adapter start is reported in state, not thrown', async () => {
    const { hub } = setup();
    hub.addHost('nas');
    const broken = new Recorder('nas', []);
    broken.start = () => {
      throw new BlackstartError('UNREACHABLE', 'no route to BMC');
    };
    hub.attach(broken);
    await expect(hub.start()).resolves.toBeUndefined();
    expect(hub.host('nas')?.lastError).toBe('no route to BMC');
  });
});
