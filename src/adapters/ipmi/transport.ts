/**
 * The only file of the IPMI adapter that touches the network: one UDP socket connected to the
 * BMC, so the kernel drops datagrams from anyone else before they reach the session code.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';

export interface IpmiTransport {
  send(buf: Buffer): Promise<void> | void;
  onMessage(cb: (buf: Buffer) => void): void;
  close(): Promise<void> | void;
}

export function udpTransport(host: string, port: number): IpmiTransport {
  const socket: Socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
  let listener: ((buf: Buffer) => void) | undefined;
  let closed = false;
  socket.on('message', (msg) => listener?.(msg));
  // ICMP "port unreachable" arrives as ECONNREFUSED on a connected socket. The request just
  // goes unanswered, and the caller's timeout names the BMC; an unhandled 'error' would crash.
  socket.on('error', () => undefined);
  const connected = new Promise<void>((resolve, reject) => {
    socket.connect(port, host, () => resolve());
    socket.once('error', reject);
  });
  connected.catch(() => undefined);
  return {
    async send(buf) {
      if (closed) return;
      await connected;
      await new Promise<void>((resolve) => socket.send(buf, () => resolve()));
    },
    onMessage(cb) {
      listener = cb;
    },
    close() {
      if (closed) return;
      closed = true;
      listener = undefined;
      return new Promise<void>((resolve) => {
        try {
          socket.close(() => resolve());
        } catch {
          resolve();
        }
      });
    },
  };
}
