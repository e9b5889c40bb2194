import type { Adapter, AdapterContext, CommandRequest } from '../../../core/adapter';
import type { TimerHandle } from '../../../core/clock';
import { BlackstartError } from '../../../core/errors';
import { settledPhase } from '../../../core/host-phase';
import type { WolConfig } from '../../power/wol-config';
import { parsePassword } from '../../power/wol-codec';
import { WolSender, type WolSendReport, type WolTarget } from '../../power/wol';

export { wolSchema, type WolConfig } from '../../power/wol-config';

/** Hands a wake to an agent on the sleeping host's LAN (wired by the lead; see `relay` in the config). */
export type WolRelay = (agentId: string, target: Omit<WolTarget, 'password'> & { password?: Uint8Array }) => Promise<void>;

export interface WolHostOptions {
  sender?: WolSender;
  relay?: WolRelay;
}

/** How long a host shows `waking` without answering before we stop saying so. */
const WAKE_WINDOW_MS = 10 * 60_000;

/**
 * Wakes a host with magic packets. It knows nothing about whether the host is up, so it
 * reports no state at start (start() only checks the password). After a wake it marks a host
 * that was down `waking`; the adapters that can see the host (probe, IPMI) end that.
 */
export class WolHost implements Adapter<'host'> {
  readonly kind = 'host' as const;
  readonly name: string;
  readonly capabilities: readonly string[] = ['wake'];
  private ctx: AdapterContext<'host'> | undefined;
  private readonly sender: WolSender | undefined;
  private password: Buffer | undefined;
  private wakeTimer: TimerHandle | undefined;

  constructor(
    readonly deviceId: string,
    private readonly cfg: WolConfig,
    private readonly opts: WolHostOptions = {},
  ) {
    this.name = `host:${deviceId}/wol`;
    this.sender = opts.sender;
  }

  start(ctx: AdapterContext<'host'>): void {
    this.ctx = ctx;
    // The secret is read here, after the loader resolved it; its value never reaches a message.
    const pw = this.cfg.password;
    this.password = pw ? parsePassword(pw.secret.reveal(), `wake-on-LAN password from ${pw.field}`) : undefined;
  }

  stop(): void {
    this.ctx?.clock.clearTimeout(this.wakeTimer);
    this.ctx = undefined;
  }

  private markWaking(ctx: AdapterContext<'host'>): void {
    const phase = ctx.current().phase;
    if (phase !== 'down' && phase !== 'unreachable') return;
    ctx.update({ phase: 'waking' });
    ctx.clock.clearTimeout(this.wakeTimer);
    this.wakeTimer = ctx.clock.setTimeout(() => {
      const now = ctx.current();
      if (this.ctx === ctx && now.phase === 'waking') ctx.update({ phase: settledPhase(now) });
    }, WAKE_WINDOW_MS);
  }

  async execute(request: CommandRequest): Promise<void> {
    const ctx = this.ctx;
    if (request.action !== 'wake') {
      throw new BlackstartError('BAD_REQUEST', `${this.name} can only wake, not "${request.action}"`);
    }
    if (!ctx) throw new BlackstartError('UNREACHABLE', `${this.name} is not started`);
    const target: WolTarget = {
      mac: this.cfg.mac,
      address: this.cfg.address,
      port: this.cfg.port,
      repeat: this.cfg.repeat,
      spacingMs: this.cfg.spacing,
      ...(this.password ? { password: this.password } : {}),
      ...(this.cfg.sourceAddress ? { sourceAddress: this.cfg.sourceAddress } : {}),
      ...(this.cfg.interface ? { interface: this.cfg.interface } : {}),
    };
    if (this.cfg.relay) {
      if (!this.opts.relay) throw new BlackstartError('UNSUPPORTED', `${this.name}: relaying through agent "${this.cfg.relay}" is not available here`);
      await this.opts.relay(this.cfg.relay, target);
      ctx.log.info({ relay: this.cfg.relay, mac: this.cfg.mac }, 'wake-on-LAN handed to agent');
      this.markWaking(ctx);
      return;
    }
    const sender = this.sender ?? new WolSender({ clock: ctx.clock });
    const report: WolSendReport = await sender.send(target);
    ctx.log.info({ mac: report.mac, to: `${report.address}:${report.port}`, packets: report.sent, secure_on: Boolean(this.password) }, 'wake-on-LAN sent');
    this.markWaking(ctx);
  }
}
