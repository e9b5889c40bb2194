/**
 * `blackstart-vm-power`: each input asks a guest for an action (start, shutdown, save, off); the output
 * carries the result. msg.host, msg.guest and msg.action (or a string msg.payload) override the
 * settings; msg.topic comes out as `<host>/<guest>`. A failed action goes to Catch nodes with the
 * message (msg.payload is the result there too) instead of the output, as for `blackstart-power`.
 */
import { BlackstartError, VM_ACTIONS } from 'blackstart';
import { actionNode, guarded } from './lib/action';
import { isOneOf, override, requestedAction } from './lib/msg';
import type { NodeAPI, NodeDef, RedNode } from './lib/red';

export = function (RED: NodeAPI): void {
  function BlackstartVmPower(this: RedNode, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    // Node-RED calls the constructor with `this` as the node; the callbacks below keep a name for it.
    const node = this as RedNode;
    const run = actionNode(RED, node, def.server);

    node.on('input', (msg, send, done) =>
      guarded(node, done, async () => {
        const host = override(msg, 'host', def.host);
        const guest = override(msg, 'guest', def.guest);
        const action = requestedAction(msg, def.action);
        const where = `"${host}/${guest}"`;
        if (!host) throw new BlackstartError('BAD_REQUEST', 'no host: set one on the node or in msg.host');
        if (!guest) throw new BlackstartError('BAD_REQUEST', `no guest on host "${host}": set one on the node or in msg.guest`);
        if (!isOneOf(VM_ACTIONS, action)) {
          throw new BlackstartError('BAD_REQUEST', `unknown guest action "${action}" for ${where}: use one of ${VM_ACTIONS.join(', ')}`);
        }
        const label = `${action} ${host}/${guest}`;
        await run(msg, send, done, { label, what: `${action} of guest ${where}`, topic: `${host}/${guest}`, execute: (s) => s.executeVm(host, guest, action) });
      }),
    );
  }

  RED.nodes.registerType('blackstart-vm-power', BlackstartVmPower);
};
