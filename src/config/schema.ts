/**
 * The one configuration schema, composed from each adapter's part. Types are inferred from it;
 * nothing here is written twice.
 */
import { z } from 'zod';
import { ipmiHostSchema } from '../adapters/host/ipmi/config';
import { shutdownSchema } from '../adapters/host/shutdown/config';
import { commandShutdownSchema } from '../adapters/power/command-config';
import { sshShutdownSchema } from '../adapters/power/ssh-config';
import { wolSchema } from '../adapters/power/wol-config';
import { probeSchema } from '../adapters/reach/config';
import { simulatedHostSchema } from '../adapters/host/simulated/config';
import { apcSmartSchema } from '../adapters/ups/apc-smart/config';
import { apcupsdSchema } from '../adapters/ups/apcupsd/config';
import { nutSchema } from '../adapters/ups/nut/config';
import { simulatedUpsSchema } from '../adapters/ups/simulated/config';
import { camelCase } from '../core/case';
import { BlackstartError } from '../core/errors';
import { hostOutageSchema, outagePolicySchema } from '../orchestrator/policy';
import { apcupsdServerSchema } from '../compat/apcupsd-nis/config';
import { nutServerSchema } from '../compat/nut/config';
import { homeAssistantSchema } from '../mqtt/discovery-config';
import { validatePlanHosts } from '../orchestrator/planner';
import { planNodes } from '../orchestrator/nodes';
import { vmsSchema } from '../adapters/vm/config';
import { LOG_LEVELS } from '../core/logger';
import { deviceMap, duration, filePath, port, section, sectionWithSecrets } from './fields';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

const embeddedBrokerSchema = sectionWithSecrets(
  {
    host: z.string().min(1).default('127.0.0.1'),
    port: port.default(1883),
    /** Required when `host` is not a loopback address: a broker on the LAN must not take anonymous commands. */
    username: z.string().min(1).optional(),
  },
  ['password'],
).superRefine((b, ctx) => {
  if (!LOOPBACK.test(b.host) && (!b.username || !b.password)) {
    ctx.addIssue({
      code: 'custom',
      path: ['host'],
      message: `binding the embedded broker to ${b.host} (beyond loopback) needs username and password_env or password_file`,
    });
  }
  if ((b.username === undefined) !== (b.password === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['username'], message: 'give both username and a password, or neither' });
  }
});

export const mqttSchema = sectionWithSecrets(
  {
    base_topic: z
      .string()
      .regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, 'segments of letters, digits, "_" and "-" separated by "/", no wildcards')
      .default('blackstart'),
    /** External broker, `mqtt://host:1883` or `mqtts://host:8883`. Without it the embedded broker runs. */
    url: z
      .string()
      .regex(/^mqtts?:\/\/[^/\s]+\/?$/, 'expected mqtt://host[:port] or mqtts://host[:port]')
      .optional(),
    username: z.string().min(1).optional(),
    ca_file: filePath().optional(),
    client_id: z.string().min(1).max(128).optional(),
    /** 5 lets requesters use MQTT 5 response topics; the embedded broker always speaks 3.1.1. */
    protocol_version: z.union([z.literal(4), z.literal(5)]).default(5),
    reconnect_min: duration({ min: 100 }).prefault('1s'),
    reconnect_max: duration({ min: 100 }).prefault('30s'),
    embedded: embeddedBrokerSchema.prefault({}),
  },
  ['password'],
).superRefine((m, ctx) => {
  if (m.reconnectMax < m.reconnectMin) {
    ctx.addIssue({ code: 'custom', path: ['reconnect_max'], message: 'must not be shorter than reconnect_min' });
  }
  if (!m.url && (m.username || m.password || m.caFile)) {
    ctx.addIssue({ code: 'custom', path: ['url'], message: 'username, password and ca_file are for an external broker: set url too' });
  }
});

const upsSources = { nut: nutSchema, apcupsd: apcupsdSchema, apc_smart: apcSmartSchema, simulated: simulatedUpsSchema } as const;
const SOURCE_KEYS = Object.keys(upsSources);

export const upsSchema = section({
  name: z.string().min(1).optional(),
  ...mapOptional(upsSources),
}).superRefine((u, ctx) => {
  // The section has camelCased its keys by now (apc_smart → apcSmart).
  const given = SOURCE_KEYS.filter((k) => (u as Record<string, unknown>)[camelCase(k)] !== undefined);
  if (given.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      message: given.length === 0 ? `needs a source: one of ${SOURCE_KEYS.join(', ')}` : `give only one source (got ${given.join(', ')})`,
    });
  }
});

export const hostSchema = section({
  name: z.string().min(1).optional(),
  /** The host's own name or address: what probes (and, by default, SSH) connect to. */
  address: z.string().min(1).optional(),
  /** The server's management board (BMC): chassis power, sensors, power actions. */
  ipmi: ipmiHostSchema.optional(),
  /** How to tell whether it answers: TCP ports, ICMP, HTTP. */
  probe: probeSchema.optional(),
  /** Wake-on-LAN: the `wake` action. */
  wol: wolSchema.optional(),
  /** The one way to shut it down gracefully: the `shutdown` action. */
  shutdown: shutdownSchema.optional(),
  /** Its place in an outage: what it depends on, how long it takes to go down. */
  outage: hostOutageSchema.prefault({}),
  /** What to run when a service check fails after a restore: one command, here or over SSH. */
  remediate: section({ ssh: sshShutdownSchema.optional(), command: commandShutdownSchema.optional() })
    .superRefine((r, ctx) => {
      if ((r.ssh === undefined) === (r.command === undefined)) ctx.addIssue({ code: 'custom', message: 'give one of ssh or command' });
      // Without its own command an ssh block runs the OS's shutdown command: never as a remedy.
      if (r.ssh && r.ssh.command === undefined) ctx.addIssue({ code: 'custom', path: ['ssh', 'command'], message: 'give the command to run (os: would pick a shutdown command)' });
    })
    .optional(),
  simulated: simulatedHostSchema.optional(),
  /** The hypervisor on this host and the guests it runs: stopped before the host, started after it. */
  vms: vmsSchema.optional(),
}).superRefine((h, ctx) => {
  const real = ['ipmi', 'probe', 'wol', 'shutdown'] as const;
  const given = real.filter((k) => h[k] !== undefined);
  if (!h.simulated && given.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'nothing to watch or control this host with: add ipmi, probe, wol or shutdown (or simulated)' });
  }
  if (h.simulated && given.length > 0) {
    ctx.addIssue({ code: 'custom', path: ['simulated'], message: `simulated stands in for a real machine: give simulated or ${given.join(', ')}, not both` });
  }
  if (h.wol?.relay && h.wol.password) {
    ctx.addIssue({ code: 'custom', path: ['wol', 'password'], message: 'a SecureOn password is never sent over MQTT, so it cannot be relayed through an agent: drop relay or the password' });
  }
  if (h.shutdown?.ipmi && !h.ipmi) {
    ctx.addIssue({ code: 'custom', path: ['shutdown', 'ipmi'], message: "soft-off goes through the host's BMC: add an ipmi block to this host" });
  }
  if (h.vms?.simulated && !h.simulated) ctx.addIssue({ code: 'custom', path: ['vms', 'simulated'], message: 'a simulated hypervisor runs on a simulated host: add simulated to this host, or give libvirt, xen or hyperv' });
  if (h.simulated && h.vms && !h.vms.simulated) ctx.addIssue({ code: 'custom', path: ['vms'], message: 'a simulated host runs a simulated hypervisor: give vms.simulated: {} instead' });
  if (h.remediate && h.outage.services.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['remediate'], message: 'remediation runs when a service check fails: add outage.services to this host' });
  }
  h.outage.services.forEach((c, i) => {
    if (c.tcp !== undefined && c.address === undefined && !h.address) {
      ctx.addIssue({ code: 'custom', path: ['outage', 'services', i, 'tcp'], message: 'a tcp check needs an address: set address on the host or on the check' });
    }
  });
  if (h.probe && !h.probe.address && !h.address && (h.probe.tcp || h.probe.icmp)) {
    ctx.addIssue({ code: 'custom', path: ['probe'], message: 'probing by tcp or icmp needs an address: set address on the host or probe.address' });
  }
});

export const configSchema = section({
  mqtt: mqttSchema.prefault({}),
  log: section({ level: z.enum(LOG_LEVELS).default('info') }).prefault({}),
  /** When an outage starts, how much runtime to keep in hand, when to restore. */
  outage: outagePolicySchema.prefault({}),
  ups: deviceMap(upsSchema).default({}),
  hosts: deviceMap(hostSchema).default({}),
  /** Serve other UPS clients (apcupsd slaves, NUT secondaries) the state of Blackstart's UPSes. */
  compat: section({ apcupsd: apcupsdServerSchema.optional(), nut: nutServerSchema.optional() }).prefault({}),
  /** Home Assistant MQTT discovery. */
  homeassistant: homeAssistantSchema.optional(),
}).superRefine((c, ctx) => {
  const upsIds = Object.keys(c.ups);
  if (c.outage.ups !== undefined && !upsIds.includes(c.outage.ups)) {
    ctx.addIssue({ code: 'custom', path: ['outage', 'ups'], message: notAUps(c.outage.ups, upsIds) });
  }
  c.homeassistant?.exclude.forEach((id, i) => {
    if (!(id in c.ups) && !(id in c.hosts)) {
      ctx.addIssue({ code: 'custom', path: ['homeassistant', 'exclude', i], message: `"${id}" is neither a UPS nor a host of this config` });
    }
  });
  const nis = c.compat.apcupsd;
  if (nis && nis.ups !== undefined && !upsIds.includes(nis.ups)) {
    ctx.addIssue({ code: 'custom', path: ['compat', 'apcupsd', 'ups'], message: notAUps(nis.ups, upsIds) });
  } else if (nis && nis.ups === undefined && outageUps(c) === undefined) {
    const why = upsIds.length === 0 ? 'there is no UPS to serve: add one under ups' : `several UPS (${upsIds.join(', ')}) and no outage.ups: name the one to serve`;
    ctx.addIssue({ code: 'custom', path: ['compat', 'apcupsd', 'ups'], message: why });
  }
  const nut = c.compat.nut;
  nut?.ups?.forEach((id, i) => {
    if (!upsIds.includes(id)) ctx.addIssue({ code: 'custom', path: ['compat', 'nut', 'ups', i], message: notAUps(id, upsIds) });
  });
  if (nut && upsIds.length === 0) ctx.addIssue({ code: 'custom', path: ['compat', 'nut'], message: 'there is no UPS to serve: add one under ups' });
  if (c.outage.planned.length > 0 && upsIds.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['outage', 'planned'], message: 'planned outages need a UPS to tell when mains is back: add one under ups' });
  }
  // Dependencies between hosts (unknown names, cycles, two controllers) are errors of the whole file.
  try {
    validatePlanHosts(planNodes(c.hosts));
  } catch (err) {
    if (!(err instanceof BlackstartError)) throw err;
    ctx.addIssue({ code: 'custom', path: ['hosts'], message: err.message });
  }
});

export type Config = z.output<typeof configSchema>;
export type MqttConfig = Config['mqtt'];
export type UpsConfig = Config['ups'][string];
export type HostConfig = Config['hosts'][string];

/**
 * The UPS the orchestrator follows: `outage.ups`, or the only UPS; undefined when it cannot tell.
 * Typed by the keys it reads, so the schema's own refinement can ask it too.
 */
export function outageUps(config: { ups: Record<string, unknown>; outage: { ups?: string | undefined } }): string | undefined {
  const ids = Object.keys(config.ups);
  return config.outage.ups ?? (ids.length === 1 ? ids[0] : undefined);
}

function notAUps(id: string, upsIds: readonly string[]): string {
  return `"${id}" is not a UPS of this config (have: ${upsIds.join(', ') || 'none'})`;
}

function mapOptional<T extends Record<string, z.ZodType>>(shape: T): { [K in keyof T]: z.ZodOptional<T[K]> } {
  const out: Record<string, z.ZodType> = {};
  for (const [k, v] of Object.entries(shape)) out[k] = v.optional();
  return out as { [K in keyof T]: z.ZodOptional<T[K]> };
}
