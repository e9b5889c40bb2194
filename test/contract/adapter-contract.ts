/**
 * The suite every adapter must pass, whatever its protocol: it identifies itself, reports state
 * once started, leaves no timer behind when stopped, and fails only with coded errors.
 */
import type { Adapter } from '../../src/core/adapter';
import { FakeClock } from '../../src/core/clock';
import { BlackstartError } from '../../src/core/errors';
import { Hub } from '../../src/core/hub';
import { DEVICE_ID, HOST_ACTIONS } from '../../src/core/state';

export interface AdapterFixture {
  adapter: Adapter;
  /** Real time or fake: the fixture says which clock its adapter runs on. */
  clock: FakeClock;
  cleanup?: () => Promise<void>;
}

export interface ContractOptions {
  /**
   * false for an adapter that only acts (Wake-on-LAN): it cannot know the device's state, so it
   * must report none rather than invent one.
   */
  reportsState?: boolean;
}

export function adapterContract(label: string, make: () => Promise<AdapterFixture> | AdapterFixture, opts: ContractOptions = {}): void {
  describe(`adapter contract: ${label}`, () => {
    let fx: AdapterFixture;
    let hub: Hub;

    beforeEach(async () => {
      fx = await make();
      hub = new Hub({ clock: fx.clock });
      if (fx.adapter.kind === 'ups') hub.addUps(fx.adapter.deviceId);
      else hub.addHost(fx.adapter.deviceId);
      hub.attach(fx.adapter);
    });

    afterEach(async () => {
      await hub.stop();
      await fx.cleanup?.();
    });

    it('names itself and its device in the agreed forms', () => {
      expect(fx.adapter.deviceId).toMatch(DEVICE_ID);
      expect(fx.adapter.name).toMatch(new RegExp(`^${fx.adapter.kind}:${fx.adapter.deviceId}/[a-z0-9-]+$`));
      if (fx.adapter.kind === 'host') {
        for (const c of fx.adapter.capabilities) expect(HOST_ACTIONS).toContain(c);
      }
    });

    const reportsState = opts.reportsState ?? true;
    it(reportsState ? 'reports state after start' : 'reports no state it cannot know', async () => {
      const changes: unknown[] = [];
      hub.on(fx.adapter.kind, (...args: unknown[]) => changes.push(args));
      await hub.start();
      await fx.clock.advance(5000);
      if (reportsState) expect(changes.length).toBeGreaterThan(0);
      else expect(changes).toEqual([]);
    });

    it('leaves no timer running after stop', async () => {
      await hub.start();
      await fx.clock.advance(2000);
      await hub.stop();
      expect(fx.clock.pending).toBe(0);
    });

    it('rejects an action outside its capabilities with a coded error, asynchronously', async () => {
      await hub.start();
      let promise: Promise<unknown> | undefined;
      expect(() => {
        promise = fx.adapter.execute({ action: 'no_such_action' });
      }).not.toThrow();
      await expect(promise).rejects.toBeInstanceOf(BlackstartError);
    });

    it('carries out each declared capability through the hub without an INTERNAL error', async () => {
      await hub.start();
      for (const action of fx.adapter.capabilities) {
        const r = await hub.execute({ kind: fx.adapter.kind, id: fx.adapter.deviceId }, { action });
        if (!r.ok) expect(r.error?.code).not.toBe('INTERNAL');
        await fx.clock.advance(60_000);
      }
    });
  });
}
