/**
 * A transport over one ssh2 connection, opened with the same mandatory host key check as the SSH
 * shutdown method, kept open between commands (an outage may poll every few seconds, and a login
 * costs a key exchange) and opened again when it drops. Each command is its own exec channel.
 */
import type { Client, ClientChannel } from 'ssh2';
import { BlackstartError } from '../../core/errors';
import { silentLogger, type Logger } from '../../core/logger';
import type { TcpConnector } from '../tcp';
import { openLogin, type SshLogin } from '../power/ssh-login';
import { where } from '../power/ssh-session';
import { channelEvents, collectOutput, shown, type InteractiveChannel, type RunResult, type Transport } from './transport';

export interface SshTransportOptions {
  readonly login: SshLogin;
  /** Connect plus login; each command has its own timeout. */
  readonly loginTimeoutMs: number;
  readonly connector?: TcpConnector;
  readonly log?: Logger;
}

export class SshTransport implements Transport {
  readonly #o: SshTransportOptions;
  readonly #w: string;
  readonly #log: Logger;
  #client: Promise<Client> | undefined;
  #closed = false;

  constructor(opts: SshTransportOptions) {
    this.#o = opts;
    this.#w = where(opts.login.target);
    this.#log = (opts.log ?? silentLogger()).child({ transport: 'ssh', host: opts.login.target.host, port: opts.login.target.port });
  }

  describe(): string {
    return `ssh ${this.#w}`;
  }

  async run(command: string, timeoutMs: number): Promise<RunResult> {
    const stream = await this.#exec(command);
    return new Promise<RunResult>((resolve, reject) => {
      let exit: { code: number | null; signal?: string } | undefined;
      const output = collectOutput(stream, stream.stderr, timeoutMs, () => {
        // OpenSSH ignores most signal requests; closing the channel hangs up the remote command.
        stream.signal('KILL');
        stream.close();
      });
      stream.on('exit', (code: number | null, signal?: string) => (exit = { code, ...(signal ? { signal } : {}) }));
      stream.on('close', () => {
        output.done();
        if (output.timedOut) return reject(new BlackstartError('TIMEOUT', `ssh ${this.#w}: command not done within ${timeoutMs} ms: ${shown(command)}`));
        if (!exit) return reject(new BlackstartError('UNREACHABLE', `ssh ${this.#w}: the connection dropped before the command finished (${shown(command)})`));
        resolve(output.result(exit.code, exit.signal));
      });
    });
  }

  async openChannel(command: string): Promise<InteractiveChannel> {
    const stream = await this.#exec(command);
    const { channel, exit } = channelEvents([stream, stream.stderr], {
      write: (text) => stream.write(text),
      kill: () => {
        stream.signal('KILL');
        stream.close();
      },
    });
    let status = 'the channel closed';
    stream.on('exit', (code: number | null, signal?: string) => (status = signal ? `killed by ${signal}` : `exited with status ${code}`));
    stream.on('close', () => exit(status));
    return channel;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    if (client) (await client.catch(() => undefined))?.end();
  }

  /**
   * An exec channel on the shared connection. When the server refuses the channel because the
   * connection died under us (and our close handler has not run yet), one fresh connection is
   * tried: nothing ran, so trying again cannot run a command twice.
   */
  async #exec(command: string): Promise<ClientChannel> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.#connection();
      try {
        return await new Promise<ClientChannel>((resolve, reject) => {
          client.exec(command, (err, stream) => (err ? reject(err) : resolve(stream)));
        });
      } catch (err) {
        this.#forget(client);
        if (attempt >= 2) {
          throw new BlackstartError('REFUSED', `ssh ${this.#w}: the server would not run a command: ${(err as Error).message}`, { cause: err });
        }
        this.#log.debug({ err: (err as Error).message }, 'exec refused; reconnecting once');
      }
    }
  }

  #forget(client: Client): void {
    void this.#client?.then(
      (c) => {
        if (c === client) this.#client = undefined;
      },
      () => undefined,
    );
    client.end();
  }

  #connection(): Promise<Client> {
    if (this.#closed) return Promise.reject(new BlackstartError('CANCELLED', `ssh ${this.#w}: the transport is closed`));
    if (this.#client) return this.#client;
    const opening = this.#open();
    this.#client = opening;
    opening.then(
      (client) => {
        const gone = (): void => {
          if (this.#client === opening) this.#client = undefined;
        };
        client.on('close', gone);
        client.on('end', gone);
      },
      () => {
        if (this.#client === opening) this.#client = undefined;
      },
    );
    return opening;
  }

  async #open(): Promise<Client> {
    const { login, loginTimeoutMs } = this.#o;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new BlackstartError('TIMEOUT', `ssh ${this.#w}: no login within ${loginTimeoutMs} ms`)), loginTimeoutMs);
    try {
      const session = await openLogin(login, {
        signal: deadline.signal,
        log: this.#log,
        ...(this.#o.connector ? { connector: this.#o.connector } : {}),
      });
      return session.client;
    } finally {
      clearTimeout(timer);
    }
  }
}
