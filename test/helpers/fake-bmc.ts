import type { Bmc, ChassisAction } from '../../src/adapters/host/ipmi';
import { BlackstartError } from '../../src/core/errors';
import type { SensorMap } from '../../src/core/state';

/** A BMC in memory, for the adapter's own logic (the wire is tested against ipmi_sim). */
export class FakeBmc implements Bmc {
  readonly label = 'oper@bmc.test:623';
  power: 'on' | 'off' = 'on';
  /** While set, every call rejects with it. */
  failWith: BlackstartError | undefined;
  /** Whether `soft` turns the power off (an OS that honours ACPI) or is ignored. */
  softTurnsOff = false;
  readonly actions: ChassisAction[] = [];
  statusCalls = 0;
  sensorCalls = 0;
  closed = 0;
  readings: SensorMap = { 'CPU Temp': { value: 45, unit: 'degrees C', status: 'ok' } };

  async chassisStatus(): Promise<{ power: 'on' | 'off' }> {
    this.statusCalls++;
    await Promise.resolve();
    if (this.failWith) throw this.failWith;
    return { power: this.power };
  }

  async chassisControl(action: ChassisAction): Promise<void> {
    await Promise.resolve();
    if (this.failWith) throw this.failWith;
    this.actions.push(action);
    if (action === 'on' || action === 'cycle') this.power = 'on';
    if (action === 'off') this.power = 'off';
    if (action === 'soft' && this.softTurnsOff) this.power = 'off';
  }

  async sensors(): Promise<SensorMap> {
    this.sensorCalls++;
    await Promise.resolve();
    if (this.failWith) throw this.failWith;
    return structuredClone(this.readings);
  }

  async close(): Promise<void> {
    this.closed++;
    await Promise.resolve();
  }
}
