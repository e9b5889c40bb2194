/**
 * Hyper-V through PowerShell over Windows' OpenSSH server, one command per action. The scripts,
 * their encoding and the listing's parser are in hyperv-codec.ts.
 */
import { silentLogger, type Logger } from '../../core/logger';
import type { HypervConfig } from './config';
import { actionScript, encodeCommand, hypervError, LIST_SCRIPT, parseHypervList, type HypervAction } from './hyperv-codec';
import { at, type GuestListing, type GuestSpec, type Hypervisor } from './hypervisor';
import type { Transport } from './transport';

export interface HypervDeps {
  /** An ssh transport in practice: Hyper-V is never this machine. */
  transport: Transport;
  log?: Logger;
}

export class HypervHypervisor implements Hypervisor {
  readonly listsAll = true;
  readonly #timeoutMs: number;
  readonly #where: string;
  readonly #transport: Transport;
  readonly #log: Logger;

  constructor(cfg: Pick<HypervConfig, 'timeout'>, deps: HypervDeps) {
    this.#timeoutMs = cfg.timeout;
    this.#where = `hyperv over ${deps.transport.describe()}`;
    this.#transport = deps.transport;
    this.#log = (deps.log ?? silentLogger()).child({ hypervisor: this.#where });
  }

  describe(): string {
    return this.#where;
  }

  async list(): Promise<GuestListing[]> {
    const result = await this.#transport.run(encodeCommand(LIST_SCRIPT), this.#timeoutMs);
    if (result.code !== 0) throw hypervError(this.#where, 'Get-VM', undefined, result);
    return at(this.#where, () => parseHypervList(result.stdout));
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

  async #act(action: HypervAction, guest: GuestSpec): Promise<void> {
    const script = at(this.#where, () => actionScript(action, guest.name));
    const result = await this.#transport.run(encodeCommand(script), this.#timeoutMs);
    if (result.code !== 0) throw hypervError(this.#where, action, guest.name, result);
    this.#log.info({ guest: guest.name, action }, 'Hyper-V accepted');
  }
}
