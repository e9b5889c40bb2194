/**
 * A host's declared shutdown method, run on `shutdown` and then verified: the action succeeds
 * only when the host stops answering (or its BMC reads power off) before `verify_within`. The
 * result says which proof was seen and how long it took, so plans can use measured durations.
 */
import type { Adapter, AdapterContext, CommandDetail, CommandRequest } from '../../../core/adapter';
import type { TimerHandle } from '../../../core/clock';
import { BlackstartError, toBlackstartError } from '../../../core/errors';
import { settledPhase, shutdownProof } from '../../../core/host-phase';
import type { ShutdownMethod, ShutdownOutcome } from '../../power/method';

export { shutdownSchema, type ShutdownConfig, SHUTDOWN_METHODS } from './config';

export interface ShutdownHostOptions {
  /** Whether anything can prove the host went down (a probe block or IPMI); without it the method's success is all we know. */
  verifiable: boolean;
  verifyWithinMs: number;
  /** How often the hub's state is looked at while waiting for proof. */
  checkEveryMs?: number;
}

/** Margin over verify_within for the method itself (an SSH login, a NAS's slow admin page). */
const METHOD_MARGIN_MS = 60_000;

export class ShutdownHost implements Adapter<'host'> {
  readonly kind = 'host' as const;
  readonly name: string;
  readonly capabilities: readonly string[] = ['shutdown'];
  private ctx: AdapterContext<'host'> | undefined;
  private waiting: { timer: TimerHandle | undefined; cancel: (err: BlackstartError) => void } | undefined;

  constructor(
    readonly deviceId: string,
    private readonly method: ShutdownMethod,
    private readonly opts: ShutdownHostOptions,
  ) {
    this.name = `host:${deviceId}/shutdown-${method.kind}`;
  }

  start(ctx: AdapterContext<'host'>): void {
    this.ctx = ctx;
  }

  stop(): void {
    this.waiting?.cancel(new BlackstartError('CANCELLED', `${this.deviceId}: stopped while waiting for the shutdown to show`));
    this.ctx = undefined;
  }

  timeoutFor(action: string): number | undefined {
    return action === 'shutdown' ? this.opts.verifyWithinMs + METHOD_MARGIN_MS : undefined;
  }

  async execute(request: CommandRequest): Promise<CommandDetail> {
    const ctx = this.ctx;
    if (request.action !== 'shutdown') throw new BlackstartError('BAD_REQUEST', `${this.name} can only shut down, not "${request.action}"`);
    if (!ctx) throw new BlackstartError('UNREACHABLE', `${this.deviceId}: the shutdown method is not started`);
    const dryRun = request.args?.dry_run === true || request.args?.dryRun === true;
    const t0 = ctx.clock.now();
    const before = ctx.current();
    if (!dryRun) {
      if (before.phase === 'down') return { method: this.method.kind, already: 'down', verified_by: before.power === 'off' ? 'ipmi' : 'probe', took_ms: 0 };
      // The hub raises host_shutdown_started / _done from these phase changes.
      ctx.update({ phase: 'shutting_down' });
      ctx.log.info({ host: this.deviceId, method: this.method.describe() }, 'shutting down');
    }
    let outcome: ShutdownOutcome;
    try {
      outcome = await this.method.run({ dryRun });
    } catch (err) {
      const e = toBlackstartError(err);
      if (!dryRun) this.fail(ctx, e, t0);
      throw e;
    }
    const base = { method: outcome.method, dry_run: dryRun, method_ms: outcome.tookMs, steps: outcome.steps.map((st) => ({ name: st.name, ...(st.status !== undefined ? { status: st.status } : {}), took_ms: st.tookMs })), ...(outcome.output ? { output: outcome.output } : {}) };
    if (dryRun) return base;
    if (!this.opts.verifiable) {
      ctx.log.warn({ host: this.deviceId }, 'shutdown sent; nothing is configured to verify it (add a probe or ipmi block)');
      return { ...base, verified_by: 'none', took_ms: ctx.clock.now() - t0 };
    }
    try {
      const proof = await this.waitForDown(ctx);
      const took = ctx.clock.now() - t0;
      if (ctx.current().phase !== 'down') ctx.update({ phase: 'down' });
      ctx.log.info({ host: this.deviceId, verified_by: proof, took_ms: took }, 'host is down');
      return { ...base, verified_by: proof, took_ms: took };
    } catch (err) {
      const e = toBlackstartError(err);
      this.fail(ctx, e, t0);
      throw e;
    }
  }

  private fail(ctx: AdapterContext<'host'>, e: BlackstartError, t0: number): void {
    if (this.ctx !== ctx) return;
    const now = ctx.current();
    if (now.phase === 'shutting_down') ctx.update({ phase: settledPhase(now) });
    ctx.emit({ type: 'host_shutdown_failed', message: `${this.deviceId}: ${e.message}`, detail: { method: this.method.kind, code: e.code, took_ms: ctx.clock.now() - t0 } });
  }

  /** Resolves with what proved the host down: `ipmi` (power off) or `probe` (stopped answering). */
  private waitForDown(ctx: AdapterContext<'host'>): Promise<'ipmi' | 'probe'> {
    const every = this.opts.checkEveryMs ?? 250;
    const deadline = ctx.clock.now() + this.opts.verifyWithinMs;
    return new Promise((resolve, reject) => {
      const done = (fn: () => void): void => {
        if (this.waiting) ctx.clock.clearTimeout(this.waiting.timer);
        this.waiting = undefined;
        fn();
      };
      const check = (): void => {
        if (this.ctx !== ctx) return;
        const p = shutdownProof(ctx.current());
        if (p) return done(() => resolve(p));
        if (ctx.clock.now() >= deadline) {
          return done(() =>
            reject(new BlackstartError('TIMEOUT', `${this.deviceId}: the shutdown was accepted but the host still answers after ${this.opts.verifyWithinMs} ms`)),
          );
        }
        if (this.waiting) this.waiting.timer = ctx.clock.setTimeout(check, Math.min(every, Math.max(1, deadline - ctx.clock.now())));
      };
      this.waiting = { timer: undefined, cancel: (err) => done(() => reject(err)) };
      check();
    });
  }
}
