/**
 * IPMI soft-off as a shutdown method: the BMC presses the power button briefly (ACPI), and the
 * OS shuts down as it would at the console. A dry run only reads chassis status, which proves the
 * address and credentials without asking anything of the host.
 */
import type { Bmc } from '../host/ipmi';
import type { ShutdownMethod, ShutdownOutcome, ShutdownRunOptions } from './method';

export class IpmiSoftOff implements ShutdownMethod {
  readonly kind = 'ipmi';

  constructor(private readonly makeBmc: () => Bmc) {}

  describe(): string {
    return 'IPMI soft-off (ACPI power button) through the host\'s BMC';
  }

  async run(opts: ShutdownRunOptions = {}): Promise<ShutdownOutcome> {
    const t0 = Date.now();
    const bmc = this.makeBmc();
    try {
      const status = await bmc.chassisStatus();
      const steps = [{ name: 'chassis status', status: `power ${status.power}`, tookMs: Date.now() - t0 }];
      if (opts.dryRun) {
        return { method: this.kind, dryRun: true, steps, tookMs: Date.now() - t0, output: `would send chassis control soft-off to ${bmc.label}` };
      }
      const t1 = Date.now();
      await bmc.chassisControl('soft');
      return { method: this.kind, dryRun: false, steps: [...steps, { name: 'soft-off', status: 'accepted', tookMs: Date.now() - t1 }], tookMs: Date.now() - t0 };
    } finally {
      await bmc.close().catch(() => undefined);
    }
  }
}
