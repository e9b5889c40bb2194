/**
 * The apcupsd NIS server: answers `status` and `events` for one Blackstart UPS, so `apcaccess`
 * and apcupsd slaves (`UPSTYPE net`) follow Blackstart as they would follow an apcupsd master.
 * The only I/O of the compat part; every byte it writes comes from codec.ts. Nothing a client
 * sends can throw out of a socket handler: bad framing closes that connection, as apcupsd does.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { hostname as osHostname } from 'node:os';
import type { Clock, TimerHandle } from '../../core/clock';
import { BlackstartError, toBlackstartError } from '../../core/errors';
import type { BlackstartEvent } from '../../core/events';
import type { Hub } from '../../core/hub';
import { listenTcp } from '../../core/listen-tcp';
import type { Logger } from '../../core/logger';
import type { OutageState, UpsState } from '../../core/state';
import { encodeEvents, encodeStatus, eventLine, invalidCommandReply, RequestDecoder, type NisIdentity, type RequestStep } from './codec';
import { EventRing, MASTER_SHUTDOWN_MESSAGE, nisMessages } from './events';
import { TransferLog } from './transfers';

export interface NisServerOptions {
  hub: Hub;
  /** The UPS to serve. */
  ups: string;
  listen: string;
  /** 0 picks a free port (tests). */
  port: number;
  maxConnections: number;
  /** A connection that sends nothing for this long is closed (apcaccess asks once and hangs up). */
  idleTimeoutMs: number;
  /** Longest `announceShutdown` waits for the slaves it knows to fetch SHUTTING DOWN. */
  slaveWaitMs: number;
  /** Blackstart's version, for VERSION and the startup event. */
  version: string;
  log: Logger;
  /** Default: the hub's clock. */
  clock?: Clock;
  hostname?: string;
  /** Minutes east of UTC at an instant, for timestamps; default: this machine's local time. */
  utcOffset?: (ms: number) => number;
}

/**
 * A client whose last two `status` polls both fall this recently is a slave the shutdown
 * announcement waits for; one `apcaccess` run by hand is not.
 */
const RECENT_POLL_MS = 5 * 60_000;
/** Replies a client does not read pile up in its socket; past this it is dropped. */
const MAX_UNREAD_BYTES = 256 * 1024;
/** More remembered pollers than this and the stale ones are forgotten. */
const MAX_PEERS = 1024;

interface Peer {
  lastStatus: number;
  previousStatus: number | null;
  /** Fetched a status that said SHUTTING DOWN. */
  sawShutdown: boolean;
}

export class NisServer {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly sockets = new Set<Socket>();
  private readonly peers = new Map<string, Peer>();
  private readonly events = new EventRing();
  private readonly transfers = new TransferLog();
  private readonly identity: Omit<NisIdentity, 'driver'>;
  private readonly utcOffset: (ms: number) => number;
  private masterShuttingDown = false;
  /** Called after each status reply while an announcement waits. */
  private onStatusServed: (() => void) | undefined;
  private closing = false;
  private readonly onUps = (id: string, state: UpsState): void => {
    if (id === this.o.ups) this.transfers.observe(state);
  };
  private readonly onEvent = (e: BlackstartEvent): void => {
    for (const m of nisMessages(e, this.o.ups)) this.events.push(e.at, m);
  };
  private readonly onOutage = (s: OutageState): void => {
    // Mains came back before the controller went down: the slaves that saw SHUTTING DOWN are on
    // their way, but when they boot again they must not find it still set.
    if (this.masterShuttingDown && (s.phase === 'normal' || s.phase === 'restoring')) {
      this.masterShuttingDown = false;
      this.log.info('outage over: no longer telling apcupsd slaves that the master is shutting down');
    }
  };

  private constructor(
    private readonly o: NisServerOptions,
    private readonly server: Server,
  ) {
    this.clock = o.clock ?? o.hub.clock;
    this.log = o.log;
    this.utcOffset = o.utcOffset ?? ((ms) => -new Date(ms).getTimezoneOffset());
    const now = this.clock.now();
    this.identity = {
      upsName: o.ups,
      hostname: o.hostname ?? osHostname(),
      version: `${o.version} (Blackstart)`,
      model: 'Blackstart',
      startedAt: now,
    };
    this.events.push(now, `blackstart ${o.version} startup succeeded`);
    const current = o.hub.ups(o.ups);
    if (current) this.transfers.observe(current);
    o.hub.on('ups', this.onUps);
    o.hub.on('event', this.onEvent);
    o.hub.on('outage', this.onOutage);
  }

  /** Listens, or fails with REFUSED naming the address (a port in use must stop the start). */
  static async start(o: NisServerOptions): Promise<NisServer> {
    if (!o.hub.has('ups', o.ups)) throw new BlackstartError('CONFIG', `compat.apcupsd.ups names "${o.ups}", which is not a UPS of this config`);
    const server = createServer();
    await listenTcp(server, o.listen, o.port, 'apcupsd NIS server', { EADDRINUSE: 'the address is in use (an apcupsd running here? set compat.apcupsd.port)' });
    const nis = new NisServer(o, server);
    server.on('connection', (socket) => nis.accept(socket));
    server.on('error', (err) => nis.log.error({ err: err.message }, 'apcupsd NIS server error'));
    nis.log.info({ listen: o.listen, port: nis.port, ups: o.ups }, 'apcupsd NIS server listening (apcaccess, apcupsd slaves with UPSTYPE net)');
    return nis;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Connections open now. */
  get connections(): number {
    return this.sockets.size;
  }

  get shuttingDown(): boolean {
    return this.masterShuttingDown;
  }

  /**
   * What an apcupsd master does when it goes down itself: STATUS becomes SHUTTING DOWN, and
   * every slave that reads it shuts down (apcupsd's net driver latches its remote-shutdown flag
   * on that bit). Resolves once each client that has been polling `status` (twice in the last
   * five minutes) has fetched it, or after `slaveWaitMs`; never rejects. Slaves need that poll, not this process,
   * to carry on: their shutdown no longer depends on the master once they have seen it.
   */
  async announceShutdown(): Promise<void> {
    const since = this.clock.now();
    if (!this.masterShuttingDown) {
      this.masterShuttingDown = true;
      this.events.push(since, MASTER_SHUTDOWN_MESSAGE);
    }
    const recent = (t: number | null): boolean => t !== null && since - t <= RECENT_POLL_MS;
    const waitFor = [...this.peers].filter(([, p]) => recent(p.lastStatus) && recent(p.previousStatus)).map(([addr]) => addr);
    for (const addr of waitFor) (this.peers.get(addr) as Peer).sawShutdown = false;
    this.log.info({ slaves: waitFor }, 'telling apcupsd slaves that the master is shutting down');
    if (waitFor.length === 0) return;
    const missing = (): string[] => waitFor.filter((a) => !this.peers.get(a)?.sawShutdown);
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.clock.clearTimeout(timer);
        this.onStatusServed = undefined;
        resolve();
      };
      const timer = this.clock.setTimeout(() => {
        this.log.warn({ missing: missing(), waitedMs: this.o.slaveWaitMs }, 'apcupsd slaves did not poll SHUTTING DOWN in time; carrying on');
        done();
      }, this.o.slaveWaitMs);
      this.onStatusServed = () => {
        if (this.closing) return done();
        if (missing().length > 0) return;
        this.log.info({ slaves: waitFor, tookMs: this.clock.now() - since }, 'every apcupsd slave has seen SHUTTING DOWN');
        done();
      };
    });
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.onStatusServed?.();
    this.o.hub.off('ups', this.onUps);
    this.o.hub.off('event', this.onEvent);
    this.o.hub.off('outage', this.onOutage);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private accept(socket: Socket): void {
    const peer = socket.remoteAddress ?? 'unknown';
    if (this.closing || this.sockets.size >= this.o.maxConnections) {
      this.log.debug({ peer, open: this.sockets.size, max: this.o.maxConnections }, 'NIS connection refused: too many open');
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    const decoder = new RequestDecoder();
    let idle: TimerHandle | undefined;
    let finished = false;
    const arm = (): void => {
      this.clock.clearTimeout(idle);
      idle = this.clock.setTimeout(() => {
        this.log.debug({ peer, pending: decoder.pending }, 'NIS connection idle: closed');
        socket.destroy();
      }, this.o.idleTimeoutMs);
    };
    arm();
    socket.on('data', (chunk: Buffer) => {
      if (finished) return;
      try {
        arm();
        for (const step of decoder.push(chunk)) {
          if (this.answer(socket, peer, step) === 'close') finished = true;
        }
      } catch (err) {
        // A bug here must cost one connection, never the process.
        this.log.error({ peer, err: toBlackstartError(err).message }, 'NIS request failed');
        socket.destroy();
      }
    });
    socket.on('error', (err) => this.log.debug({ peer, err: err.message }, 'NIS connection error'));
    socket.on('close', () => {
      this.clock.clearTimeout(idle);
      this.sockets.delete(socket);
    });
  }

  private answer(socket: Socket, peer: string, step: RequestStep): 'open' | 'close' {
    switch (step.kind) {
      case 'status':
        this.send(socket, this.statusReply());
        this.notePoll(peer);
        return 'open';
      case 'events':
        this.send(socket, encodeEvents(this.events.list().map((e) => eventLine(e.at, e.message, this.utcOffset(e.at)))));
        return 'open';
      case 'invalid':
        this.log.debug({ peer, request: step.request.toString('latin1').slice(0, 40) }, 'NIS: invalid command');
        this.send(socket, invalidCommandReply());
        return 'open';
      case 'end':
        socket.end();
        return 'close';
      case 'garbage':
        this.log.debug({ peer, err: step.error }, 'NIS: bad request, connection closed');
        socket.destroy();
        return 'close';
    }
  }

  private statusReply(): Buffer {
    const state = this.o.hub.ups(this.o.ups) as UpsState;
    return encodeStatus({
      state,
      lastKnown: this.transfers.lastKnown,
      masterShuttingDown: this.masterShuttingDown,
      identity: { ...this.identity, driver: `Blackstart (${state.source})` },
      transfers: this.transfers.snapshot(),
      now: this.clock.now(),
      utcOffset: this.utcOffset,
    });
  }

  private send(socket: Socket, reply: Buffer): void {
    if (socket.destroyed || !socket.writable) return;
    socket.write(reply);
    if (socket.writableLength > MAX_UNREAD_BYTES) {
      this.log.debug({ peer: socket.remoteAddress, unread: socket.writableLength }, 'NIS client does not read its replies: closed');
      socket.destroy();
    }
  }

  private notePoll(peer: string): void {
    const now = this.clock.now();
    if (!this.peers.has(peer) && this.peers.size >= MAX_PEERS) {
      for (const [addr, p] of this.peers) if (now - p.lastStatus > RECENT_POLL_MS) this.peers.delete(addr);
    }
    if (this.peers.has(peer) || this.peers.size < MAX_PEERS) {
      const known = this.peers.get(peer);
      const p = known ?? { lastStatus: now, previousStatus: null, sawShutdown: false };
      if (known) p.previousStatus = p.lastStatus;
      p.lastStatus = now;
      if (this.masterShuttingDown) p.sawShutdown = true;
      this.peers.set(peer, p);
    }
    this.onStatusServed?.();
  }
}
