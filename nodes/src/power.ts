/**
 * `blackstart-power`: each input asks a host for an action; the output carries the result. msg.host
 * and msg.action override the settings; msg.topic comes out as the host. A failed action goes to Catch
 * nodes with the message (msg.payload is the result there too) instead of the output.
 */
import { BlackstartError, HOST_ACTIONS } from 'blackstart';
import { actionNode, guarded } from './lib/action';
import { isOneOf, override } from './lib/msg';
import type { NodeAPI, NodeDef, RedNode } from './lib/red';

export = function (RED: NodeAPI): void {
  function BlackstartPower(this: RedNode, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    // Node-RED calls the constructor with `this` as the node; the callbacks below keep a name for it.
    const node = this as RedNode;
    const run = actionNode(RED, node, def.server);

    node.on('input', (msg, send, done) =>
      guarded(node, done, async () => {
        const host = override(msg, 'host', def.host);
        const action = override(msg, 'action', def.action);
        if (!host) throw new BlackstartError('BAD_REQUEST', 'no host: set one on the node or in msg.host');
        if (!isOneOf(HOST_ACTIONS, action)) {
          throw new BlackstartError('BAD_REQUEST', `unknown action "${action}": use one of ${HOST_ACTIONS.join(', ')}`);
        }
        await run(msg, send, done, { label: `${action} ${host}`, what: `${action} on "${host}"`, topic: host, execute: (s) => s.execute(host, action) });
      }),
    );
  }

  RED.nodes.registerType('blackstart-power', BlackstartPower);
};
