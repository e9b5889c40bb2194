/**
 * The config file of `blackstart agent`: which agent this is, the broker it reaches the hub
 * through, how this machine shuts itself down, and optionally the UPS it follows on its own and
 * the Wake-on-LAN packets it relays. Same conventions as the daemon's file (snake_case, strict,
 * secrets via `_env` / `_file`).
 *
 *   id: web1
 *   mqtt: { url: mqtt://hub.lan:1883, username: agent-web1, password_file: /etc/blackstart/mqtt.pw }
 *   shutdown: { command: { command: [systemctl, poweroff] } }
 *   follow_ups: { ups: rack, after: 5m }
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { commandShutdownSchema } from '../adapters/power/command-config';
import { LOG_LEVELS } from '../core/logger';
import { DEVICE_ID } from '../core/state';
import { duration, filePath, port, section, sectionWithSecrets } from '../config/fields';

const ID = z.string().regex(DEVICE_ID, 'ids use lowercase letters, digits, "_" and "-", and start with a letter or digit');

/** Whether a broker URL stays on this machine, where no one else can send the agent commands. */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  host = host.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export const agentMqttSchema = sectionWithSecrets(
  {
    /** The broker the hub uses, `mqtt://host:1883` or `mqtts://host:8883`. */
    url: z.string().regex(/^mqtts?:\/\/[^/\s]+\/?$/, 'expected mqtt://host[:port] or mqtts://host[:port]'),
    /** Required beyond loopback: whoever can publish to this agent's topic can power the machine off. */
    username: z.string().min(1).optional(),
    ca_file: filePath().optional(),
    base_topic: z
      .string()
      .regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, 'segments of letters, digits, "_" and "-" separated by "/", no wildcards')
      .default('blackstart'),
    client_id: z.string().min(1).max(128).optional(),
    protocol_version: z.union([z.literal(4), z.literal(5)]).default(5),
    reconnect_min: duration({ min: 100 }).prefault('1s'),
    reconnect_max: duration({ min: 100 }).prefault('30s'),
  },
  ['password'],
).superRefine((m, ctx) => {
  if (!isLoopbackUrl(m.url) && (m.username === undefined || m.password === undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: ['username'],
      message: `the broker ${m.url} is beyond loopback: give username and password_env or password_file, so only the hub can command this agent`,
    });
  } else if ((m.username === undefined) !== (m.password === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['username'], message: 'give both username and a password, or neither' });
  }
  if (m.reconnectMax < m.reconnectMin) {
    ctx.addIssue({ code: 'custom', path: ['reconnect_max'], message: 'must not be shorter than reconnect_min' });
  }
});

export const followUpsSchema = section({
  /** The UPS id as the hub publishes it (`<base>/ups/<ups>`). */
  ups: ID,
  /** How long the UPS may stay on battery before this machine shuts down. */
  after: duration({ min: 0 }),
  /** Shut down at once when the UPS reports a low battery, whatever `after` says. */
  on_low_battery: z.boolean().default(true),
});

export const wolRelaySchema = section({
  /** The switch that turns relaying on; false keeps the section but refuses `wake`. */
  allowed: z.boolean().default(true),
  /**
   * Where the packets go, fixed here so the hub can name only the sleeping card, never a
   * destination: usually this LAN's directed broadcast, e.g. 192.168.1.255.
   */
  address: z.string().refine((a) => isIP(a) !== 0, "an IP address (usually the subnet's directed broadcast)"),
  port: port.default(9),
  /** Interface to send from (its first address is used). */
  interface: z.string().min(1).optional(),
  repeat: z.number().int().min(1).max(20).default(3),
  spacing: duration({ min: 0, max: 10_000 }).prefault('100ms'),
});

export const agentShutdownSchema = section({
  command: commandShutdownSchema,
});

export const agentConfigSchema = section({
  /** This agent's id: its topics are `<base>/agent/<id>…`, and hosts name it in `shutdown: { agent: { id } }`. */
  id: ID,
  mqtt: agentMqttSchema,
  shutdown: agentShutdownSchema.optional(),
  /** Only log and report what would be done; nothing is shut down. For trying a deployment. */
  dry_run: z.boolean().default(false),
  follow_ups: followUpsSchema.optional(),
  wol_relay: wolRelaySchema.optional(),
  log: section({ level: z.enum(LOG_LEVELS).default('info') }).prefault({}),
}).superRefine((c, ctx) => {
  if (!c.shutdown && !c.wolRelay) {
    ctx.addIssue({ code: 'custom', path: ['shutdown'], message: 'required: how this machine shuts down (e.g. command: { command: [systemctl, poweroff] }), unless the agent only relays Wake-on-LAN (wol_relay)' });
  }
  if (c.followUps && !c.shutdown) {
    ctx.addIssue({ code: 'custom', path: ['follow_ups'], message: 'following a UPS needs a shutdown method: add shutdown' });
  }
});

export type AgentConfig = z.output<typeof agentConfigSchema>;
export type FollowUpsConfig = NonNullable<AgentConfig['followUps']>;
export type WolRelayConfig = NonNullable<AgentConfig['wolRelay']>;
