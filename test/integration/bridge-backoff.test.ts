import { createServer, type Server } from 'node:net';
import { Hub } from '../../src/core/hub';
import { silentLogger } from '../../src/core/logger';
import { MqttBridge } from '../../src/mqtt/bridge';
import { sleep } from '../helpers/mqtt-watch';
import { freePort } from '../helpers/ports';

describe('MQTT bridge reconnect backoff', () => {
  it('waits longer after each failed attempt, up to reconnect_max, and keeps trying', async () => {
    // A listener that drops every connection: each drop is one failed attempt.
    const attempts: number[] = [];
    const server: Server = createServer((socket) => {
      attempts.push(Date.now());
      socket.destroy();
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const bridge = new MqttBridge(new Hub(), {
      url: `mqtt://127.0.0.1:${port}`,
      baseTopic: 'blackstart',
      protocolVersion: 4,
      reconnectMinMs: 100,
      reconnectMaxMs: 400,
      log: silentLogger(),
    });
    try {
      bridge.start();
      await sleep(2600);
    } finally {
      await bridge.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    const gaps = attempts.slice(1).map((t, i) => t - (attempts[i] as number));
    // Expected 100, 200, 400, 400, ... ms between attempts (plus connection time).
    expect(gaps.length).toBeGreaterThanOrEqual(5);
    const expected = [100, 200, 400, 400, 400];
    expected.forEach((ms, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(ms * 0.9);
      expect(gaps[i]).toBeLessThan(ms + 250);
    });
  });
});
