/**
 * `blackstart-vm`: one message when a guest of a host's hypervisor changes state; msg.topic is the
 * state (running, paused, stopping, off, saved, unknown). Actions on a guest are `blackstart-vm-power`'s,
 * as a host's are `blackstart-power`'s.
 */
import { payloads, type BlackstartSource, type VmState } from 'blackstart';
import { answerWithState, linkToBlackstart } from './lib/link';
import type { NodeAPI, NodeDef, NodeMessage, RedNode } from './lib/red';
import { statusOf, vmStatusKey, statusSetter } from './lib/status';

function message(source: BlackstartSource, host: string, guest: string, state: VmState, previous: VmState | undefined): NodeMessage {
  // The payload names the guest as its hypervisor does, as on MQTT; a guest the source does not list yet keeps its id.
  const name = source.vms().find((v) => v.host === host && v.id === guest)?.name ?? guest;
  return { topic: state.state, host, guest, previous: previous?.state ?? null, payload: payloads.vmPayload(state, { host, id: guest, name }) };
}

export = function (RED: NodeAPI): void {
  function BlackstartVm(this: RedNode, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    // Node-RED calls the constructor with `this` as the node; the callbacks below keep a name for it.
    const node = this as RedNode;
    const show = statusSetter(node);
    const hostId = typeof def.host === 'string' ? def.host.trim() : '';
    const guestId = typeof def.guest === 'string' ? def.guest.trim() : '';
    let last: VmState | undefined;

    const link = linkToBlackstart(RED, node, def.server, {
      attach(source) {
        last = source.vm(hostId, guestId);
        const listener = (host: string, guest: string, state: VmState): void => {
          if (host !== hostId || guest !== guestId) return;
          show(statusOf(vmStatusKey(state.state)));
          const previous = last;
          last = state;
          // An error text alone changing (a retried read) is not news to a flow; it rides in the payload of the next change.
          if (!previous || previous.state !== state.state) node.send(message(source, hostId, guestId, state, previous));
        };
        source.on('vm', listener);
        return () => source.off('vm', listener);
      },
      render(source) {
        const current = source.vm(hostId, guestId);
        show(current ? statusOf(vmStatusKey(current.state)) : statusOf('unknown'));
      },
    });

    // Any input asks for the current state (msg.topic is then the state, as for a change), as the host node does.
    answerWithState(node, link, `no state for guest "${guestId}" on host "${hostId}" yet`, (source) => {
      const state = source.vm(hostId, guestId);
      return state && message(source, hostId, guestId, state, state);
    });
  }

  RED.nodes.registerType('blackstart-vm', BlackstartVm);
};
