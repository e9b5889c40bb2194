import mqtt from 'mqtt';
import { startBlackstart } from '../../src/app';
import { parseConfig } from '../../src/config/loader';
import { silentLogger } from '../../src/core/logger';
import { Watcher } from '../helpers/mqtt-watch';
import { freePort } from '../helpers/ports';

describe('embedded broker with credentials', () => {
  it('refuses anonymous and wrong-password clients; the bridge and a right client get in', async () => {
    const port = await freePort();
    const { config } = parseConfig(`mqtt:\n  embedded:\n    port: ${port}\n    username: lab\n    password_env: EMB_PW\nhosts:\n  nas:\n    simulated: {}\n`, {
      env: { EMB_PW: 'emb-s3cret' },
    });
    const app = await startBlackstart(config, { log: silentLogger() });
    try {
      await app.bridge.ready();
      const url = `mqtt://127.0.0.1:${port}`;
      await expect(mqtt.connectAsync(url, { reconnectPeriod: 0 })).rejects.toThrow(/Not authorized|Bad username or password/i);
      await expect(mqtt.connectAsync(url, { reconnectPeriod: 0, username: 'lab', password: 'nope' })).rejects.toThrow(/Not authorized|Bad username or password/i);
      const w = await Watcher.connect(url, { username: 'lab', password: 'emb-s3cret' }, ['blackstart/host/#']);
      try {
        expect((await w.waitForTopic('blackstart/host/nas')).json()).toMatchObject({ phase: 'running' });
      } finally {
        await w.close();
      }
    } finally {
      await app.stop();
    }
  });

  it('a port already in use is a clear REFUSED error', async () => {
    const port = await freePort();
    const yaml = `mqtt:\n  embedded:\n    port: ${port}\n`;
    const first = await startBlackstart(parseConfig(yaml).config, { log: silentLogger() });
    try {
      await expect(startBlackstart(parseConfig(yaml).config, { log: silentLogger() })).rejects.toMatchObject({
        code: 'REFUSED',
        message: expect.stringMatching(new RegExp(`127\\.0\\.0\\.1:${port}.*in use`)),
      });
    } finally {
      await first.stop();
    }
  });
});
