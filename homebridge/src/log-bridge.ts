/** The core logs through pino; inside Homebridge its lines go to the Homebridge log at the same level. */
import { createLogger, type Logger } from 'blackstart';
import type { Logging } from './homebridge-types';

const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v']);

export function coreLogger(log: Logging, debug: boolean): Logger {
  return createLogger({
    level: debug ? 'debug' : 'info',
    destination: {
      write(line: string): void {
        let rec: Record<string, unknown>;
        try {
          rec = JSON.parse(line) as Record<string, unknown>;
        } catch {
          log.info(line.trim());
          return;
        }
        const extra = Object.entries(rec)
          .filter(([k]) => !SKIP.has(k))
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ');
        const text = `${String(rec.msg ?? '')}${extra ? ` (${extra})` : ''}`;
        const level = typeof rec.level === 'number' ? rec.level : 30;
        if (level >= 50) log.error(text);
        else if (level >= 40) log.warn(text);
        else if (level >= 30) log.info(text);
        else log.debug(text);
      },
    },
  });
}
