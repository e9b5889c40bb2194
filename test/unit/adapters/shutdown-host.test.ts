import { ShutdownHost } from '../../../src/adapters/host/shutdown';
import type { ShutdownMethod, ShutdownOutcome, ShutdownRunOptions } from '../../../src/adapters/power/method';
import { FakeClock } from '../../../src/core/clock';
import { BlackstartError } from '../../../src/core/errors';
import type { BlackstartEvent } from '../../../src/core/events';
import { Hub } from '../../../src/core/hub';

class FakeMethod implements ShutdownMethod {
  readonly kind = 'fake';
  runs: ShutdownRunOptions[] = [];
  failWith: BlackstartError | undefined;
  describe(): string {
    return 'a fake method';
  }
  async run(opts: ShutdownRunOptions = {}): Promise<ShutdownOutcome> {
    this.runs.push(opts);
    await Promise.resolve();
    if (this.failWith) throw this.failWith;
    return { method: this.kind, dryRun: opts.dryRun === true, steps: [{ name: 'poke', status: 200, tookMs: 3 }], tookMs: 3, ...(opts.dryRun ? { output: 'would poke' } : {}) };
  }
}

function setup(verifiable = true): { hub: Hub; clock: FakeClock; method: FakeMethod; events: BlackstartEvent[] } {
  const clock = new FakeClock();
  const hub = new Hub({ clock });
  hub.addHost('nas');
  const method = new FakeMethod();
  hub.attach(new ShutdownHost('nas', method, { verifiable, verifyWithinMs: 60_000 }));
  const events: BlackstartEvent[] = [];
  hub.on('event', (e) => events.push(e));
  return { hub, clock, method, events };
}

describe('shutdown host adapter: run the method, then prove the host went down', () => {
  it('succeeds when the host stops answering, saying so and how long it took', async () => {
    const { hub, clock, events } = setup();
    await hub.start();
    hub.updateHost('nas', { reachable: true, power: 'unknown', phase: 'running' });
    const pending = hub.execute({ kind: 'host', id: 'nas' }, { action: 'shutdown', id: 's1' });
    await clock.advance(0);
    expect(hub.host('nas')?.phase).toBe('shutting_down');
    await clock.advance(20_000);
    hub.updateHost('nas', { reachable: false });
    await clock.advance(1000);
    const r = await pending;
    expect(r).toMatchObject({ ok: true, detail: { method: 'fake', verified_by: 'probe', took_ms: 20_250, dry_run: false } });
    expect(r.detail?.steps).toEqual([{ name: 'poke', status: 200, took_ms: 3 }]);
    expect(events.map((e) => e.type)).toEqual(['host_shutdown_started', 'host_shutdown_done']);
    await hub.stop();
  });

  it('takes power off from the BMC as proof', async () => {
    const { hub, clock } = setup();
    await hub.start();
    hub.updateHost('nas', { reachable: true, power: 'on', phase: 'running' });
    const pending = hub.execute({ kind: 'host', id: 'nas' }, { action: 'shutdown' });
    await clock.advance(5000);
    hub.updateHost('nas', { power: 'off', phase: 'down' });
    await clock.advance(500);
    expect((await pending).detail).toMatchObject({ verified_by: 'ipmi' });
    await hub.stop();
  });

  it('fails with TIMEOUT when the host still answers after verify_within, and settles the phase', async () => {
    const { hub, clock, events } = setup();
    await hub.start();
    hub.updateHost('nas', { reachable: true, power: 'unknown', phase: 'running' });
    const pending = hub.execute({ kind: 'host', id: 'nas' }, { action: 'shutdown' });
    await clock.advance(61_000);
    const r = await pending;
    expect(r.ok).toBe(false);
    expect(r.error).toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/still answers after 60000 ms/) });
    expect(hub.host('nas')?.phase).toBe('running');
    expect(events.map((e) => e.type)).toContain('host_shutdown_failed');
    await hub.stop();
  });

  it("passes the method's own failure on with its code", async () => {
    const { hub, clock, method } = setup();
    await hub.start();
    hub.updateHost('nas', { reachable: true, phase: 'running' });
    method.failWith = new BlackstartError('AUTH', 'step login: the NAS refused the password');
    const pending = hub.execute({ kind: 'host', id: 'nas' }, { action: 'shutdown' });
    await clock.advance(10);
    expect((await pending).error).toEqual({ code: 'AUTH', message: 'step login: the NAS refused the password' });
    expect(hub.host('nas')?.phase).toBe('running');
    await hub.stop();
  });

  it('a dry run changes no phase and returns what would be sent', async () => {
    const { hub, clock, method, events } = setup();
    await hub.start();
    hub.updateHost('nas', { reachable: true, phase: 'running' });
    const pending = hub.execute({ kind: 'host', id: 'nas' }, { action: 'shutdown', args: { dry_run: true } });
    await clock.advance(10);
    expect((await pending).detail).toMatchObject({ dry_run: true, output: 'would poke' });
    expect(method.runs).toEqual([{ dryRun: true }]);
    expect(hub.host('nas')?.phase).toBe('running');
    expect(events).toEqual([]);
    await hub.stop();
  });

  it('with nothing to verify by, reports verified_by none at once', async () => {
    const { hub, clock } = setup(false);
    await hub.start();
    const pending = hub.execute({ kind: 'host', id: 'nas' }, { action: 'shutdown' });
    await clock.advance(10);
    expect((await pending).detail).toMatchObject({ verified_by: 'none' });
    await hub.stop();
  });

  it('gives the hub a deadline long enough for verify_within', () => {
    const a = new ShutdownHost('nas', new FakeMethod(), { verifiable: true, verifyWithinMs: 600_000 });
    expect(a.timeoutFor('shutdown')).toBeGreaterThan(600_000);
    expect(a.timeoutFor('wake')).toBeUndefined();
  });
});
