/**
 * `blackstart-config`: the hub the other nodes talk to. In-process mode runs the Blackstart core from
 * a config file inside Node-RED (it is then the one process polling those devices); remote mode reads
 * a running Blackstart over MQTT. The other nodes get a BlackstartSource either way and cannot tell.
 */
import { resolve } from 'node:path';
import { BlackstartError, HubSource, loadConfig, outageSimulator, RemoteSource, Secret, startBlackstart, type BlackstartSource } from 'blackstart';
import type { BlackstartConfigNode, ConfigDef } from './lib/config-node';
import { nodeLogger } from './lib/log';
import type { NodeAPI, NodeDef, RedNode } from './lib/red';

/** Config files run in this process, by absolute path: a second node on the same file would poll every device twice. */
const running = new Map<string, string>();

export = function (RED: NodeAPI): void {
  function BlackstartConfig(this: RedNode, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this as BlackstartConfigNode;
    const d = def as unknown as NodeDef & ConfigDef;
    let claimed: string | undefined;

    const start = async (): Promise<BlackstartSource> => {
      if (d.mode === 'remote') {
        if (!d.url) throw new BlackstartError('CONFIG', 'remote mode needs the MQTT broker URL (e.g. mqtt://hub:1883)');
        const password = node.credentials?.password;
        const source = new RemoteSource({
          url: d.url,
          baseTopic: d.baseTopic || 'blackstart',
          clientIdPrefix: 'node-red-blackstart',
          log: nodeLogger(node),
          ...(d.username ? { username: d.username } : {}),
          ...(password ? { password: new Secret(password, 'Node-RED credentials') } : {}),
        });
        await source.start();
        return source;
      }
      if (!d.configFile) throw new BlackstartError('CONFIG', 'in-process mode needs the path of a Blackstart config file');
      // A relative path starts at Node-RED's user directory, where flows.json lives.
      const file = resolve(RED.settings.userDir ?? process.cwd(), d.configFile);
      const holder = running.get(file);
      if (holder) throw new BlackstartError('REFUSED', `${file} already runs in config node ${holder}: one process polls a device, point this node at the same config node`);
      running.set(file, node.id);
      claimed = file;
      const { config } = loadConfig(file);
      const app = await startBlackstart(config, { log: nodeLogger(node), simulate: outageSimulator(config) });
      const source = new HubSource(app.hub, () => app.stop());
      await source.start();
      return source;
    };

    const started = start();
    // Each user node reports the failure on its own status; this keeps it from being unhandled meanwhile.
    started.catch((err: unknown) => node.error(`Blackstart did not start: ${(err as Error).message}`));
    node.source = () => started;

    node.on('close', (_removed, done) => {
      started
        .then((source) => source.stop())
        .catch(() => undefined)
        .finally(() => {
          if (claimed && running.get(claimed) === node.id) running.delete(claimed);
          done();
        });
    });
  }

  RED.nodes.registerType('blackstart-config', BlackstartConfig, { credentials: { password: { type: 'password' } } });
};
