/**
 * `blackstart ipmi <status|on|off|cycle|reset|soft|sensors>`: one BMC driven directly through the
 * same native client and config schema the daemon uses, for the jobs `ipmitool` does today.
 */
import { ipmiClientOptions, nativeBmc, type ChassisAction } from '../adapters/host/ipmi';
import { ConfigError, parseConfig } from '../config/loader';
import { BlackstartError, exitCodeFor, toBlackstartError } from '../core/errors';
import { createLogger, type LogLevel } from '../core/logger';
import type { SensorMap } from '../core/state';

export const IPMI_VERBS = ['status', 'on', 'off', 'cycle', 'reset', 'soft', 'sensors'] as const;
export type IpmiVerb = (typeof IPMI_VERBS)[number];

export interface IpmiOptions {
  host: string;
  port?: string;
  user: string;
  passwordEnv?: string;
  passwordFile?: string;
  cipher?: string;
  privilege?: string;
  timeout?: string;
  retries?: string;
  json?: boolean;
  logLevel?: string;
}

const CONTROL_TEXT: Record<ChassisAction, string> = {
  on: 'power on',
  off: 'power off',
  cycle: 'power cycle',
  reset: 'hard reset',
  soft: 'soft shutdown (ACPI)',
};

export async function ipmiCommand(verb: string, o: IpmiOptions, out = process.stdout): Promise<number> {
  const log = createLogger({ level: (o.logLevel as LogLevel | undefined) ?? 'warn', destination: process.stderr });
  let bmc;
  try {
    if (!(IPMI_VERBS as readonly string[]).includes(verb)) {
      throw new BlackstartError('BAD_REQUEST', `unknown ipmi command "${verb}" (expected one of: ${IPMI_VERBS.join(', ')})`);
    }
    bmc = nativeBmc(ipmiClientOptions(configFrom(o), { log }));
  } catch (err) {
    process.stderr.write(`blackstart: ${err instanceof ConfigError ? err.message : toBlackstartError(err).message}\n`);
    return exitCodeFor(err);
  }
  try {
    if (verb === 'status') {
      const s = await bmc.client.chassisStatus();
      out.write(
        o.json
          ? `${JSON.stringify({
              power: s.power,
              power_overload: s.powerOverload,
              interlock: s.interlock,
              power_fault: s.powerFault,
              control_fault: s.controlFault,
              restore_policy: s.restorePolicy,
              last_power_event: s.lastPowerEvent,
              intrusion: s.intrusion,
              drive_fault: s.driveFault,
              cooling_fault: s.coolingFault,
              bmc: bmc.label,
              cipher_suite: bmc.client.activeCipherSuite ?? null,
            })}\n`
          : `Chassis Power is ${s.power}\nrestore policy ${s.restorePolicy}; faults: ${faults(s) || 'none'}\n`,
      );
    } else if (verb === 'sensors') {
      const readings = await bmc.sensors();
      out.write(o.json ? `${JSON.stringify(readings)}\n` : formatSensors(readings));
    } else {
      const action = verb as ChassisAction;
      await bmc.chassisControl(action);
      out.write(o.json ? `${JSON.stringify({ ok: true, action: verb, bmc: bmc.label })}\n` : `${CONTROL_TEXT[action]}: accepted by ${bmc.label}\n`);
    }
    return 0;
  } catch (err) {
    process.stderr.write(`blackstart: ${toBlackstartError(err).message}\n`);
    return exitCodeFor(err);
  } finally {
    await bmc.close().catch(() => undefined);
  }
}

/** The flags as an `ipmi:` config block, so the CLI validates exactly as a config file does. */
function configFrom(o: IpmiOptions) {
  if (!o.passwordEnv && !o.passwordFile) {
    throw new BlackstartError('BAD_REQUEST', 'give the BMC password with --password-env VAR or --password-file FILE (never on the command line)');
  }
  const ipmi: Record<string, unknown> = {
    host: o.host,
    username: o.user,
    // One-shot commands need neither a keep-alive nor a sensor poll.
    keep_alive: '0s',
    sensor_interval: '0s',
  };
  if (o.passwordEnv) ipmi.password_env = o.passwordEnv;
  if (o.passwordFile) ipmi.password_file = o.passwordFile;
  if (o.port !== undefined) ipmi.port = intOption(o.port, '--port');
  if (o.cipher !== undefined) ipmi.cipher_suite = /^\d+$/.test(o.cipher) ? Number(o.cipher) : o.cipher;
  if (o.privilege !== undefined) ipmi.privilege = o.privilege;
  if (o.timeout !== undefined) ipmi.timeout = o.timeout;
  if (o.retries !== undefined) ipmi.retries = intOption(o.retries, '--retries');
  const { config } = parseConfig(JSON.stringify({ hosts: { bmc: { ipmi } } }), { file: 'command line' });
  const cfg = config.hosts.bmc?.ipmi;
  if (!cfg) throw new BlackstartError('INTERNAL', 'the options gave no ipmi section');
  return cfg;
}

function intOption(text: string, option: string): number {
  if (!/^\d+$/.test(text)) throw new BlackstartError('BAD_REQUEST', `${option}: expected a whole number, got "${text}"`);
  return Number(text);
}

function faults(s: { powerOverload: boolean; interlock: boolean; powerFault: boolean; controlFault: boolean; driveFault: boolean; coolingFault: boolean }): string {
  const names: [boolean, string][] = [
    [s.powerOverload, 'power overload'],
    [s.interlock, 'interlock'],
    [s.powerFault, 'power fault'],
    [s.controlFault, 'power control fault'],
    [s.driveFault, 'drive fault'],
    [s.coolingFault, 'cooling/fan fault'],
  ];
  return names
    .filter(([on]) => on)
    .map(([, n]) => n)
    .join(', ');
}

/** `name | value unit | status`, the columns of `ipmitool sdr list`. */
function formatSensors(readings: SensorMap): string {
  const rows = Object.entries(readings).map(([name, r]) => [name, r.value === null ? 'no reading' : `${r.value} ${r.unit}`.trim(), r.status]);
  const w0 = Math.max(16, ...rows.map((r) => (r[0] as string).length));
  const w1 = Math.max(17, ...rows.map((r) => (r[1] as string).length));
  return rows.map(([n, v, s]) => `${(n as string).padEnd(w0)} | ${(v as string).padEnd(w1)} | ${s}\n`).join('');
}
