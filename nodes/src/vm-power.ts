/**
 * `blackstart-vm-power`: each input asks a guest for an action (start, shutdown, save, off); the output
 * carries the result. msg.host, msg.guest and msg.action (or a string msg.payload) override the
 * settings; msg.topic comes out as `<host>/<guest>`. A failed action goes to Catch nodes with the
 * message (msg.payload is the result there too) instead of the output, as for `blackstart-power`.
 */
import { BlackstartError, VM_ACTIONS, type VmAction } from 'blackstart';
import { actionRunner, guarded } from './lib/action';
import { linkToBlackstart } from './lib/link';
import { override } from './lib/msg';
import type { NodeAPI, NodeDef, RedNode } from './lib/red';
import { statusOf, statusSetter } from './lib/status';

function isVmAction(a: string): a is VmAction {
  return (VM_ACTIONS as readonly string[]).includes(a);
}

export = function (RED: NodeAPI): void {
  function BlackstartVmPower(this: RedNode, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    // Node-RED calls the constructor with `this` as the node; the callbacks below keep a name for it.
    const node = this as RedNode;
    const show = statusSetter(node);

    const link = linkToBlackstart(RED, node, def.server, {
      attach: () => () => undefined,
      render: () => show(statusOf('ready')),
    });

    const run = actionRunner(node, () => link.source());

    node.on('input', (msg, send, done) =>
      guarded(node, done, async () => {
        const host = override(msg, 'host', def.host);
        const guest = override(msg, 'guest', def.guest);
        // An inject or dashboard button sends the action as a string payload; msg.action still wins, as on the outage node.
        const fromPayload = typeof msg.payload === 'string' ? msg.payload : '';
        const action = override(msg, 'action', fromPayload || def.action);
        const where = `"${host}/${guest}"`;
        if (!host) throw new BlackstartError('BAD_REQUEST', 'no host: set one on the node or in msg.host');
        if (!guest) throw new BlackstartError('BAD_REQUEST', `no guest on host "${host}": set one on the node or in msg.guest`);
        if (!isVmAction(action)) {
          throw new BlackstartError('BAD_REQUEST', `unknown guest action "${action}" for ${where}: use one of ${VM_ACTIONS.join(', ')}`);
        }
        const label = `${action} ${host}/${guest}`;
        await run(msg, send, done, { label, what: `${action} of guest ${where}`, topic: `${host}/${guest}`, execute: (s) => s.executeVm(host, guest, action) });
      }),
    );
  }

  RED.nodes.registerType('blackstart-vm-power', BlackstartVmPower);
};
