/**
 * The MQTT contract of DESIGN.md, checked against a broker. The same suite runs against the
 * embedded aedes broker and a real Mosquitto with auth and an ACL.
 */
import type { IClientOptions } from 'mqtt';
import { startBlackstart, type Blackstart } from '../../src/app';
import { parseConfig } from '../../src/config/loader';
import { silentLogger } from '../../src/core/logger';
import { sleep, Watcher } from '../helpers/mqtt-watch';

export interface BrokerFixture {
  /** The `mqtt:` section of a config that reaches this broker. */
  mqttYaml: string;
  env: NodeJS.ProcessEnv;
  /** Where and how a test client connects. */
  url: string;
  client: IClientOptions;
  /** The broker relays MQTT 5 properties (aedes does not speak MQTT 5). */
  mqtt5: boolean;
  close(): Promise<void>;
}

const DEVICES = `
ups:
  main:
    simulated:
      interval: 200ms
      timeline:
        - at: 1500ms
          mains: "off"
        - at: 3s
          mains: "on"
hosts:
  web:
    simulated:
      shutdown_takes: 300ms
      wake_takes: 300ms
  sleepy:
    simulated:
      running: false
      wake_takes: 300ms
  spare:
    simulated: {}
  hv:
    simulated: {}
    vms:
      simulated: {}
      poll_every: 500ms
      guests:
        app: { name: "App Server", simulated: { stop_takes: 300ms, start_takes: 300ms } }
        old: { simulated: { running: false } }
`;

export function bridgeContract(label: string, makeBroker: () => Promise<BrokerFixture>): void {
  describe(`MQTT contract over ${label}`, () => {
    let broker: BrokerFixture;
    let app: Blackstart;
    let w: Watcher;

    beforeAll(async () => {
      broker = await makeBroker();
    });
    afterAll(async () => {
      await broker?.close();
    });

    beforeEach(async () => {
      const { config } = parseConfig(broker.mqttYaml + DEVICES, { env: broker.env });
      app = await startBlackstart(config, { log: silentLogger() });
      await app.bridge.ready();
      w = await Watcher.connect(broker.url, broker.client, ['blackstart/#']);
    });
    afterEach(async () => {
      await w?.close();
      await app?.stop();
    });

    it('a new subscriber finds retained bridge, UPS, host and outage state', async () => {
      const online = await w.waitForTopic('blackstart/bridge/state');
      expect([online.text, online.retain]).toEqual(['online', true]);
      const ups = await w.waitForTopic('blackstart/ups/main', (m) => m.retain);
      expect(Object.keys(ups.json()).sort()).toEqual(
        ['status', 'flags', 'charge_pct', 'runtime_s', 'load_pct', 'input_v', 'battery_v', 'on_battery_s', 'source', 'updated'].sort(),
      );
      expect(ups.json()).toMatchObject({ status: 'online', charge_pct: 100, source: 'simulated' });
      for (const host of ['web', 'sleepy', 'spare']) {
        const h = await w.waitForTopic(`blackstart/host/${host}`, (m) => m.retain);
        expect(Object.keys(h.json()).sort()).toEqual(['reachable', 'latency_ms', 'power', 'phase', 'since', 'last_error'].sort());
      }
      expect((await w.waitForTopic('blackstart/host/sleepy')).json()).toMatchObject({ phase: 'down', power: 'off', reachable: false });
      expect((await w.waitForTopic('blackstart/outage', (m) => m.retain)).json()).toMatchObject({ phase: 'normal', plan: [] });
    });

    it("a guest's state is retained under its host, and its /set takes guest actions", async () => {
      const app1 = await w.waitForTopic('blackstart/host/hv/vm/app', (m) => m.retain);
      expect(app1.json()).toEqual({ state: 'running', since: expect.stringMatching(/^\d{4}-/), last_error: null, name: 'App Server' });
      expect((await w.waitForTopic('blackstart/host/hv/vm/old', (m) => m.retain)).json()).toMatchObject({ state: 'off' });
      await w.publish('blackstart/host/hv/vm/app/set', JSON.stringify({ action: 'shutdown', id: 'g1' }));
      const r = await w.waitForTopic('blackstart/host/hv/vm/app/result');
      expect(r.json()).toMatchObject({ id: 'g1', action: 'shutdown', ok: true, detail: { verified_by: 'hypervisor', state: 'off' } });
      await w.waitForTopic('blackstart/host/hv/vm/app', (m) => m.json().state === 'off');
      expect((await w.waitForTopic('blackstart/event', (m) => m.json().type === 'vm_stopped')).json()).toMatchObject({ host: 'hv', vm: 'app' });
      w.clear();
      await w.publish('blackstart/host/hv/vm/ghost/set', JSON.stringify({ action: 'start', id: 'g2' }));
      expect((await w.waitForTopic('blackstart/host/hv/vm/ghost/result')).json()).toMatchObject({ id: 'g2', ok: false, error: { code: 'NOT_FOUND', message: 'unknown guest "ghost" on host "hv" (have: app, old)' } });
      await w.publish('blackstart/host/hv/vm/old/set', JSON.stringify({ action: 'reboot', id: 'g3' }));
      expect((await w.waitForTopic('blackstart/host/hv/vm/old/result')).json()).toMatchObject({ id: 'g3', ok: false, error: { code: 'BAD_REQUEST' } });
      await sleep(300);
      expect(app.hub.vm('hv', 'old')?.state).toBe('off');
    });

    it('a command gets a result with its id, and the host follows', async () => {
      await w.publish('blackstart/host/sleepy/set', JSON.stringify({ action: 'wake', id: 't1' }));
      const r = await w.waitForTopic('blackstart/host/sleepy/result');
      expect(r.json()).toEqual({ id: 't1', action: 'wake', ok: true, took_ms: expect.any(Number) });
      await w.waitForTopic('blackstart/host/sleepy', (m) => m.json().phase === 'waking');
      await w.waitForTopic('blackstart/host/sleepy', (m) => m.json().phase === 'running');
      const ev = await w.waitForTopic('blackstart/event', (m) => m.json().type === 'host_up');
      expect(ev.json()).toMatchObject({ host: 'sleepy', at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    });

    it('plain ON / OFF mean wake / shutdown', async () => {
      await w.publish('blackstart/host/web/set', 'OFF');
      expect((await w.waitForTopic('blackstart/host/web/result')).json()).toMatchObject({ action: 'shutdown', ok: true });
      await w.waitForTopic('blackstart/host/web', (m) => m.json().phase === 'down');
      w.clear();
      await w.publish('blackstart/host/web/set', 'ON');
      expect((await w.waitForTopic('blackstart/host/web/result')).json()).toMatchObject({ action: 'wake', ok: true });
    });

    it.each([
      ['an unknown host', 'blackstart/host/ghost/set', '{"action":"shutdown","id":"u1"}', 'NOT_FOUND', /unknown host "ghost"/],
      ['an unknown action', 'blackstart/host/spare/set', '{"action":"self_destruct","id":"u2"}', 'BAD_REQUEST', /unknown action "self_destruct"/],
      ['malformed JSON', 'blackstart/host/spare/set', '{"action": "shutdown"', 'BAD_REQUEST', /not valid JSON/],
      ['an unknown field', 'blackstart/host/spare/set', '{"action":"shutdown","force":true}', 'BAD_REQUEST', /unknown field "force"/],
    ])('%s is answered ok:false with a reason, and nothing is done', async (_what, topic, payload, code, reason) => {
      await w.waitForTopic('blackstart/host/spare');
      w.clear();
      await w.publish(topic, payload);
      const r = await w.waitForTopic(topic.replace(/set$/, 'result'));
      expect(r.json()).toMatchObject({ ok: false, error: { code } });
      expect((r.json().error as { message: string }).message).toMatch(reason);
      await sleep(400);
      const changes = w.messages.filter((m) => m.topic.startsWith('blackstart/host/') && !/\/(set|result)$/.test(m.topic));
      expect(changes).toEqual([]);
      expect(app.hub.host('spare')?.phase).toBe('running');
      expect(w.messages.filter((m) => m.topic === 'blackstart/event' && m.json().type !== 'power_lost' && m.json().type !== 'power_restored')).toEqual([]);
    });

    it('outage/set is answered on outage/result; the outage state carries its budget and, on battery, the plan', async () => {
      await w.publish('blackstart/outage/set', JSON.stringify({ action: 'self_destruct', id: 'o1' }));
      const r = await w.waitForTopic('blackstart/outage/result');
      expect(r.json()).toMatchObject({ id: 'o1', action: 'self_destruct', ok: false, error: { code: 'BAD_REQUEST' } });
      expect((r.json().error as { message: string }).message).toMatch(/expected one of: abort, simulate/);
      const onBattery = await w.waitForTopic('blackstart/outage', (m) => m.json().phase === 'on_battery', 5000);
      expect(onBattery.json()).toMatchObject({
        ups: 'main',
        budget: { reserve_s: 120, critical_path: expect.any(Array), runtime_s: expect.any(Number), slack_s: expect.any(Number) },
        plan: expect.arrayContaining([expect.objectContaining({ host: 'web', action: 'shutdown', stage: 'shutdown', state: 'pending' })]),
      });
      // The default triggers (low battery, plan over budget) do not fire on a full battery: back to normal.
      await w.waitForTopic('blackstart/outage', (m) => m.json().phase === 'normal' && (m.json().plan as unknown[]).length === 0, 5000);
      expect(app.hub.host('web')?.phase).toBe('running');
    });

    it('the UPS timeline shows up as state and as power events', async () => {
      const lost = await w.waitForTopic('blackstart/event', (m) => m.json().type === 'power_lost', 5000);
      expect(lost.json()).toMatchObject({ type: 'power_lost', ups: 'main', message: expect.any(String) });
      expect(lost.retain).toBe(false);
      await w.waitForTopic('blackstart/ups/main', (m) => m.json().status === 'on_battery' && (m.json().input_v as number) === 0);
      await w.waitForTopic('blackstart/event', (m) => m.json().type === 'power_restored', 5000);
      await w.waitForTopic('blackstart/ups/main', (m) => m.json().status === 'online' && m.json().on_battery_s === 0);
    });

    if (label.includes('Mosquitto')) {
      it('honours an MQTT 5 response topic and correlation data', async () => {
        const v5 = await Watcher.connect(broker.url, { ...broker.client, protocolVersion: 5 }, ['replies/#']);
        try {
          await v5.publish('blackstart/host/spare/set', '{"action":"wake","id":"c1"}', {
            qos: 1,
            properties: { responseTopic: 'replies/me', correlationData: Buffer.from('corr-42') },
          });
          const r = await v5.waitForTopic('replies/me');
          expect(r.json()).toMatchObject({ id: 'c1', action: 'wake', ok: true });
          expect(r.properties?.correlationData?.toString()).toBe('corr-42');
          // The usual result topic carries it too, for anyone auditing commands.
          expect((await w.waitForTopic('blackstart/host/spare/result')).json()).toMatchObject({ id: 'c1' });
        } finally {
          await v5.close();
        }
      });

      it('a retained command left on the broker is not run when the bridge connects', async () => {
        const before = app.hub.host('spare')?.phase;
        await app.stop();
        await w.publish('blackstart/host/spare/set', '{"action":"shutdown","id":"stale"}', { qos: 1, retain: true });
        try {
          const { config } = parseConfig(broker.mqttYaml + DEVICES, { env: broker.env });
          app = await startBlackstart(config, { log: silentLogger() });
          await app.bridge.ready();
          await sleep(500);
          expect(app.hub.host('spare')?.phase).toBe(before);
          expect(w.messages.filter((m) => m.topic === 'blackstart/host/spare/result' && m.json().id === 'stale')).toEqual([]);
        } finally {
          await w.publish('blackstart/host/spare/set', '', { qos: 1, retain: true });
        }
      });
    }
  });
}
