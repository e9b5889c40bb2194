/**
 * `blackstart-host`: one message when a host's phase, power or reachability changes; msg.topic is the
 * phase (running, shutting_down, down, waking, unreachable).
 */
import { payloads, type HostState } from 'blackstart';
import { answerWithState, linkToBlackstart } from './lib/link';
import type { NodeAPI, NodeDef, NodeMessage, RedNode } from './lib/red';
import { statusOf, statusSetter } from './lib/status';

function message(host: string, state: HostState, previous: HostState | undefined): NodeMessage {
  return { topic: state.phase, host, previous: previous?.phase ?? null, payload: payloads.hostPayload(state) };
}

// Latency moves on every probe; a flow wants to hear when something it acts on changed.
function changed(a: HostState | undefined, b: HostState): boolean {
  return !a || a.phase !== b.phase || a.power !== b.power || a.reachable !== b.reachable;
}

export = function (RED: NodeAPI): void {
  function BlackstartHost(this: RedNode, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    // Node-RED calls the constructor with `this` as the node; the callbacks below keep a name for it.
    const node = this as RedNode;
    const show = statusSetter(node);
    const hostId = typeof def.host === 'string' ? def.host : '';
    let last: HostState | undefined;

    const link = linkToBlackstart(RED, node, def.server, {
      attach(source) {
        last = source.host(hostId);
        const listener = (id: string, state: HostState): void => {
          if (id !== hostId) return;
          show(statusOf(state.phase));
          const previous = last;
          last = state;
          if (changed(previous, state)) node.send(message(hostId, state, previous));
        };
        source.on('host', listener);
        return () => source.off('host', listener);
      },
      render(source) {
        const current = source.host(hostId);
        show(current ? statusOf(current.phase) : statusOf('unknown'));
      },
    });

    // Any input asks for the current state (msg.topic is then the phase, as for a change).
    answerWithState(node, link, `no state for host "${hostId}" yet`, (source) => {
      const state = source.host(hostId);
      return state && message(hostId, state, state);
    });
  }

  RED.nodes.registerType('blackstart-host', BlackstartHost);
};
