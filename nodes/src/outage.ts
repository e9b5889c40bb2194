/**
 * `blackstart-outage`: the orchestrator seen from a flow. Output 1: the outage state when its phase,
 * plan steps or planned window change (msg.topic = phase); output 2: every event of `blackstart/event` (msg.topic = its type);
 * output 3: the result of a command. Input: `abort` or `simulate` (msg.payload or msg.action,
 * msg.args for simulate).
 */
import { BlackstartError, OUTAGE_ACTIONS, payloads, toBlackstartError, type BlackstartEvent, type OutageState } from 'blackstart';
import { linkToBlackstart } from './lib/link';
import { isOneOf, requestedAction, resultError } from './lib/msg';
import type { NodeAPI, NodeDef, NodeMessage, RedNode } from './lib/red';
import { statusOf, statusSetter } from './lib/status';

function stateMessage(state: OutageState): NodeMessage {
  return { topic: state.phase, payload: payloads.outagePayload(state) };
}

/** What makes an outage state worth a message: the budget alone moves with every UPS reading. */
function changeKey(state: OutageState | undefined): string {
  if (!state) return '';
  const steps = state.plan.map((p) => [p.host, p.stage, p.action, p.state]);
  return JSON.stringify([state.phase, state.id, state.reason, steps, state.planned]);
}

function eventMessage(event: BlackstartEvent): NodeMessage {
  return { topic: event.type, payload: payloads.eventPayload(event) };
}

export = function (RED: NodeAPI): void {
  function BlackstartOutage(this: RedNode, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    // Node-RED calls the constructor with `this` as the node; the callbacks below keep a name for it.
    const node = this as RedNode;
    const show = statusSetter(node);
    let last: string | undefined;

    const link = linkToBlackstart(RED, node, def.server, {
      attach(source) {
        last = changeKey(source.outage());
        const onOutage = (state: OutageState): void => {
          show(statusOf(state.phase));
          const key = changeKey(state);
          if (key === last) return;
          last = key;
          node.send([stateMessage(state), null, null]);
        };
        const onEvent = (event: BlackstartEvent): void => node.send([null, eventMessage(event), null]);
        source.on('outage', onOutage);
        source.on('event', onEvent);
        return () => {
          source.off('outage', onOutage);
          source.off('event', onEvent);
        };
      },
      render(source) {
        const current = source.outage();
        show(current ? statusOf(current.phase) : statusOf('unknown'));
      },
    });

    node.on('input', async (msg, send, done) => {
      const action = requestedAction(msg, def.action);
      try {
        if (!isOneOf(OUTAGE_ACTIONS, action)) {
          throw new BlackstartError('BAD_REQUEST', `unknown outage action "${action}": use ${OUTAGE_ACTIONS.join(' or ')}`);
        }
        const args = msg.args !== null && typeof msg.args === 'object' ? (msg.args as Record<string, unknown>) : undefined;
        const source = await link.source();
        const result = await source.outageCommand(action, args);
        msg.payload = payloads.resultPayload(result);
        if (!result.ok) {
          done(resultError(result, `outage ${action}`));
          return;
        }
        send([null, null, msg]);
        done();
      } catch (err) {
        done(toBlackstartError(err));
      }
    });
  }

  RED.nodes.registerType('blackstart-outage', BlackstartOutage);
};
