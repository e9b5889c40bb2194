/**
 * The VM adapter's start and polling, on a virtual clock, with a hypervisor whose listing the
 * test answers by hand: the hub starts without waiting for a hypervisor that has not answered.
 */
import { vmsSchema } from '../../../src/adapters/vm/config';
import type { GuestListing, GuestSpec, Hypervisor } from '../../../src/adapters/vm/hypervisor';
import { VmHost } from '../../../src/adapters/vm/vm-host';
import { FakeClock } from '../../../src/core/clock';
import { BlackstartError } from '../../../src/core/errors';
import { Hub } from '../../../src/core/hub';

/** A hypervisor whose every list() waits until the test answers it. */
function handHypervisor() {
  const waiting: { resolve: (l: GuestListing[]) => void; reject: (e: Error) => void }[] = [];
  const started: GuestSpec[] = [];
  const hv: Hypervisor = {
    listsAll: true,
    describe: () => 'hand-held hypervisor',
    list: () => new Promise((resolve, reject) => waiting.push({ resolve, reject })),
    shutdown: async () => undefined,
    save: async () => undefined,
    off: async () => undefined,
    start: async (g) => {
      started.push(g);
    },
    close: async () => undefined,
  };
  return { hv, waiting, started };
}

async function setup() {
  const clock = new FakeClock(0);
  const hub = new Hub({ clock });
  hub.addHost('hv1');
  hub.addVm('hv1', 'web');
  const { hv, waiting, started } = handHypervisor();
  hub.attachVm(new VmHost('hv1', vmsSchema.parse({ simulated: {}, poll_every: '10s', guests: { web: { simulated: {} } } }), hv));
  return { clock, hub, waiting, started };
}

describe('VM adapter start and polling', () => {
  it('lets the hub start before the hypervisor answers; the guest reads unknown with no error until then', async () => {
    const { hub, waiting } = await setup();
    await hub.start();
    expect(waiting).toHaveLength(1);
    expect(hub.vm('hv1', 'web')).toMatchObject({ state: 'unknown', lastError: null });
    waiting[0]?.resolve([{ name: 'web', state: 'running' }]);
    await new Promise((r) => setImmediate(r));
    expect(hub.vm('hv1', 'web')).toMatchObject({ state: 'running', lastError: null });
    await hub.stop();
  });

  it('reads every poll_every, one listing at a time, and an unreachable hypervisor sets the error', async () => {
    const { clock, hub, waiting } = await setup();
    await hub.start();
    // The first listing is still out: a tick meanwhile shares it rather than asking again.
    await clock.advance(10_000);
    expect(waiting).toHaveLength(1);
    waiting[0]?.reject(new BlackstartError('UNREACHABLE', 'ssh hv1: connection refused'));
    await new Promise((r) => setImmediate(r));
    expect(hub.vm('hv1', 'web')).toMatchObject({ state: 'unknown', lastError: 'ssh hv1: connection refused' });
    await clock.advance(10_000);
    expect(waiting).toHaveLength(2);
    waiting[1]?.resolve([{ name: 'web', state: 'off' }]);
    await new Promise((r) => setImmediate(r));
    expect(hub.vm('hv1', 'web')).toMatchObject({ state: 'off', lastError: null });
    await hub.stop();
    await clock.advance(60_000);
    expect(waiting).toHaveLength(2);
  });

  it('tells the driver a guest was kept after a crash, as the listing just before the start said', async () => {
    const { hub, waiting, started } = await setup();
    await hub.start();
    waiting[0]?.resolve([{ name: 'web', state: 'off', crashed: true }]);
    await new Promise((r) => setImmediate(r));
    const result = hub.executeVm('hv1', 'web', { action: 'start' });
    // The start reads the guest once more before acting.
    await new Promise((r) => setImmediate(r));
    waiting[1]?.resolve([{ name: 'web', state: 'off', crashed: true }]);
    for (let i = 0; i < 5 && started.length === 0; i++) await new Promise((r) => setImmediate(r));
    expect(started).toEqual([{ name: 'web', crashed: true }]);
    // Its outcome: the next reading shows it running, and no longer crashed.
    for (let i = 0; i < 5 && waiting.length < 3; i++) await new Promise((r) => setImmediate(r));
    waiting[2]?.resolve([{ name: 'web', state: 'running' }]);
    expect(await result).toMatchObject({ ok: true });
    await hub.stop();
  });
});
