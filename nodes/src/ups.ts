/**
 * `blackstart-ups`: one message per status change of a UPS, msg.topic naming the event
 * (on_battery, restored, low_battery, comm_lost, or the new status for the rest).
 */
import { isOnBattery, payloads, type BlackstartSource, type UpsState, type UpsStatus } from 'blackstart';
import { answerWithState, linkToBlackstart } from './lib/link';
import { seconds } from './lib/msg';
import type { NodeAPI, NodeDef, NodeMessage, RedNode } from './lib/red';
import { statusOf, statusSetter } from './lib/status';
import { upsTopic } from './lib/ups-topic';

function message(ups: string, topic: string, state: UpsState, previous: UpsStatus | undefined): NodeMessage {
  return { topic, ups, previous: previous ?? null, payload: payloads.upsPayload(state) };
}

function dot(state: UpsState) {
  return statusOf(state.status, state.chargePct !== null ? `${Math.round(state.chargePct)} %` : undefined);
}

export = function (RED: NodeAPI): void {
  function BlackstartUps(this: RedNode, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    // Node-RED calls the constructor with `this` as the node; the callbacks below keep a name for it.
    const node = this as RedNode;
    const show = statusSetter(node);
    const upsId = typeof def.ups === 'string' ? def.ups : '';
    // A short blip should not start a flow: on_battery waits this long, and its restored is not sent either.
    const holdMs = seconds(def.onBatteryS, 0) * 1000;
    let last: UpsStatus | undefined;
    let hold: NodeJS.Timeout | undefined;
    /** Whether this outage's on_battery (or low_battery) went out, so its restored goes out too. */
    let announced = false;

    const cancelHold = (): void => {
      if (hold) clearTimeout(hold);
      hold = undefined;
    };

    const onUps = (source: BlackstartSource, id: string, state: UpsState): void => {
      if (id !== upsId) return;
      show(dot(state));
      const previous = last;
      if (state.status === previous) return;
      last = state.status;
      const topic = upsTopic(previous, state.status);
      if (topic === 'on_battery' && holdMs > 0) {
        cancelHold();
        hold = setTimeout(() => {
          hold = undefined;
          const now = source.ups(upsId);
          if (!now || !isOnBattery(now.status)) return;
          announced = true;
          node.send(message(upsId, 'on_battery', now, previous));
        }, holdMs);
        return;
      }
      if (topic === 'restored') {
        cancelHold();
        const blip = !announced;
        announced = false;
        if (blip) return;
      }
      if (topic === 'on_battery' || topic === 'low_battery') {
        cancelHold();
        announced = true;
      }
      node.send(message(upsId, topic, state, previous));
    };

    const link = linkToBlackstart(RED, node, def.server, {
      attach(source) {
        const current = source.ups(upsId);
        last = current?.status;
        announced = current !== undefined && isOnBattery(current.status);
        const listener = (id: string, state: UpsState): void => onUps(source, id, state);
        source.on('ups', listener);
        return () => source.off('ups', listener);
      },
      render(source) {
        const current = source.ups(upsId);
        show(current ? dot(current) : statusOf('unknown'));
      },
    });

    // Any input asks for the current state, as msg.topic "state".
    answerWithState(node, link, `no state for UPS "${upsId}" yet`, (source) => {
      const state = source.ups(upsId);
      return state && message(upsId, 'state', state, last);
    });
    node.on('close', (_removed, done) => {
      cancelHold();
      done();
    });
  }

  RED.nodes.registerType('blackstart-ups', BlackstartUps);
};
