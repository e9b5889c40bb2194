/**
 * The NUT server: a TCP listener speaking upsd's protocol about Blackstart's UPSes, so upsc, NAS
 * boxes and upsmon secondaries can follow Blackstart as they would follow upsd. It holds what upsd
 * holds beside the data: who is logged into which UPS (NUMLOGINS) and the FSD latch. This is the
 * only I/O of the NUT compatibility; the protocol is in the session and the codec. Nothing a client
 * sends can throw out of the event loop.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { LineSplitter } from '../../adapters/ups/nut/codec';
import { NUT_COMMAND } from '../../adapters/ups/nut/config';
import type { TimerHandle } from '../../core/clock';
import { BlackstartError, toBlackstartError } from '../../core/errors';
import type { Hub } from '../../core/hub';
import { listenTcp } from '../../core/listen-tcp';
import type { Logger } from '../../core/logger';
import type { Secret } from '../../core/secret';
import { isOnBattery, type OutagePhase, type UpsState } from '../../core/state';
import { REQUEST_SPLITTING, errLine, nutVariables, type NutErrorCode, type NutVars } from './codec';
import type { NutServerConfig } from './config';
import { NutSession, type Answer, type NutBackend, type NutUser } from './session';

export interface NutServerOptions {
  hub: Hub;
  config: NutServerConfig;
  log: Logger;
  /** Blackstart's version (VER, driver.version). */
  version: string;
  /** A client silent this long is dropped (upsd: 60 s). */
  idleTimeoutMs?: number;
  /** Longest an INSTCMD waits for the UPS's answer before saying OK; NUT clients give up after 5 s. */
  instcmdWaitMs?: number;
}

export interface NutClient {
  ups: string;
  user: string;
  address: string;
}

/** Replies a client has not read yet beyond this: it is not reading, drop it. */
const MAX_UNREAD_BYTES = 1 << 20;
/** Requests queued on one connection before it stops being read until they are answered. */
const MAX_QUEUED = 64;

export class NutServer {
  /** The Blackstart UPS ids served, under the same names. */
  readonly ups: readonly string[];
  private readonly server: Server;
  private readonly sessions = new Set<NutSession>();
  private readonly sockets = new Set<Socket>();
  private readonly fsdLatch = new Map<string, string>();
  private readonly users = new Map<string, { user: NutUser; digest: Buffer }>();
  private readonly backend: NutBackend;
  private readonly log: Logger;
  /** Pending waitForLogouts: each checks again when a login ends, and gives up on stop(). */
  private readonly logoutWaiters = new Set<{ check: () => void; done: () => void }>();
  private lastPhase: OutagePhase;
  private lastFullWarning = 0;
  private boundPort = 0;
  private stopped = false;

  private readonly onOutage = (state: { phase: OutagePhase }): void => {
    const was = this.lastPhase;
    this.lastPhase = state.phase;
    // The plan that set FSD is over and mains is back: hosts that boot again must not see it.
    if ((was === 'shutting_down' || was === 'down') && (state.phase === 'restoring' || state.phase === 'normal')) {
      for (const id of [...this.fsdLatch.keys()]) this.clearFsd(id, `the outage is over (phase ${state.phase})`);
    }
  };

  private readonly onUps = (id: string, state: UpsState, previous: UpsState): void => {
    // FSD set by a client, with no outage plan of ours behind it: mains back ends it.
    if (!this.fsdLatch.has(id) || state.status !== 'online' || !isOnBattery(previous.status)) return;
    if (this.lastPhase === 'normal' || this.lastPhase === 'on_battery') this.clearFsd(id, 'mains power is back');
  };

  constructor(private readonly o: NutServerOptions) {
    this.log = o.log;
    const known = o.hub.devices('ups').map((d) => d.id);
    this.ups = o.config.ups ?? known;
    for (const id of this.ups) {
      if (!known.includes(id)) throw new BlackstartError('CONFIG', `compat.nut.ups names "${id}", which is not a UPS of this config`);
    }
    for (const u of o.config.users) {
      const password = u.password?.secret;
      if (!password) throw new BlackstartError('CONFIG', `compat.nut user "${u.username}" has no password`);
      this.users.set(u.username, { user: { username: u.username, role: u.role, ...(u.instcmds ? { instcmds: u.instcmds } : {}) }, digest: digest(password.reveal()) });
    }
    this.lastPhase = o.hub.outage.phase;
    this.backend = this.makeBackend();
    this.server = createServer((socket) => this.accept(socket));
  }

  async listen(): Promise<void> {
    const { listen: host, port } = this.o.config;
    await listenTcp(this.server, host, port, 'NUT server', {
      EADDRINUSE: 'the address is in use (another upsd? set compat.nut.port, or stop it)',
      EACCES: 'permission denied (ports below 1024 need root)',
    });
    this.boundPort = (this.server.address() as AddressInfo).port;
    this.server.on('error', (err) => this.log.error({ err: err.message }, 'NUT server error'));
    this.o.hub.on('outage', this.onOutage);
    this.o.hub.on('ups', this.onUps);
    this.log.info({ host: host, port: this.boundPort, ups: this.ups, users: [...this.users.keys()] }, 'NUT server listening');
  }

  get port(): number {
    return this.boundPort;
  }

  numLogins(ups: string): number {
    let n = 0;
    for (const s of this.sessions) if (s.loginUps === ups) n++;
    return n;
  }

  /** Who is logged into `ups` (LIST CLIENT shows their addresses). */
  clients(ups: string): NutClient[] {
    return [...this.sessions].filter((s) => s.loginUps === ups).map((s) => ({ ups, user: s.loginUser ?? '?', address: s.address }));
  }

  isFsd(ups: string): boolean {
    return this.fsdLatch.has(ups);
  }

  /** Latches FSD: every client's next `ups.status` starts with FSD, as upsd does after a primary's FSD. */
  setFsd(ups: string, by: string): void {
    if (!this.ups.includes(ups)) throw new BlackstartError('NOT_FOUND', `the NUT server does not serve UPS "${ups}"`);
    if (this.fsdLatch.has(ups)) return;
    this.fsdLatch.set(ups, by);
    this.log.warn({ ups, by, logged_in: this.clients(ups).map(label) }, 'NUT: forced shutdown (FSD) set');
  }

  clearFsd(ups: string, why: string): void {
    if (!this.fsdLatch.delete(ups)) return;
    this.log.info({ ups, why }, 'NUT: FSD cleared');
  }

  /**
   * Resolves once nobody is logged into `ups`, or after `timeoutMs`, with who is left: the bounded
   * wait of upsmon's primary for its secondaries (HOSTSYNC).
   */
  waitForLogouts(ups: string, timeoutMs: number): Promise<{ remaining: NutClient[]; tookMs: number }> {
    const clock = this.o.hub.clock;
    const start = clock.now();
    const result = (): { remaining: NutClient[]; tookMs: number } => ({ remaining: this.clients(ups), tookMs: clock.now() - start });
    if (this.numLogins(ups) === 0 || this.stopped) return Promise.resolve(result());
    return new Promise((resolve) => {
      const waiter = {
        done: (): void => {
          clock.clearTimeout(timer);
          this.logoutWaiters.delete(waiter);
          resolve(result());
        },
        check: (): void => {
          if (this.numLogins(ups) === 0) waiter.done();
        },
      };
      const timer = clock.setTimeout(waiter.done, timeoutMs);
      this.logoutWaiters.add(waiter);
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.o.hub.off('outage', this.onOutage);
    this.o.hub.off('ups', this.onUps);
    for (const w of [...this.logoutWaiters]) w.done();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private accept(socket: Socket): void {
    const address = plainAddress(socket.remoteAddress);
    if (this.stopped) {
      socket.destroy();
      return;
    }
    if (this.sockets.size >= this.o.config.maxClients) {
      const now = Date.now();
      if (now - this.lastFullWarning > 60_000) {
        this.lastFullWarning = now;
        this.log.warn({ client: address, max_clients: this.o.config.maxClients }, 'NUT: too many clients; refusing new connections');
      }
      socket.on('error', () => undefined);
      // Read and drop whatever it sends, or its end never arrives and the socket never closes.
      socket.resume();
      socket.end(errLine('ACCESS-DENIED'), () => socket.destroy());
      return;
    }
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const session = new NutSession(address, this.backend, this.log);
    this.sessions.add(session);
    const clock = this.o.hub.clock;
    const splitter = new LineSplitter(REQUEST_SPLITTING);
    const idleMs = this.o.idleTimeoutMs ?? 60_000;
    let idleTimer: TimerHandle | undefined;
    let chain: Promise<void> = Promise.resolve();
    let queued = 0;
    let ending = false;
    let loggedOut = false;

    const armIdle = (): void => {
      clock.clearTimeout(idleTimer);
      idleTimer = clock.setTimeout(() => {
        this.log.debug({ client: session.who, idle_ms: idleMs }, 'NUT: idle client dropped');
        socket.destroy();
      }, idleMs);
    };
    const send = (answer: Answer): void => {
      if (socket.destroyed || ending) return;
      socket.write(answer.text);
      if (answer.close) {
        ending = true;
        loggedOut = true;
        this.endLogin(session, 'logout');
        // As upsd: the connection is over once the goodbye is out, whatever the client does.
        socket.end(() => socket.destroy());
      } else if (socket.writableLength > MAX_UNREAD_BYTES) {
        this.log.warn({ client: session.who }, 'NUT: client does not read its replies; dropped');
        socket.destroy();
      }
    };
    const enqueue = (answer: () => Answer | Promise<Answer>): void => {
      queued++;
      if (queued > MAX_QUEUED) socket.pause();
      chain = chain
        .then(async () => {
          if (socket.destroyed || ending) return;
          send(await answer());
        })
        .catch((err: unknown) => this.log.error({ client: session.who, err: toBlackstartError(err).message }, 'NUT: reply failed'))
        .finally(() => {
          queued--;
          if (queued === 0 && socket.isPaused() && !socket.destroyed) socket.resume();
        });
    };

    armIdle();
    socket.on('data', (chunk: Buffer) => {
      for (const item of splitter.split(chunk)) {
        if (ending) return;
        if (item.kind === 'too_long') {
          this.log.debug({ client: session.who }, 'NUT: request line too long');
          enqueue(() => ({ text: errLine('TOO-LONG') }));
          continue;
        }
        armIdle();
        enqueue(() => session.handle(item.line));
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => this.log.debug({ client: session.who, err: err.code ?? err.message }, 'NUT: client connection error'));
    socket.on('close', () => {
      clock.clearTimeout(idleTimer);
      this.sockets.delete(socket);
      if (!loggedOut) this.endLogin(session, 'closed');
      this.sessions.delete(session);
    });
  }

  /** The session no longer counts in its UPS's NUMLOGINS. */
  private endLogin(session: NutSession, how: 'logout' | 'closed'): void {
    const ups = session.loginUps;
    if (ups === undefined) return;
    const client = { ups, user: session.loginUser ?? '?', address: session.address };
    session.loginUps = undefined;
    this.log.info({ ...client, how, numlogins: this.numLogins(ups) }, how === 'logout' ? 'NUT: client logged out' : 'NUT: logged-in client disconnected');
    for (const w of [...this.logoutWaiters]) w.check();
  }

  private makeBackend(): NutBackend {
    const hub = this.o.hub;
    const names = new Map(this.ups.map((id) => [id.toLowerCase(), id]));
    const nameOf = (id: string): string => hub.devices('ups').find((d) => d.id === id)?.name ?? id;
    return {
      version: this.o.version,
      list: () => this.ups.map((id) => ({ id, description: nameOf(id) })),
      resolve: (name) => names.get(name.toLowerCase()),
      variables: (id): NutVars => {
        const state = hub.ups(id);
        if (!state) return { stale: true, vars: new Map() };
        return nutVariables(state, { name: nameOf(id), version: this.o.version }, this.fsdLatch.has(id));
      },
      // `fsd` is how a NUT source passes FSD upstream, not an instant command a NUT client may run.
      commands: (id) => hub.capabilities('ups', id).filter((c) => c !== 'fsd' && NUT_COMMAND.test(c)).sort(),
      numLogins: (id) => this.numLogins(id),
      clients: (id) => this.clients(id).map((c) => c.address),
      authenticate: (username, password) => this.authenticate(username, password),
      login: (session, id) => {
        const client = { ups: id, user: session.loginUser ?? '?', address: session.address };
        this.log.info({ ...client, numlogins: this.numLogins(id) }, 'NUT: client logged in');
      },
      setFsd: (id, by) => this.setFsd(id, by),
      instcmd: (id, command, param, by) => this.instcmd(id, command, param, by),
    };
  }

  private authenticate(username: string, password: Secret): NutUser | undefined {
    const entry = this.users.get(username);
    // Compared as digests of equal length, so the time taken says nothing about the password.
    const given = digest(password.reveal());
    if (!entry) {
      timingSafeEqual(given, given);
      return undefined;
    }
    return timingSafeEqual(given, entry.digest) ? entry.user : undefined;
  }

  private async instcmd(id: string, command: string, param: string | undefined, by: string): Promise<NutErrorCode | undefined> {
    const hub = this.o.hub;
    this.log.info({ ups: id, command, client: by }, 'NUT: instant command');
    const run = hub.execute({ kind: 'ups', id }, { action: command, id: `nut-${randomBytes(4).toString('hex')}`, ...(param !== undefined ? { args: { param } } : {}) });
    let timer: TimerHandle | undefined;
    const early = await Promise.race([
      run,
      new Promise<undefined>((resolve) => (timer = hub.clock.setTimeout(() => resolve(undefined), this.o.instcmdWaitMs ?? 3000))),
    ]);
    hub.clock.clearTimeout(timer);
    if (early === undefined) {
      // Still running: as upsd does once the driver has the command, say OK; the outcome is logged.
      void run.then((r) => this.log[r.ok ? 'info' : 'warn']({ ups: id, command, ok: r.ok, err: r.error?.message }, 'NUT: instant command finished'));
      return undefined;
    }
    if (early.ok) return undefined;
    this.log.warn({ ups: id, command, client: by, code: early.error?.code, err: early.error?.message }, 'NUT: instant command failed');
    return 'INSTCMD-FAILED';
  }
}

/** Starts a NUT server; a port in use fails with REFUSED naming the address. */
export async function startNutServer(opts: NutServerOptions): Promise<NutServer> {
  const server = new NutServer(opts);
  await server.listen();
  return server;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** `::ffff:127.0.0.1` (an IPv4 client on a dual-stack socket) as `127.0.0.1`, as upsd shows it. */
function plainAddress(address: string | undefined): string {
  if (!address) return 'unknown';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function label(c: NutClient): string {
  return `${c.user}@${c.address}`;
}
