/** What the other nodes see of `blackstart-config`: a source, whichever mode runs behind it. */
import type { BlackstartSource } from 'blackstart';
import type { RedNode } from './red';

export interface BlackstartConfigNode extends RedNode {
  /** Resolves once the source runs; rejects with why it cannot (bad config file, port in use…). */
  source(): Promise<BlackstartSource>;
}

export interface ConfigDef {
  mode: 'in_process' | 'remote';
  configFile: string;
  url: string;
  baseTopic: string;
  username: string;
}

export function isConfigNode(node: RedNode | null): node is BlackstartConfigNode {
  return node !== null && node.type === 'blackstart-config' && typeof (node as Partial<BlackstartConfigNode>).source === 'function';
}
