/** The core logs through pino; inside Node-RED its lines go to the config node's log at the same level. */
import { forwardingLogger, type Logger } from 'blackstart';
import type { RedNode } from './red';

export function nodeLogger(node: RedNode): Logger {
  // node.error without a msg would count as an uncaught flow error; core errors are logged, not thrown.
  return forwardingLogger({ error: (t) => node.warn(t), warn: (t) => node.warn(t), info: (t) => node.log(t), debug: (t) => node.debug(t) });
}
