/** The TCP connect every network client shares: gives up (and frees the socket) when told to. */
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { BlackstartError } from '../core/errors';

/**
 * Opens a byte stream to host:port. Resolves once connected; when `signal` aborts (the caller's
 * connect timeout) it destroys what it opened and rejects with TIMEOUT.
 */
export type TcpConnector = (host: string, port: number, signal: AbortSignal) => Promise<Duplex>;

export const tcpConnect: TcpConnector = (host, port, signal) =>
  new Promise((resolve, reject) => {
    const socket = netConnect({ host, port });
    const onAbort = (): void => {
      socket.destroy();
      reject(new BlackstartError('TIMEOUT', `connect to ${host}:${port} timed out`));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      // Requests are a line or a few bytes: send each at once.
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(err);
    });
  });
