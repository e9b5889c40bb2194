import { freePort } from '../helpers/ports';
import { bridgeContract } from './bridge-contract';

bridgeContract('the embedded aedes broker', async () => {
  const port = await freePort();
  return {
    mqttYaml: `mqtt:\n  embedded:\n    host: 127.0.0.1\n    port: ${port}\n`,
    env: {},
    url: `mqtt://127.0.0.1:${port}`,
    client: {},
    mqtt5: false,
    close: async () => undefined,
  };
});
