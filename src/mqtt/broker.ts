/**
 * The embedded broker (aedes), for users who have none. MQTT 3.1.1 only: aedes does not speak
 * MQTT 5, so response topics need an external broker.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import Aedes from 'aedes';
import { listenTcp } from '../core/listen-tcp';
import type { Logger } from '../core/logger';
import type { Secret } from '../core/secret';

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  username?: string;
  password?: Secret;
  log: Logger;
}

export interface EmbeddedBroker {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const aedes = new Aedes();
  if (opts.username !== undefined && opts.password !== undefined) {
    const user = opts.username;
    const pass = opts.password;
    aedes.authenticate = (_client, username, password, done) => {
      const ok = username === user && password !== undefined && password.toString('utf8') === pass.reveal();
      if (ok) {
        done(null, true);
        return;
      }
      const err = Object.assign(new Error('bad username or password'), { returnCode: 4 as const });
      done(err, false);
    };
  }
  aedes.on('clientError', (client, err) => opts.log.debug({ client: client.id, err: err.message }, 'broker: client error'));

  const server: Server = createServer(aedes.handle);
  const closeAedes = (): Promise<void> => new Promise<void>((resolve) => aedes.close(() => resolve()));
  await listenTcp(server, opts.host, opts.port, 'embedded broker', {
    EADDRINUSE: 'the address is in use (another broker? set mqtt.url to use it, or mqtt.embedded.port)',
  }).catch(async (err: unknown) => {
    // aedes runs a heartbeat timer from construction; a broker that never listened must not leave it behind.
    await closeAedes();
    throw err;
  });
  // Once listening, an error of the server is logged: with no listener it would end the process.
  server.on('error', (err) => opts.log.error({ err: err.message }, 'embedded broker error'));
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  opts.log.info({ host: opts.host, port }, 'embedded MQTT broker listening');

  return {
    url: `mqtt://${hostForUrl}:${port}`,
    port,
    close: async () => {
      await closeAedes();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
