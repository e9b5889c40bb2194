/** Builds the plugin's BlackstartSource from its config: the core in this process, or a remote one over MQTT. */
import { resolve } from 'node:path';
import { HubSource, loadConfig, RemoteSource, Secret, startBlackstart, type BlackstartSource, type Logger } from 'blackstart';
import type { PluginConfig } from './config';

export async function createSource(config: PluginConfig, log: Logger, storagePath: string): Promise<BlackstartSource> {
  const mode = config.mode;
  if (mode.kind === 'remote') {
    return new RemoteSource({
      url: mode.url,
      baseTopic: mode.baseTopic,
      hosts: [...config.hosts.keys()],
      log,
      clientIdPrefix: 'homebridge-blackstart',
      ...(mode.username ? { username: mode.username } : {}),
      ...(mode.password ? { password: new Secret(mode.password, 'homebridge config') } : {}),
    });
  }
  // A relative path is taken from Homebridge's storage directory, where config.json lives.
  const { config: core } = loadConfig(resolve(storagePath, mode.configFile));
  const app = await startBlackstart(core, { log });
  return new HubSource(app.hub, () => app.stop());
}
