/**
 * Connects a node to its `blackstart-config`: waits for the source, keeps the status dot honest
 * while Blackstart cannot be read, and lets go of every listener when the node closes.
 */
import { BlackstartError, toBlackstartError, type BlackstartSource } from 'blackstart';
import { isConfigNode } from './config-node';
import type { NodeAPI, NodeMessage, RedNode } from './red';
import { statusOf, statusSetter } from './status';

export interface LinkHooks {
  /** Subscribes to the source; returns what undoes it. */
  attach(source: BlackstartSource): () => void;
  /** Shows the current state as the status dot (called on attach and whenever the source is back online). */
  render(source: BlackstartSource): void;
}

export interface Link {
  /** The source once it runs; rejects like the config node's source(). */
  source(): Promise<BlackstartSource>;
}

export function linkToBlackstart(RED: NodeAPI, node: RedNode, serverId: unknown, hooks: LinkHooks): Link {
  const show = statusSetter(node);
  const config = typeof serverId === 'string' && serverId ? RED.nodes.getNode(serverId) : null;
  if (!isConfigNode(config)) {
    const err = new BlackstartError('CONFIG', 'no Blackstart server is configured for this node');
    show(statusOf('error', 'no server'));
    node.error(err.message);
    const failed = Promise.reject(err);
    failed.catch(() => undefined);
    return { source: () => failed };
  }
  show(statusOf('connecting'));
  let closed = false;
  let detach: (() => void) | undefined;
  const ready = config.source();
  ready.then(
    (source) => {
      if (closed) return;
      const onOnline = (online: boolean): void => (online ? hooks.render(source) : show(statusOf('offline')));
      const undo = hooks.attach(source);
      source.on('online', onOnline);
      detach = () => {
        undo();
        source.off('online', onOnline);
      };
      onOnline(source.online);
    },
    (err: unknown) => {
      const e = toBlackstartError(err);
      show(statusOf('error', e.code));
      node.error(`Blackstart did not start: ${e.message}`);
    },
  );
  node.on('close', (_removed, done) => {
    closed = true;
    detach?.();
    done();
  });
  return { source: () => ready };
}

/**
 * The input handler of the state nodes: any input gets the current state as `read` gives it, merged
 * over the message; no state yet is a NOT_FOUND (`missing` says what is missing). Errors go to Catch
 * nodes as BlackstartErrors, as an action node's do, but leave the dot alone: it shows the state, not this request.
 */
export function answerWithState(node: RedNode, link: Link, missing: string, read: (source: BlackstartSource) => NodeMessage | undefined): void {
  node.on('input', async (msg, send, done) => {
    try {
      const current = read(await link.source());
      if (!current) throw new BlackstartError('NOT_FOUND', missing);
      send({ ...msg, ...current });
      done();
    } catch (err) {
      done(toBlackstartError(err));
    }
  });
}
