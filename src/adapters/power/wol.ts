/**
 * Sends Wake-on-LAN magic packets over UDP. The socket comes from an injected factory, so
 * tests can watch the bytes without a network and the codec never sees a socket.
 */
import { createSocket } from 'node:dgram';
import { isIP, isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { sleep, systemClock, type Clock } from '../../core/clock';
import { BlackstartError, toBlackstartError } from '../../core/errors';
import { encodeMagicPacket, formatMac, parseMac } from './wol-codec';

/** The part of a datagram socket the sender uses. */
export interface WolSocket {
  bind(address?: string): Promise<void>;
  setBroadcast(flag: boolean): void;
  send(data: Buffer, port: number, address: string): Promise<void>;
  close(): void;
}

export type WolSocketFactory = (family: 'udp4' | 'udp6') => WolSocket;

export const udpSocketFactory: WolSocketFactory = (family) => {
  const socket = createSocket({ type: family });
  // Errors after a failed send are reported by that send's callback; this keeps one from crashing the process.
  socket.on('error', () => undefined);
  return {
    bind: (address) =>
      new Promise((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ port: 0, ...(address ? { address } : {}), exclusive: true }, () => {
          socket.off('error', reject);
          resolve();
        });
      }),
    setBroadcast: (flag) => socket.setBroadcast(flag),
    send: (data, port, address) =>
      new Promise((resolve, reject) => socket.send(data, port, address, (err) => (err ? reject(err) : resolve()))),
    close: () => socket.close(),
  };
};

export interface WolTarget {
  /** Any form parseMac accepts, or the 6 bytes. */
  mac: string | Uint8Array;
  /** SecureOn password bytes (4 or 6), already parsed. */
  password?: Uint8Array;
  /** Where the datagrams go: a directed broadcast such as 192.168.1.255, a unicast address, or 255.255.255.255. */
  address: string;
  port: number;
  /** Datagrams sent in all; some cards miss the first while their link comes up. */
  repeat: number;
  spacingMs: number;
  /** Local address to send from; on a multi-homed machine it picks the interface a broadcast leaves on. */
  sourceAddress?: string;
  /** Interface name whose first address of the right family is used as sourceAddress. */
  interface?: string;
}

export interface WolSendReport {
  mac: string;
  address: string;
  port: number;
  sent: number;
  bytes: number;
}

export interface WolSenderOptions {
  socketFactory?: WolSocketFactory;
  clock?: Clock;
  /** Interface lookup, injectable for tests; defaults to os.networkInterfaces. */
  interfaces?: typeof networkInterfaces;
}

export class WolSender {
  private readonly socketFactory: WolSocketFactory;
  private readonly clock: Clock;
  private readonly interfaces: typeof networkInterfaces;

  constructor(opts: WolSenderOptions = {}) {
    this.socketFactory = opts.socketFactory ?? udpSocketFactory;
    this.clock = opts.clock ?? systemClock;
    this.interfaces = opts.interfaces ?? networkInterfaces;
  }

  async send(target: WolTarget): Promise<WolSendReport> {
    const mac = typeof target.mac === 'string' ? parseMac(target.mac) : Buffer.from(target.mac);
    const packet = encodeMagicPacket(mac, target.password);
    const family = isIP(target.address);
    if (family === 0) throw new BlackstartError('BAD_REQUEST', `wake-on-LAN address "${target.address}" is not an IP address`);
    if (!Number.isInteger(target.repeat) || target.repeat < 1) {
      throw new BlackstartError('BAD_REQUEST', `wake-on-LAN repeat must be a whole number of at least 1 (got ${target.repeat})`);
    }
    const source = target.sourceAddress ?? (target.interface ? this.addressOf(target.interface, family === 4 ? 4 : 6) : undefined);
    const where = `${formatMac(mac)} via ${target.address}:${target.port}`;
    const socket = this.socketFactory(family === 4 ? 'udp4' : 'udp6');
    let sent = 0;
    try {
      await socket.bind(source);
      // Needed for any broadcast destination; IPv6 has no broadcast (multicast needs no flag).
      if (family === 4) socket.setBroadcast(true);
      for (let i = 0; i < target.repeat; i++) {
        if (i > 0 && target.spacingMs > 0) await sleep(this.clock, target.spacingMs);
        await socket.send(packet, target.port, target.address);
        sent++;
      }
    } catch (err) {
      const e = toBlackstartError(err);
      const code = e.code === 'INTERNAL' ? 'UNREACHABLE' : e.code;
      const from = source ? ` from ${source}` : '';
      throw new BlackstartError(code, `wake-on-LAN to ${where}${from} failed after ${sent} of ${target.repeat} packets: ${e.message}`, { cause: err });
    } finally {
      socket.close();
    }
    return { mac: formatMac(mac), address: target.address, port: target.port, sent, bytes: packet.length };
  }

  private addressOf(name: string, family: 4 | 6): string {
    const list = this.interfaces()[name];
    if (!list) throw new BlackstartError('NOT_FOUND', `wake-on-LAN interface "${name}" does not exist on this machine`);
    const found = list.find((a) => (family === 4 ? isIPv4(a.address) : !isIPv4(a.address)));
    if (!found) throw new BlackstartError('NOT_FOUND', `wake-on-LAN interface "${name}" has no IPv${family} address`);
    return found.address;
  }
}
