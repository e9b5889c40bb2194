/** `compat.nut`: serve Blackstart UPSes over the NUT network protocol (upsc, upsmon secondaries). */
import { z } from 'zod';
import { NUT_COMMAND } from '../../adapters/ups/nut/config';
import { duration, port, section, sectionWithSecrets } from '../../config/fields';
import { DEVICE_ID } from '../../core/state';

/**
 * What a NUT user may do. Each role includes the one before it: `secondary` may LOGIN (an upsmon
 * secondary), `primary` may also PRIMARY and FSD (an upsmon primary), `admin` may also INSTCMD.
 */
export const NUT_ROLES = ['secondary', 'primary', 'admin'] as const;
export type NutRole = (typeof NUT_ROLES)[number];

export const nutUserSchema = sectionWithSecrets(
  {
    /** What the client sends with USERNAME (upsmon.conf's MONITOR line, Synology's "monuser"). */
    username: z.string().regex(/^[A-Za-z0-9_.@+-]{1,64}$/, 'letters, digits and "_", ".", "@", "+", "-" (at most 64)'),
    role: z.enum(NUT_ROLES).default('secondary'),
    /** For an admin: the instant commands it may run; absent, every command its UPS offers. */
    instcmds: z.array(z.string().regex(NUT_COMMAND, 'a NUT instant command name such as test.battery.start')).optional(),
  },
  ['password'],
).superRefine((u, ctx) => {
  if (!u.password) ctx.addIssue({ code: 'custom', path: ['password_env'], message: 'give password_env, password_file or password' });
  if (u.instcmds !== undefined && u.role !== 'admin') {
    ctx.addIssue({ code: 'custom', path: ['instcmds'], message: `only an admin runs instant commands (this user is ${u.role})` });
  }
});

export const nutServerSchema = section({
  /** Address to listen on; loopback unless you mean to serve the LAN. */
  listen: z.string().min(1).default('127.0.0.1'),
  port: port.default(3493),
  /** The Blackstart UPSes to serve, under their ids as NUT names; absent, all of them. */
  ups: z.array(z.string().regex(DEVICE_ID, 'a UPS id')).min(1).optional(),
  /** Who may LOGIN, FSD or INSTCMD. Reading (upsc, LIST, GET) needs no user, as with upsd. */
  users: z.array(nutUserSchema).default([]),
  /**
   * At the controller's own shutdown FSD is set on the UPS the outage follows; this bounds the wait for
   * logged-in secondaries to log out (upsmon's HOSTSYNC, 15 s by default there too).
   */
  fsd_wait: duration({ max: 600_000 }).prefault('15s'),
  max_clients: z.number().int().min(1).max(1024).default(64),
}).superRefine((c, ctx) => {
  const seen = new Set<string>();
  c.users.forEach((u, i) => {
    if (seen.has(u.username)) ctx.addIssue({ code: 'custom', path: ['users', i, 'username'], message: `user "${u.username}" is listed twice` });
    seen.add(u.username);
  });
  c.ups?.forEach((id, i) => {
    if (c.ups?.indexOf(id) !== i) ctx.addIssue({ code: 'custom', path: ['ups', i], message: `"${id}" is listed twice` });
  });
});

export type NutServerConfig = z.output<typeof nutServerSchema>;
export type NutUserConfig = NutServerConfig['users'][number];
