/**
 * Listening on a TCP address for the servers Blackstart starts itself (NUT, apcupsd NIS, the
 * embedded MQTT broker): a port it cannot have must stop the start, with a message that says
 * what to change rather than a bare errno.
 */
import type { Server } from 'node:net';
import { BlackstartError } from './errors';

/** What to tell the user, by errno; any other error is told by its own message. */
export interface ListenHints {
  EADDRINUSE: string;
  EACCES?: string;
}

/** Resolves once `server` listens; rejects with REFUSED naming `what` and the address. */
export function listenTcp(server: Server, host: string, port: number, what: string, hints: ListenHints): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const hint = err.code === 'EADDRINUSE' || err.code === 'EACCES' ? hints[err.code] : undefined;
      reject(new BlackstartError('REFUSED', `${what} cannot listen on ${host}:${port}: ${hint ?? err.message}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
