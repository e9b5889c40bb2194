/** A UPS source whose next answer a test sets; it records what it was asked. */
import type { UpsPush, UpsReading, UpsSource } from '../../src/adapters/ups/source';
import type { Clock } from '../../src/core/clock';
import { BlackstartError } from '../../src/core/errors';

export const ONLINE: UpsReading = { status: 'online', flags: ['OL'], chargePct: 100, runtimeS: 1800, loadPct: 20, inputV: 230, batteryV: 27.3 };
export const ON_BATTERY: UpsReading = { ...ONLINE, status: 'on_battery', flags: ['OB'], chargePct: 90, inputV: 0 };
export const LOW: UpsReading = { ...ON_BATTERY, status: 'low_battery', flags: ['OB', 'LB'], chargePct: 10 };

export class ScriptedSource implements UpsSource {
  readonly label = 'test://scripted';
  answer: UpsReading | BlackstartError = ONLINE;
  reads: number[] = [];
  ran: string[] = [];
  closes = 0;
  push: ((p: UpsPush) => void) | undefined;
  constructor(private readonly clock: Clock) {}
  read(): Promise<UpsReading> {
    this.reads.push(this.clock.now());
    const a = this.answer;
    return a instanceof BlackstartError ? Promise.reject(a) : Promise.resolve({ ...a, flags: [...a.flags] });
  }
  run(command: string): Promise<void> {
    this.ran.push(command);
    return Promise.resolve();
  }
  onPush(listener: (p: UpsPush) => void): void {
    this.push = listener;
  }
  close(): Promise<void> {
    this.closes++;
    return Promise.resolve();
  }
}
