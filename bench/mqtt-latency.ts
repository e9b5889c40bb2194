/**
 * Hub event → MQTT publish → subscriber receives, for 200 hosts, through the embedded aedes
 * broker and a real Mosquitto. Two shapes: one change at a time (the steady state), and all 200
 * hosts changing at once (what an outage looks like).
 */
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { Hub } from '../src/core/hub';
import { silentLogger } from '../src/core/logger';
import { MqttBridge } from '../src/mqtt/bridge';
import { startEmbeddedBroker } from '../src/mqtt/broker';
import { Secret } from '../src/core/secret';
import { startMosquitto } from '../test/helpers/mosquitto';
import { freePort } from '../test/helpers/ports';

const HOSTS = 200;
const SEQUENTIAL = 1000;
const BURSTS = 20;

export interface LatencyFigures {
  broker: string;
  sequential: { p50: number; p99: number; n: number };
  burst: { p50: number; p99: number; n: number; burstMs: number };
}

interface Target {
  name: string;
  url: string;
  user?: { username: string; password: string };
  close(): Promise<void>;
}

async function aedesTarget(): Promise<Target> {
  const b = await startEmbeddedBroker({ host: '127.0.0.1', port: await freePort(), log: silentLogger() });
  return { name: 'aedes (embedded)', url: b.url, close: () => b.close() };
}

async function mosquittoTarget(): Promise<Target> {
  const user = { username: 'bench', password: 'bench-pw', acl: ['topic readwrite blackstart/#'] };
  const m = await startMosquitto([user]);
  return { name: 'mosquitto 2 (auth+ACL)', url: m.url, user, close: () => m.close() };
}

export async function measureLatency(which: 'aedes' | 'mosquitto'): Promise<LatencyFigures> {
  const target = which === 'aedes' ? await aedesTarget() : await mosquittoTarget();
  const hub = new Hub();
  const ids = Array.from({ length: HOSTS }, (_, i) => `host-${i}`);
  ids.forEach((id) => hub.addHost(id));
  const bridge = new MqttBridge(hub, {
    url: target.url,
    baseTopic: 'blackstart',
    protocolVersion: which === 'aedes' ? 4 : 5,
    reconnectMinMs: 200,
    reconnectMaxMs: 1000,
    log: silentLogger(),
    ...(target.user ? { username: target.user.username, password: new Secret(target.user.password, 'bench') } : {}),
  });
  bridge.start();
  await bridge.ready();

  const sub = await mqtt.connectAsync(target.url, { reconnectPeriod: 0, ...(target.user ?? {}) });
  await sub.subscribeAsync('blackstart/host/+', { qos: 1 });
  const sentAt = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const samples: number[] = [];
  sub.on('message', (topic, payload) => {
    const key = `${topic} ${(JSON.parse(payload.toString()) as { latency_ms: number }).latency_ms}`;
    const t0 = sentAt.get(key);
    if (t0 === undefined) return;
    sentAt.delete(key);
    samples.push(performance.now() - t0);
    waiters.get(key)?.();
  });
  // Let the retained backlog drain before measuring.
  await new Promise((r) => setTimeout(r, 500));

  let value = 1;
  const change = (id: string): Promise<void> => {
    const v = value++;
    const key = `blackstart/host/${id} ${v}`;
    const got = new Promise<void>((resolve) => waiters.set(key, resolve));
    sentAt.set(key, performance.now());
    hub.updateHost(id, { latencyMs: v });
    return got.then(() => void waiters.delete(key));
  };

  for (let i = 0; i < SEQUENTIAL; i++) await change(ids[i % HOSTS] as string);
  const sequential = stats(samples.splice(0));

  const burstTimes: number[] = [];
  for (let b = 0; b < BURSTS; b++) {
    const t0 = performance.now();
    await Promise.all(ids.map((id) => change(id)));
    burstTimes.push(performance.now() - t0);
  }
  const burst = { ...stats(samples.splice(0)), burstMs: percentile(burstTimes, 50) };

  await sub.endAsync(true);
  await bridge.stop();
  await target.close();
  return { broker: target.name, sequential, burst };
}

function stats(xs: number[]): { p50: number; p99: number; n: number } {
  return { p50: percentile(xs, 50), p99: percentile(xs, 99), n: xs.length };
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}
