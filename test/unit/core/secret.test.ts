import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { createLogger } from '../../../src/core/logger';
import { Secret } from '../../../src/core/secret';

describe('Secret', () => {
  const s = new Secret('hunter2', 'env MQTT_PASSWORD');

  it('gives its value only through reveal()', () => {
    expect(s.reveal()).toBe('hunter2');
    expect(JSON.stringify({ password: s })).not.toContain('hunter2');
    expect(`${s}`).not.toContain('hunter2');
    expect(inspect({ s })).not.toContain('hunter2');
    expect(inspect(s)).toContain('env MQTT_PASSWORD');
  });

  it('never reaches a log line, as a Secret or as a plain string under a secret key', () => {
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        out += chunk.toString();
        cb();
      },
    });
    const log = createLogger({ level: 'info', destination: sink });
    log.info({ mqtt: { url: 'mqtt://x', password: 'plain-hunter3' }, s }, 'connecting');
    log.info({ token: 'tok-hunter4', nested: { deep: { password: 'hunter5' } } }, 'more');
    expect(out).toContain('connecting');
    for (const leaked of ['hunter2', 'plain-hunter3', 'tok-hunter4', 'hunter5']) expect(out).not.toContain(leaked);
  });
});
