import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMosquitto } from '../helpers/mosquitto';
import { bridgeContract } from './bridge-contract';

/** Users of the test broker: the hub may write its tree; a client may read it and send commands. */
export const HUB_USER = { username: 'hub', password: 'hub-s3cret', acl: ['topic readwrite blackstart/#', 'topic write replies/#'] };
export const CLIENT_USER = {
  username: 'client',
  password: 'client-s3cret',
  acl: ['topic read blackstart/#', 'topic write blackstart/host/+/set', 'topic write blackstart/host/+/vm/+/set', 'topic write blackstart/outage/set', 'topic readwrite replies/#'],
};

bridgeContract('a real Mosquitto (password auth + ACL)', async () => {
  const mosq = await startMosquitto([HUB_USER, CLIENT_USER]);
  const pw = join(mosq.dir, 'hub.pw');
  writeFileSync(pw, `${HUB_USER.password}\n`);
  return {
    mqttYaml: `mqtt:\n  url: ${mosq.url}\n  username: ${HUB_USER.username}\n  password_file: ${pw}\n  reconnect_min: 200ms\n  reconnect_max: 1s\n`,
    env: {},
    url: mosq.url,
    client: { username: CLIENT_USER.username, password: CLIENT_USER.password },
    mqtt5: true,
    close: () => mosq.close(),
  };
});
