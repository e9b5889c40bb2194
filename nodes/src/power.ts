/**
 * `blackstart-power`: each input asks a host for an action; the output carries the result. msg.host
 * and msg.action override the settings; msg.topic comes out as the host. A failed action goes to Catch
 * nodes with the message (msg.payload is the result there too) instead of the output.
 */
import { BlackstartError, HOST_ACTIONS, payloads, toBlackstartError, type HostAction } from 'blackstart';
import { linkToBlackstart } from './lib/link';
import { override, resultError } from './lib/msg';
import type { NodeAPI, NodeDef, RedNode } from './lib/red';
import { statusOf } from './lib/status';

function isHostAction(a: string): a is HostAction {
  return (HOST_ACTIONS as readonly string[]).includes(a);
}

export = function (RED: NodeAPI): void {
  function BlackstartPower(this: RedNode, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    // Node-RED calls the constructor with `this` as the node; the callbacks below keep a name for it.
    const node = this as RedNode;
    let running = 0;

    const link = linkToBlackstart(RED, node, def.server, {
      attach: () => () => undefined,
      render: () => node.status(statusOf('ready')),
    });

    node.on('input', async (msg, send, done) => {
      const host = override(msg, 'host', def.host);
      const action = override(msg, 'action', def.action);
      try {
        if (!host) throw new BlackstartError('BAD_REQUEST', 'no host: set one on the node or in msg.host');
        if (!isHostAction(action)) {
          throw new BlackstartError('BAD_REQUEST', `unknown action "${action}": use one of ${HOST_ACTIONS.join(', ')}`);
        }
        const source = await link.source();
        running++;
        node.status(statusOf('busy', `${action} ${host}`));
        const result = await source.execute(host, action);
        running--;
        msg.payload = payloads.resultPayload(result);
        // Not msg.host / msg.action: a chained power node would take them as overrides.
        msg.topic = host;
        if (!result.ok) {
          node.status(statusOf('failed', `${action} ${host}: ${result.error?.code ?? ''}`));
          done(resultError(result, `${action} on "${host}"`));
          return;
        }
        if (running === 0) node.status(statusOf('ok', `${action} ${host}`));
        send(msg);
        done();
      } catch (err) {
        const e = toBlackstartError(err);
        node.status(statusOf('failed', e.code));
        done(e);
      }
    });
  }

  RED.nodes.registerType('blackstart-power', BlackstartPower);
};
