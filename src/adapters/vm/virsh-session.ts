/**
 * One long-lived interactive virsh per hypervisor. libvirt's test driver (`test:///default`) keeps
 * its guests only inside the process that opened it, and a real connection costs a handshake per
 * virsh run, so commands go to one session's stdin. Each command is followed by `echo <token>`:
 * the token alone on a line ends that command's reply, whatever the command printed.
 *
 * Commands run one at a time. A command that overruns its timeout kills the session (its reply
 * could otherwise arrive as the next command's); a session that exits is started again by the
 * next command. A command is never sent twice.
 */
import { randomBytes } from 'node:crypto';
import { BlackstartError } from '../../core/errors';
import { silentLogger, type Logger } from '../../core/logger';
import type { InteractiveChannel, Transport } from './transport';
import { MAX_OUTPUT } from './transport';
import { takeVirshReply, type VirshReply } from './virsh-codec';

export interface VirshSessionOptions {
  readonly transport: Transport;
  /** The shell command that starts virsh with stderr merged into stdout. */
  readonly command: string;
  readonly timeoutMs: number;
  /** The hypervisor, for messages. */
  readonly where: string;
  readonly log?: Logger;
}

interface Pending {
  token: string;
  resolve(reply: VirshReply): void;
  reject(err: BlackstartError): void;
}

interface Live {
  channel: InteractiveChannel;
  buffer: string;
  pending?: Pending;
  exited?: string;
}

export class VirshSession {
  readonly #o: VirshSessionOptions;
  readonly #log: Logger;
  readonly #prefix = `bs-${randomBytes(6).toString('hex')}-`;
  #seq = 0;
  #live: Live | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** How many sessions were started: tests use it to see a respawn. */
  spawned = 0;

  constructor(opts: VirshSessionOptions) {
    this.#o = opts;
    this.#log = (opts.log ?? silentLogger()).child({ virsh: opts.where });
  }

  /** Runs one virsh command line and gives its reply; `error:` lines are the caller's to judge. */
  exec(command: string): Promise<VirshReply> {
    if (/[\r\n]/.test(command)) return Promise.reject(new BlackstartError('INTERNAL', `virsh command with a line break: ${JSON.stringify(command)}`));
    const run = this.#queue.then(() => this.#execNow(command));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const live = this.#live;
    this.#live = undefined;
    if (live && live.exited === undefined) {
      // `quit` lets virsh close its connection cleanly; the kill covers a virsh that does not listen.
      live.channel.write('quit\n');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          live.channel.kill();
          resolve();
        }, 2000);
        live.channel.onExit(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async #execNow(command: string): Promise<VirshReply> {
    if (this.#closed) throw new BlackstartError('CANCELLED', `${this.#o.where}: the virsh session is closed`);
    const live = await this.#session();
    return this.#send(live, command);
  }

  async #session(): Promise<Live> {
    if (this.#live && this.#live.exited === undefined) return this.#live;
    this.#live = undefined;
    const channel = await this.#o.transport.openChannel(this.#o.command);
    this.spawned++;
    const live: Live = { channel, buffer: '' };
    channel.onData((text) => {
      live.buffer += text;
      if (live.buffer.length > MAX_OUTPUT) {
        live.pending?.reject(new BlackstartError('PROTOCOL', `${this.#o.where}: virsh sent more than ${MAX_OUTPUT} bytes without the end-of-reply marker`));
        live.pending = undefined;
        channel.kill();
        return;
      }
      this.#deliver(live);
    });
    channel.onExit((why) => {
      live.exited = why;
      if (this.#live === live) this.#live = undefined;
      const p = live.pending;
      live.pending = undefined;
      if (p) {
        // What virsh said last is why it left (`error: failed to connect to the hypervisor`).
        const said = live.buffer.split('\n').filter((l) => l.startsWith('error: ')).map((l) => l.slice(7).trim()).join('; ').slice(0, 500);
        p.reject(new BlackstartError('UNREACHABLE', `${this.#o.where}: virsh ${why}${said ? `: ${said}` : ' before answering'}`));
      }
      this.#log.debug({ why }, 'virsh session ended');
    });
    this.#live = live;
    // The banner, and a virsh that cannot connect, show up before the first real command.
    const hello = await this.#send(live, undefined);
    if (hello.errors.length > 0) {
      channel.kill();
      throw new BlackstartError('UNREACHABLE', `${this.#o.where}: virsh started with errors: ${hello.errors.join('; ').slice(0, 500)}`);
    }
    this.#log.debug({ spawned: this.spawned }, 'virsh session ready');
    return live;
  }

  #send(live: Live, command: string | undefined): Promise<VirshReply> {
    const token = `${this.#prefix}${++this.#seq}`;
    return new Promise<VirshReply>((resolve, reject) => {
      if (live.exited !== undefined) return reject(new BlackstartError('UNREACHABLE', `${this.#o.where}: virsh ${live.exited}`));
      const timer = setTimeout(() => {
        if (live.pending?.token !== token) return;
        live.pending = undefined;
        live.channel.kill();
        if (this.#live === live) this.#live = undefined;
        reject(new BlackstartError('TIMEOUT', `${this.#o.where}: virsh ${command ?? 'start-up'} not done within ${this.#o.timeoutMs} ms (session restarted)`));
      }, this.#o.timeoutMs);
      live.pending = {
        token,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      live.channel.write(`${command !== undefined ? `${command}\n` : ''}echo ${token}\n`);
      this.#deliver(live);
    });
  }

  #deliver(live: Live): void {
    const p = live.pending;
    if (!p) return;
    const got = takeVirshReply(live.buffer, p.token);
    if (!got) return;
    live.buffer = got.rest;
    live.pending = undefined;
    p.resolve(got.reply);
  }
}
