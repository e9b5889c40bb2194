/**
 * A host's management board: chassis power read every `poll_interval`, sensors every
 * `sensor_interval`, and the power actions sent to the BMC over one persistent session.
 */
import type { Adapter, AdapterContext, CommandRequest } from '../../../core/adapter';
import type { Clock, TimerHandle } from '../../../core/clock';
import { BlackstartError, toBlackstartError } from '../../../core/errors';
import type { Logger } from '../../../core/logger';
import { BMC_ERROR_PREFIX, derivePhase, lastErrorAfter, settledPhase } from '../../../core/host-phase';
import type { HostState, SensorMap } from '../../../core/state';
import { IpmiClient, type IpmiClientOptions } from '../../ipmi/client';
import { SensorReader } from '../../ipmi/sensors';
import type { IpmiHostConfig } from './config';

export { ipmiHostSchema, type IpmiHostConfig } from './config';

export type ChassisAction = 'on' | 'off' | 'cycle' | 'reset' | 'soft';

/** What the adapter needs from a BMC; the native client in production, a fake in unit tests. */
export interface Bmc {
  readonly label: string;
  chassisStatus(): Promise<{ power: 'on' | 'off' }>;
  chassisControl(action: ChassisAction): Promise<void>;
  sensors(): Promise<SensorMap>;
  close(): Promise<void>;
}

const ACTIONS: Record<string, ChassisAction> = {
  power_on: 'on',
  power_off: 'off',
  power_cycle: 'cycle',
  reset: 'reset',
  soft_off: 'soft',
};

/**
 * After a soft-off the OS needs time to shut down; until power reads off (or this long passes,
 * for an OS that ignores the ACPI request) the host shows `shutting_down`.
 */
const SOFT_OFF_WINDOW_MS = 10 * 60_000;

/**
 * After a power-on a probed host shows `waking` until it answers (not `unreachable`, which would
 * read as a failure), for at most this long.
 */
const BOOT_WINDOW_MS = 10 * 60_000;

/** Client options from config: the one place a BMC password is revealed. */
export function ipmiClientOptions(cfg: IpmiHostConfig, deps: { clock?: Clock; log?: Logger } = {}): IpmiClientOptions {
  const password = cfg.password?.secret.reveal();
  if (password === undefined) throw new BlackstartError('CONFIG', `ipmi ${cfg.username}@${cfg.host}: no password`);
  const kgHex = cfg.kg?.secret.reveal();
  if (kgHex !== undefined && !/^([0-9a-fA-F]{2}){1,20}$/.test(kgHex)) {
    throw new BlackstartError('CONFIG', `ipmi ${cfg.username}@${cfg.host}: kg must be hex, at most 20 bytes (40 hex digits)`);
  }
  return {
    host: cfg.host,
    port: cfg.port,
    username: cfg.username,
    password,
    privilege: cfg.privilege,
    cipherSuite: cfg.cipherSuite,
    timeoutMs: cfg.timeout,
    retries: cfg.retries,
    keepAliveMs: cfg.keepAlive,
    ...(kgHex !== undefined ? { kg: Buffer.from(kgHex, 'hex') } : {}),
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...(deps.log ? { log: deps.log } : {}),
  };
}

/** The native RMCP+ client and an SDR reader sharing its session. */
export function nativeBmc(options: IpmiClientOptions): Bmc & { client: IpmiClient } {
  const client = new IpmiClient(options);
  const reader = new SensorReader((netFn, cmd, data, o) => client.request(netFn, cmd, data, o));
  return {
    client,
    label: client.label,
    chassisStatus: () => client.chassisStatus(),
    chassisControl: (a) => client.chassisControl(a),
    sensors: () => reader.read(),
    close: () => client.close(),
  };
}

export class IpmiHost implements Adapter<'host'> {
  readonly kind = 'host' as const;
  readonly name: string;
  readonly capabilities: readonly string[] = Object.keys(ACTIONS);
  private ctx: AdapterContext<'host'> | undefined;
  private bmc: Bmc | undefined;
  private powerTimer: TimerHandle | undefined;
  private sensorTimer: TimerHandle | undefined;
  private softOffUntil = 0;
  private bootUntil = 0;
  private lastError: string | null = null;
  /** Bumped on stop so a poll that was in flight does not reschedule itself. */
  private generation = 0;

  constructor(
    readonly deviceId: string,
    private readonly cfg: IpmiHostConfig,
    private readonly makeBmc: (log: Logger, clock: Clock) => Bmc = (log, clock) => nativeBmc(ipmiClientOptions(cfg, { log, clock })),
  ) {
    this.name = `host:${deviceId}/ipmi`;
  }

  start(ctx: AdapterContext<'host'>): void {
    this.ctx = ctx;
    this.bmc = this.makeBmc(ctx.log, ctx.clock);
    const gen = ++this.generation;
    void this.pollPower(gen);
    if (this.cfg.sensorInterval > 0) void this.pollSensors(gen);
  }

  async stop(): Promise<void> {
    this.generation++;
    this.ctx?.clock.clearTimeout(this.powerTimer);
    this.ctx?.clock.clearTimeout(this.sensorTimer);
    this.ctx = undefined;
    const bmc = this.bmc;
    this.bmc = undefined;
    await bmc?.close().catch(() => undefined);
  }

  async execute(request: CommandRequest): Promise<void> {
    const bmc = this.bmc;
    const ctx = this.ctx;
    if (!bmc || !ctx) throw new BlackstartError('UNREACHABLE', `${this.deviceId}: the IPMI adapter is not started`);
    const action = ACTIONS[request.action];
    if (!action) throw new BlackstartError('BAD_REQUEST', `${this.deviceId}: the BMC has no action "${request.action}"`);
    await bmc.chassisControl(action);
    ctx.log.info({ host: this.deviceId, action: request.action, bmc: bmc.label }, 'chassis control accepted by the BMC');
    this.softOffUntil = action === 'soft' ? ctx.clock.now() + SOFT_OFF_WINDOW_MS : 0;
    if (action === 'soft') ctx.update({ phase: 'shutting_down' });
    const before = ctx.current();
    // Only a host something probes can leave `waking`: without a probe, power on is all we will know.
    if ((action === 'on' || action === 'cycle') && before.reachable !== null && before.phase !== 'running') {
      this.bootUntil = ctx.clock.now() + BOOT_WINDOW_MS;
      ctx.update({ phase: 'waking' });
    }
    // Read power back at once so MQTT shows the effect without waiting a whole poll interval.
    void this.pollPower(this.generation, false);
  }

  private async pollPower(gen: number, reschedule = true): Promise<void> {
    const bmc = this.bmc;
    const ctx = this.ctx;
    if (!bmc || !ctx || gen !== this.generation) return;
    try {
      const { power } = await bmc.chassisStatus();
      if (gen !== this.generation) return;
      this.noteRecovered(ctx);
      const current = ctx.current();
      if (power === 'off') this.softOffUntil = 0;
      // An OS that ignored the ACPI request is running again as far as we can tell.
      const gaveUp =
        (current.phase === 'shutting_down' && this.softOffUntil !== 0 && ctx.clock.now() >= this.softOffUntil) ||
        (current.phase === 'waking' && this.bootUntil !== 0 && ctx.clock.now() >= this.bootUntil);
      if (gaveUp) this.softOffUntil = this.bootUntil = 0;
      const patch: Partial<HostState> = {
        power,
        phase: derivePhase(gaveUp ? { ...current, phase: settledPhase(current) } : current, { power }),
        lastError: lastErrorAfter(current.lastError, 'bmc', null),
      };
      ctx.update(patch);
    } catch (err) {
      if (gen !== this.generation) return;
      this.noteFailure(ctx, err);
    } finally {
      if (reschedule && gen === this.generation && this.ctx) {
        this.ctx.clock.clearTimeout(this.powerTimer);
        this.powerTimer = this.ctx.clock.setTimeout(() => void this.pollPower(gen), this.cfg.pollInterval);
      }
    }
  }

  private async pollSensors(gen: number): Promise<void> {
    const bmc = this.bmc;
    const ctx = this.ctx;
    if (!bmc || !ctx || gen !== this.generation) return;
    try {
      const readings = await bmc.sensors();
      if (gen === this.generation) ctx.sensors(readings);
    } catch (err) {
      // Power polling reports the BMC being unreachable; a failed sweep is only worth a debug line.
      if (gen === this.generation) ctx.log.debug({ host: this.deviceId, err: toBlackstartError(err).message }, 'sensor sweep failed');
    } finally {
      if (gen === this.generation && this.ctx) {
        this.sensorTimer = this.ctx.clock.setTimeout(() => void this.pollSensors(gen), this.cfg.sensorInterval);
      }
    }
  }

  private noteFailure(ctx: AdapterContext<'host'>, err: unknown): void {
    const e = toBlackstartError(err);
    const message = `${BMC_ERROR_PREFIX}${e.message}`;
    ctx.update({ power: 'unknown', lastError: message });
    if (message !== this.lastError) ctx.log.warn({ host: this.deviceId, code: e.code, err: e.message }, 'cannot read chassis power from the BMC');
    this.lastError = message;
  }

  private noteRecovered(ctx: AdapterContext<'host'>): void {
    if (this.lastError !== null) ctx.log.info({ host: this.deviceId }, 'BMC answers again');
    this.lastError = null;
  }
}
