/** The core logs through pino; inside Node-RED its lines go to the config node's log at the same level. */
import { createLogger, type Logger } from 'blackstart';
import type { RedNode } from './red';

const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v']);

export function nodeLogger(node: RedNode): Logger {
  return createLogger({
    level: 'info',
    destination: {
      write(line: string): void {
        let rec: Record<string, unknown>;
        try {
          rec = JSON.parse(line) as Record<string, unknown>;
        } catch {
          node.log(line.trim());
          return;
        }
        const extra = Object.entries(rec)
          .filter(([k]) => !SKIP.has(k))
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ');
        const text = `${String(rec.msg ?? '')}${extra ? ` (${extra})` : ''}`;
        const level = typeof rec.level === 'number' ? rec.level : 30;
        // node.error without a msg would count as an uncaught flow error; core errors are logged, not thrown.
        if (level >= 40) node.warn(text);
        else if (level >= 30) node.log(text);
        else node.debug(text);
      },
    },
  });
}
