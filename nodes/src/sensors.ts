/** `blackstart-sensors`: a host's IPMI sensor readings, one message per reading cycle. */
import { type SensorMap } from 'blackstart';
import { answerWithState, linkToBlackstart } from './lib/link';
import type { NodeAPI, NodeDef, NodeMessage, RedNode } from './lib/red';
import { statusOf, statusSetter } from './lib/status';

function message(host: string, readings: SensorMap): NodeMessage {
  return { topic: host, host, payload: readings };
}

function dot(readings: SensorMap) {
  const bad = Object.values(readings).filter((r) => r.status !== 'ok').length;
  const count = Object.keys(readings).length;
  return bad > 0 ? statusOf('failed', `${bad} of ${count} not ok`) : statusOf('ok', `${count} sensors`);
}

// In process, a known host without a BMC has an empty map: as good as none.
function readable(readings: SensorMap | undefined): SensorMap | undefined {
  return readings && Object.keys(readings).length > 0 ? readings : undefined;
}

export = function (RED: NodeAPI): void {
  function BlackstartSensors(this: RedNode, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    // Node-RED calls the constructor with `this` as the node; the callbacks below keep a name for it.
    const node = this as RedNode;
    const show = statusSetter(node);
    const hostId = typeof def.host === 'string' ? def.host : '';

    const link = linkToBlackstart(RED, node, def.server, {
      attach(source) {
        const listener = (id: string, readings: SensorMap): void => {
          if (id !== hostId) return;
          show(dot(readings));
          node.send(message(hostId, readings));
        };
        source.on('sensors', listener);
        return () => source.off('sensors', listener);
      },
      render(source) {
        const current = readable(source.sensors(hostId));
        show(current ? dot(current) : statusOf('unknown'));
      },
    });

    answerWithState(node, link, `no sensor readings for host "${hostId}" yet (does it have a BMC?)`, (source) => {
      const readings = readable(source.sensors(hostId));
      return readings && message(hostId, readings);
    });
  }

  RED.nodes.registerType('blackstart-sensors', BlackstartSensors);
};
