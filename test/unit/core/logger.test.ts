import { forwardingLogger, type LogSink } from '../../../src/core/logger';

function sink(): LogSink & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (t: string) => lines.push(`${level}: ${t}`);
  return { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

describe('forwarding logger (core log lines into Homebridge or Node-RED)', () => {
  it('keeps the level, puts the fields after the message, and never forwards a secret', () => {
    const s = sink();
    const log = forwardingLogger(s, 'debug');
    log.error({ host: 'nas', code: 'AUTH' }, 'login failed');
    log.warn({ detail: { password: 'hunter2', user: 'admin' } }, 'retrying');
    log.info('up');
    log.debug({ n: 3 }, 'poll');
    expect(s.lines).toEqual(['error: login failed (host=nas code=AUTH)', 'warn: retrying (detail={"password":"[secret]","user":"admin"})', 'info: up', 'debug: poll (n=3)']);
  });

  it('drops what is below its level', () => {
    const s = sink();
    forwardingLogger(s).debug('noise');
    expect(s.lines).toEqual([]);
  });
});
