/** The core logs through pino; inside Homebridge its lines go to the Homebridge log at the same level. */
import { forwardingLogger, type Logger } from 'blackstart';
import type { Logging } from './homebridge-types';

export function coreLogger(log: Logging): Logger {
  return forwardingLogger({ error: (t) => log.error(t), warn: (t) => log.warn(t), info: (t) => log.info(t), debug: (t) => log.debug(t) }, 'info');
}
