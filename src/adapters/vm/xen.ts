/**
 * Xen through xl, one command per action, on this machine (the Blackstart host is dom0) or over
 * ssh. The command texts and the listing's parser are in xl-codec.ts.
 */
import { silentLogger, type Logger } from '../../core/logger';
import type { XenConfig } from './config';
import { at, type GuestListing, type GuestSpec, type Hypervisor } from './hypervisor';
import type { Transport } from './transport';
import { parseXlList, xlDestroyCommand, xlError, xlListCommand, xlSaveCommand, xlShutdownCommand, xlStartCommand } from './xl-codec';

export interface XenDeps {
  transport: Transport;
  log?: Logger;
}

type XenCfg = Pick<XenConfig, 'xl' | 'saveDir' | 'timeout'>;

export class XenHypervisor implements Hypervisor {
  /** xl lists running domains only: one it does not list is off. */
  readonly listsAll = false;
  readonly #cfg: XenCfg;
  readonly #where: string;
  readonly #transport: Transport;
  readonly #log: Logger;

  constructor(cfg: XenCfg, deps: XenDeps) {
    this.#cfg = cfg;
    const via = deps.transport.describe();
    this.#where = via === 'local' ? 'xen (xl on this machine)' : `xen over ${via}`;
    this.#transport = deps.transport;
    this.#log = (deps.log ?? silentLogger()).child({ hypervisor: this.#where });
  }

  describe(): string {
    return this.#where;
  }

  async list(): Promise<GuestListing[]> {
    const result = await this.#transport.run(xlListCommand(this.#cfg), this.#cfg.timeout);
    if (result.code !== 0) throw xlError(this.#where, 'list', undefined, result);
    return at(this.#where, () => parseXlList(result.stdout));
  }

  shutdown(guest: GuestSpec): Promise<void> {
    return this.#act('shutdown', guest, xlShutdownCommand);
  }

  save(guest: GuestSpec): Promise<void> {
    return this.#act('save', guest, xlSaveCommand);
  }

  off(guest: GuestSpec): Promise<void> {
    return this.#act('destroy', guest, xlDestroyCommand);
  }

  start(guest: GuestSpec): Promise<void> {
    return this.#act('start', guest, xlStartCommand);
  }

  close(): Promise<void> {
    return this.#transport.close();
  }

  async #act(action: string, guest: GuestSpec, build: (cfg: XenCfg, g: GuestSpec) => string): Promise<void> {
    const command = at(this.#where, () => build(this.#cfg, guest));
    const result = await this.#transport.run(command, this.#cfg.timeout);
    if (result.code !== 0) throw xlError(this.#where, action, guest.name, result);
    this.#log.info({ guest: guest.name, action }, 'xl accepted');
  }
}
