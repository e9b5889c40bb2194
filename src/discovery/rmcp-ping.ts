/**
 * ASF presence ping to 623/UDP of many addresses from one socket: a BMC answers with a pong
 * even before any IPMI session, so this finds management boards without credentials.
 */
import { createSocket } from 'node:dgram';
import { decodeAsfPong, encodeAsfPing, type AsfPong } from '../adapters/ipmi/codec-rmcp';

export const RMCP_PORT = 623;

export interface RmcpPingOptions {
  timeoutMs: number;
  port?: number;
  /** Pings per address; a second one covers the first being dropped while ARP resolved. */
  attempts?: number;
}

export async function rmcpPresence(addresses: readonly string[], opts: RmcpPingOptions): Promise<Map<string, AsfPong>> {
  const found = new Map<string, AsfPong>();
  if (addresses.length === 0) return found;
  const wanted = new Set(addresses);
  const port = opts.port ?? RMCP_PORT;
  const attempts = opts.attempts ?? 2;
  const socket = createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    if (!wanted.has(rinfo.address) || found.has(rinfo.address)) return;
    try {
      found.set(rinfo.address, decodeAsfPong(msg));
    } catch {
      // not a pong: some other service on 623, which is no evidence of a BMC
    }
  });
  // Send errors (no route, ARP failure) only mean "no BMC there"; they must not end the scan.
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.bind(0, resolve));
  try {
    for (let a = 0; a < attempts; a++) {
      for (const [i, address] of addresses.entries()) {
        if (!found.has(address)) socket.send(encodeAsfPing(i & 0xff), port, address, () => undefined);
      }
      await new Promise((r) => setTimeout(r, opts.timeoutMs / attempts));
    }
  } finally {
    socket.close();
  }
  return found;
}
