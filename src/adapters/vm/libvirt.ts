/**
 * libvirt through virsh: interactive sessions (virsh-session.ts), on this machine or over ssh.
 * `save` is a managed save, which `start` restores by itself. A command goes to the least busy of
 * `sessions` sessions, so one guest's long save does not hold up the next guest's stop; a second
 * session is only started when the first is busy.
 */
import { silentLogger, type Logger } from '../../core/logger';
import type { LibvirtConfig } from './config';
import { at, type GuestListing, type GuestSpec, type Hypervisor } from './hypervisor';
import { shProgram, shQuote } from '../sh-quote';
import type { Transport } from './transport';
import { parseVirshList, virshDomainCommand, virshError, VIRSH_LIST, type VirshReply } from './virsh-codec';
import { VirshSession } from './virsh-session';

export interface LibvirtDeps {
  /** Where virsh runs: this machine or the hypervisor over ssh (drivers.ts picks). */
  transport: Transport;
  log?: Logger;
}

/**
 * The session's command: stderr merged so `error:` lines arrive in order with the output. virsh
 * is translated (libvirt-l10n): under a German locale it prints `Fehler:` and `laufend`, which
 * no parser here reads, so its messages are pinned to English. C.UTF-8 rather than C, because
 * under C virsh prints a non-ASCII guest name as `\xff` escapes; LANGUAGE is emptied because
 * gettext honours it under any locale but C. `env` rather than shell assignments, so the same
 * text works whatever the remote login shell is.
 */
export function virshSessionCommand(cfg: Pick<LibvirtConfig, 'virsh' | 'uri'>): string {
  return `env LC_ALL=C.UTF-8 LANGUAGE= ${shProgram(cfg.virsh, 'virsh program')} -c ${shQuote(cfg.uri, 'libvirt URI')} 2>&1`;
}

export class LibvirtHypervisor implements Hypervisor {
  readonly listsAll = true;
  readonly #where: string;
  readonly #sessions: { session: VirshSession; inflight: number }[] = [];
  readonly #transport: Transport;
  readonly #log: Logger;

  constructor(cfg: Pick<LibvirtConfig, 'virsh' | 'uri' | 'timeout'> & Partial<Pick<LibvirtConfig, 'sessions'>>, deps: LibvirtDeps) {
    const via = deps.transport.describe();
    this.#where = `libvirt ${cfg.uri}${via === 'local' ? '' : ` over ${via}`}`;
    this.#transport = deps.transport;
    this.#log = (deps.log ?? silentLogger()).child({ hypervisor: this.#where });
    // The test driver keeps its guests inside one virsh process: a second session would see others.
    const count = cfg.uri.startsWith('test:') ? 1 : (cfg.sessions ?? 1);
    for (let i = 0; i < count; i++) {
      const session = new VirshSession({ transport: deps.transport, command: virshSessionCommand(cfg), timeoutMs: cfg.timeout, where: this.#where, log: this.#log });
      this.#sessions.push({ session, inflight: 0 });
    }
  }

  describe(): string {
    return this.#where;
  }

  /** Sessions started so far (1 until a timeout or an exit made a new one). */
  get sessionsStarted(): number {
    return this.#sessions.reduce((n, s) => n + s.session.spawned, 0);
  }

  async list(): Promise<GuestListing[]> {
    const reply = await this.#exec(VIRSH_LIST);
    if (reply.errors.length > 0) throw virshError(this.#where, VIRSH_LIST, undefined, reply.errors);
    return at(this.#where, () => parseVirshList(reply.lines));
  }

  shutdown(guest: GuestSpec): Promise<void> {
    return this.#domain('shutdown', guest);
  }

  save(guest: GuestSpec): Promise<void> {
    return this.#domain('managedsave', guest);
  }

  off(guest: GuestSpec): Promise<void> {
    return this.#domain('destroy', guest);
  }

  /** A guest kept after a crash is still active: `virsh start` would answer "Domain is already active". */
  async start(guest: GuestSpec): Promise<void> {
    if (guest.crashed) {
      this.#log.warn({ guest: guest.name }, 'guest kept after a crash: destroying it before starting it');
      await this.#domain('destroy', guest);
    }
    await this.#domain('start', guest);
  }

  async close(): Promise<void> {
    await Promise.all(this.#sessions.map((s) => s.session.close()));
    await this.#transport.close();
  }

  async #exec(command: string): Promise<VirshReply> {
    // The least busy session; the first of equals, so a quiet hypervisor keeps one virsh running.
    const pick = this.#sessions.reduce((best, s) => (s.inflight < best.inflight ? s : best));
    pick.inflight++;
    try {
      return await pick.session.exec(command);
    } finally {
      pick.inflight--;
    }
  }

  async #domain(verb: 'shutdown' | 'managedsave' | 'destroy' | 'start', guest: GuestSpec): Promise<void> {
    const command = at(this.#where, () => virshDomainCommand(verb, guest.name));
    const reply = await this.#exec(command);
    if (reply.errors.length > 0) throw virshError(this.#where, verb, guest.name, reply.errors);
    this.#log.info({ guest: guest.name, verb }, 'virsh accepted');
  }
}
