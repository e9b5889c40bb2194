import type { Adapter, AdapterContext } from '../../../core/adapter';
import { every } from '../../../core/clock';
import { BlackstartError } from '../../../core/errors';
import type { SimulatedUpsConfig } from './config';
import { advanceModel, initialModel, readingOf, type UpsModel } from './model';

export { simulatedUpsSchema, type SimulatedUpsConfig } from './config';

/** A UPS that follows its configured timeline, sampled every `interval` on the hub's clock. */
export class SimulatedUps implements Adapter<'ups'> {
  readonly kind = 'ups' as const;
  readonly name: string;
  readonly capabilities: readonly string[] = [];
  private model: UpsModel;
  private startedAt = 0;
  private cancel: (() => void) | undefined;

  constructor(
    readonly deviceId: string,
    private readonly cfg: SimulatedUpsConfig,
  ) {
    this.name = `ups:${deviceId}/simulated`;
    this.model = initialModel(cfg);
  }

  start(ctx: AdapterContext<'ups'>): void {
    this.startedAt = ctx.clock.now();
    this.model = initialModel(this.cfg);
    const sample = (): void => {
      this.model = advanceModel(this.cfg, this.model, ctx.clock.now() - this.startedAt);
      ctx.update(readingOf(this.cfg, this.model) ?? { status: 'comm_lost' });
    };
    sample();
    this.cancel = every(ctx.clock, this.cfg.interval, sample);
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  execute(): Promise<void> {
    return Promise.reject(new BlackstartError('UNSUPPORTED', 'the simulated UPS takes no commands'));
  }
}
