/**
 * A driver that runs one command per action and keeps nothing open between them (Xen's xl,
 * Hyper-V's PowerShell). What differs between tools is text only: the commands, the listing's
 * parser and how a failure reads, which a codec gives.
 */
import type { BlackstartError } from '../../core/errors';
import { silentLogger, type Logger } from '../../core/logger';
import { at, type GuestListing, type GuestSpec, type Hypervisor } from './hypervisor';
import type { RunResult, Transport } from './transport';

export type GuestAction = 'shutdown' | 'save' | 'off' | 'start';

export interface OneShotCodec {
  /** The tool in the "accepted" log line: `xl`, `Hyper-V`. */
  readonly tool: string;
  readonly listsAll: boolean;
  /** The listing's name in errors (`list`, `Get-VM`) and its command. */
  readonly listName: string;
  listCommand(): string;
  parseList(stdout: string): GuestListing[];
  /** The action's name in errors and logs (xl calls off `destroy`). */
  actionName(action: GuestAction): string;
  /** Throws a BlackstartError for a guest the tool cannot name. */
  actionCommand(action: GuestAction, guest: GuestSpec): string;
  error(where: string, action: string, guest: string | undefined, result: RunResult): BlackstartError;
}

export interface OneShotDeps {
  transport: Transport;
  log?: Logger;
}

export class OneShotDriver implements Hypervisor {
  readonly listsAll: boolean;
  readonly #codec: OneShotCodec;
  readonly #where: string;
  readonly #timeoutMs: number;
  readonly #transport: Transport;
  readonly #log: Logger;

  /** `where` names the hypervisor in messages and logs, never with a secret. */
  constructor(where: string, timeoutMs: number, codec: OneShotCodec, deps: OneShotDeps) {
    this.listsAll = codec.listsAll;
    this.#codec = codec;
    this.#where = where;
    this.#timeoutMs = timeoutMs;
    this.#transport = deps.transport;
    this.#log = (deps.log ?? silentLogger()).child({ hypervisor: where });
  }

  describe(): string {
    return this.#where;
  }

  async list(): Promise<GuestListing[]> {
    const result = await this.#transport.run(this.#codec.listCommand(), this.#timeoutMs);
    if (result.code !== 0) throw this.#codec.error(this.#where, this.#codec.listName, undefined, result);
    return at(this.#where, () => this.#codec.parseList(result.stdout));
  }

  shutdown(guest: GuestSpec): Promise<void> {
    return this.#act('shutdown', guest);
  }

  save(guest: GuestSpec): Promise<void> {
    return this.#act('save', guest);
  }

  off(guest: GuestSpec): Promise<void> {
    return this.#act('off', guest);
  }

  start(guest: GuestSpec): Promise<void> {
    return this.#act('start', guest);
  }

  close(): Promise<void> {
    return this.#transport.close();
  }

  async #act(action: GuestAction, guest: GuestSpec): Promise<void> {
    const name = this.#codec.actionName(action);
    const command = at(this.#where, () => this.#codec.actionCommand(action, guest));
    const result = await this.#transport.run(command, this.#timeoutMs);
    if (result.code !== 0) throw this.#codec.error(this.#where, name, guest.name, result);
    this.#log.info({ guest: guest.name, action: name }, `${this.#codec.tool} accepted`);
  }
}
