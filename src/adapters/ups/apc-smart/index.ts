/**
 * The APC smart serial UpsSource: Q f j L P B per reading, alerts pushed the moment they arrive
 * (the reason to cable a UPS by serial), and the UPS's own control commands.
 */
import { BlackstartError } from '../../../core/errors';
import type { SourceDeps, UpsPush, UpsReading, UpsSource } from '../source';
import { ApcSmartClient, type ClientTimings, type PortFactory } from './client';
import { CMD, encodeShutdownReturn, parseDecimal, parseRuntime, parseStatus, printable, pushForAlert, type Parsed, type StatusWord } from './codec';
import type { ApcSmartCommand, ApcSmartConfig } from './config';

export { apcSmartSchema, type ApcSmartConfig, APC_SMART_COMMANDS } from './config';
export type { PortFactory, SerialLink, LineSettings, LinkHandlers } from './client';

export interface ApcSmartDeps extends SourceDeps {
  /** Test hook: a port other than serialport. */
  portFactory?: PortFactory;
  /** Test hook: shorter pauses for pair commands (the defaults are what real units need). */
  timings?: Partial<Omit<ClientTimings, 'timeoutMs'>>;
}

/** apcupsd retries a Q answered with SM up to 5 times. */
const STATUS_TRIES = 5;

export function createApcSmartSource(cfg: ApcSmartConfig, deps: ApcSmartDeps): UpsSource {
  return new ApcSmartSource(cfg, deps);
}

class ApcSmartSource implements UpsSource {
  readonly label: string;
  private readonly client: ApcSmartClient;
  private listener: ((push: UpsPush) => void) | undefined;
  /** Flags last read or implied by an alert, so `+` and `#` amend the right set. */
  private flags: string[] = [];

  constructor(
    cfg: ApcSmartConfig,
    private readonly deps: ApcSmartDeps,
  ) {
    this.client = new ApcSmartClient(
      {
        device: cfg.device,
        baudRate: cfg.baudRate,
        dataBits: cfg.dataBits,
        parity: cfg.parity,
        stopBits: cfg.stopBits,
        rts: cfg.rts,
        dtr: cfg.dtr,
      },
      { clock: deps.clock, log: deps.log, portFactory: deps.portFactory, timings: { ...deps.timings, timeoutMs: cfg.timeout } },
    );
    this.label = this.client.label;
    this.client.onAlert((char) => this.onAlert(char));
  }

  onPush(listener: (push: UpsPush) => void): void {
    this.listener = listener;
  }

  async read(): Promise<UpsReading> {
    await this.client.open();
    const status = await this.readStatus();
    const chargePct = this.value(parseDecimal(await this.client.query(CMD.charge), 'battery charge (f)'));
    const runtimeS = this.value(parseRuntime(await this.client.query(CMD.runtime)));
    const inputV = this.value(parseDecimal(await this.client.query(CMD.inputV), 'input voltage (L)'));
    const loadPct = this.value(parseDecimal(await this.client.query(CMD.load), 'load (P)'));
    const batteryV = this.value(parseDecimal(await this.client.query(CMD.batteryV), 'battery voltage (B)'));
    this.flags = [...status.flags];
    return { status: status.status, flags: status.flags, chargePct, runtimeS, loadPct, inputV, batteryV };
  }

  async run(command: string): Promise<void> {
    await this.client.open();
    switch (command as ApcSmartCommand) {
      case 'test.battery.start':
        return this.expectOk(command, await this.client.command([CMD.selfTest], 0));
      case 'test.panel.start':
        return this.expectOk(command, await this.client.command([CMD.panelTest], 0));
      case 'shutdown.stop':
        return this.expectOk(command, await this.client.command([CMD.abortShutdown], 0));
      case 'shutdown.return':
        return this.shutdownReturn();
      case 'shutdown.stayoff': {
        const reply = await this.client.command([CMD.stayOff, CMD.stayOff], this.client.pairGapMs, { shutdown: true });
        return this.expectOk(command, reply);
      }
      case 'load.off':
        return this.expectOk(command, await this.client.command([CMD.loadOff, CMD.loadOff], this.client.pairGapMs, { optional: true }));
      case 'load.on':
        return this.expectOk(command, await this.client.command([CMD.loadOn, CMD.loadOn], this.client.pairGapMs, { optional: true }));
      default:
        throw new BlackstartError('UNSUPPORTED', `${this.label}: no command "${command}" on an APC smart UPS`);
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  /** S works only on battery; apcupsd then tries @000, which works on line too. */
  private async shutdownReturn(): Promise<void> {
    let first: string | null = null;
    try {
      first = await this.client.command([CMD.softShutdown], 0, { shutdown: true });
    } catch (err) {
      if (!(err instanceof BlackstartError) || err.code !== 'TIMEOUT') throw err;
    }
    if (first === 'OK' || first === '*') return;
    this.deps.log.info({ source: this.label, reply: first === null ? null : printable(first) }, 'S not acknowledged; sending @000');
    const reply = await this.client.command([...encodeShutdownReturn(0)], this.client.charGapMs, { shutdown: true });
    this.expectOk('shutdown.return', reply);
  }

  private expectOk(command: string, reply: string | null): void {
    // null: a command that answers nothing (Z Z) and said nothing, not even NA.
    if (reply === null || reply === 'OK' || reply === '*') return;
    if (reply === 'NA') throw new BlackstartError('UNSUPPORTED', `${this.label}: the UPS answered NA to ${command}`);
    throw new BlackstartError('PROTOCOL', `${this.label}: unexpected answer "${printable(reply)}" to ${command}`);
  }

  private async readStatus(): Promise<StatusWord> {
    for (let i = 0; ; i++) {
      const parsed = parseStatus(await this.client.query(CMD.status));
      if (parsed.ok) return parsed.value;
      if (parsed.na) throw new BlackstartError('PROTOCOL', `${this.label}: the UPS answered NA to Q (status); not an APC smart UPS?`);
      if (!('notReady' in parsed) || i + 1 >= STATUS_TRIES) {
        throw new BlackstartError('PROTOCOL', `${this.label}: ${parsed.error}${'notReady' in parsed ? ` after ${STATUS_TRIES} tries` : ''}`);
      }
    }
  }

  private value(parsed: Parsed<number>): number | null {
    if (parsed.ok) return parsed.value;
    if (parsed.na) return null;
    throw new BlackstartError('PROTOCOL', `${this.label}: ${parsed.error}`);
  }

  private onAlert(char: string): void {
    const push = pushForAlert(char, this.flags);
    if (!push) return;
    if (push.flags) this.flags = [...push.flags];
    this.listener?.(push);
  }
}
