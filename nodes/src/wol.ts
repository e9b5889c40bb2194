/**
 * `blackstart-wol`: sends a Wake-on-LAN magic packet itself, with the core's sender; needs no hub.
 * msg.mac, msg.address and msg.port override the settings.
 */
import { BlackstartError, LIMITED_BROADCAST, parsePassword, WolSender } from 'blackstart';
import { guarded } from './lib/action';
import { override, seconds } from './lib/msg';
import type { NodeAPI, NodeDef, RedNode } from './lib/red';
import { statusOf, statusSetter } from './lib/status';

export = function (RED: NodeAPI): void {
  const sender = new WolSender();

  function BlackstartWol(this: RedNode, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    // Node-RED calls the constructor with `this` as the node; the callbacks below keep a name for it.
    const node = this as RedNode;
    const show = statusSetter(node);
    show({});

    node.on('input', (msg, send, done) =>
      guarded(node, done, async () => {
        const mac = override(msg, 'mac', def.mac);
        if (!mac) throw new BlackstartError('BAD_REQUEST', 'no MAC address: set one on the node or in msg.mac');
        const address = override(msg, 'address', def.address) || LIMITED_BROADCAST;
        const portValue = typeof msg.port === 'number' ? msg.port : override(msg, 'port', def.port === undefined ? '' : String(def.port));
        const port = portValue === '' ? 9 : Number(portValue);
        if (!Number.isInteger(port) || port < 1 || port > 65535) throw new BlackstartError('BAD_REQUEST', `Wake-on-LAN port "${String(portValue)}" is not a port number`);
        const secureOn = node.credentials?.password;
        const password = secureOn ? parsePassword(secureOn) : undefined;
        const report = await sender.send({
          mac,
          address,
          port,
          repeat: Math.max(1, Math.floor(seconds(def.repeat, 3))),
          spacingMs: 100,
          ...(password ? { password } : {}),
        });
        show(statusOf('sent', `${report.mac} → ${report.address}:${report.port}`));
        msg.payload = report;
        send(msg);
        done();
      }),
    );
  }

  // A SecureOn password is a credential: kept out of the flow file like the MQTT password.
  RED.nodes.registerType('blackstart-wol', BlackstartWol, { credentials: { password: { type: 'password' } } });
};
