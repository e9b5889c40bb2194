import { FakeClock } from '../../../src/core/clock';
import type { BlackstartEvent } from '../../../src/core/events';
import { Hub } from '../../../src/core/hub';
import { SimulatedHost, simulatedHostSchema } from '../../../src/adapters/host/simulated';

async function setup(extra: Record<string, unknown> = {}) {
  const clock = new FakeClock(0);
  const hub = new Hub({ clock });
  hub.addHost('nas');
  hub.attach(new SimulatedHost('nas', simulatedHostSchema.parse({ shutdown_takes: '5s', wake_takes: '10s', latency_ms: 2, ...extra })));
  const events: BlackstartEvent[] = [];
  hub.on('event', (e) => events.push(e));
  await hub.start();
  const run = (action: string) => hub.execute({ kind: 'host', id: 'nas' }, { action });
  return { clock, hub, events, run };
}

describe('simulated host', () => {
  it('shuts down in the configured time and wakes in the configured time', async () => {
    const { clock, hub, events, run } = await setup();
    expect(hub.host('nas')).toMatchObject({ phase: 'running', power: 'on', reachable: true, latencyMs: 2 });
    expect(await run('shutdown')).toMatchObject({ ok: true });
    expect(hub.host('nas')?.phase).toBe('shutting_down');
    await clock.advance(4999);
    expect(hub.host('nas')?.phase).toBe('shutting_down');
    await clock.advance(1);
    expect(hub.host('nas')).toMatchObject({ phase: 'down', power: 'off', reachable: false, latencyMs: null, since: 5000 });
    await run('wake');
    expect(hub.host('nas')).toMatchObject({ phase: 'waking', power: 'on', reachable: false });
    await clock.advance(10_000);
    expect(hub.host('nas')?.phase).toBe('running');
    expect(events.map((e) => e.type)).toEqual(['host_shutdown_started', 'host_shutdown_done', 'host_wake_started', 'host_up']);
  });

  it('wake on a running host and shutdown on a down host change nothing', async () => {
    const { hub, run, clock } = await setup({ running: false });
    expect(hub.host('nas')?.phase).toBe('down');
    expect(await run('shutdown')).toMatchObject({ ok: true });
    expect(hub.host('nas')?.phase).toBe('down');
    await run('power_on');
    await clock.advance(10_000);
    const since = hub.host('nas')?.since;
    await run('wake');
    expect(hub.host('nas')).toMatchObject({ phase: 'running', since });
  });

  it('refuses to wake while shutting down, and to reset when off', async () => {
    const { run, clock } = await setup();
    await run('shutdown');
    expect(await run('wake')).toMatchObject({ ok: false, error: { code: 'BUSY' } });
    await clock.advance(5000);
    expect(await run('reset')).toMatchObject({ ok: false, error: { code: 'REFUSED' } });
  });

  it('a host that ignores shutdown stays up until hard powered off', async () => {
    const { hub, run, clock } = await setup({ ignores_shutdown: true });
    expect(await run('shutdown')).toMatchObject({ ok: true });
    await clock.advance(60_000);
    expect(hub.host('nas')?.phase).toBe('running');
    await run('power_off');
    expect(hub.host('nas')).toMatchObject({ phase: 'down', power: 'off' });
  });

  it('power_off cancels a pending boot; power_cycle boots again', async () => {
    const { hub, run, clock } = await setup({ running: false });
    await run('wake');
    await clock.advance(3000);
    await run('power_off');
    await clock.advance(20_000);
    expect(hub.host('nas')?.phase).toBe('down');
    await run('power_cycle');
    await clock.advance(10_000);
    expect(hub.host('nas')?.phase).toBe('running');
  });

  it('a powered host that does not answer is unreachable with a reason', async () => {
    const { hub } = await setup({ answers: false });
    expect(hub.host('nas')).toMatchObject({ power: 'on', reachable: false, phase: 'unreachable', lastError: expect.stringMatching(/does not answer/) });
  });
});
