import { z } from 'zod';
import { duration, port, sectionWithSecrets } from '../../../config/fields';

/** Cipher suites we speak: 17 (SHA-256), 3 (SHA-1 + AES), 2 and 1 (SHA-1, integrity only), 0 (no authentication). */
export const CIPHER_SUITES = ['auto', 'ipmi15', 0, 1, 2, 3, 17] as const;

export const ipmiHostSchema = sectionWithSecrets(
  {
    /** The BMC's address (its own LAN port or the shared NIC), not the server's. */
    host: z.string().min(1),
    port: port.default(623),
    /** An empty name is the BMC's anonymous user (user 1 on most boards). */
    username: z.string().max(16, 'IPMI user names are at most 16 bytes'),
    /** Operator may power the chassis on and off; administrator is needed only for configuration. */
    privilege: z.enum(['user', 'operator', 'administrator']).default('operator'),
    /** `auto` asks the BMC for its cipher suites and picks the strongest; `ipmi15` forces an IPMI 1.5 session. */
    cipher_suite: z.literal(CIPHER_SUITES, { error: `expected one of ${CIPHER_SUITES.join(', ')}` }).default('auto'),
    /** Per attempt; ipmitool's default is 1 s with 4 retries. */
    timeout: duration({ min: 50, max: 30_000 }).prefault('1s'),
    retries: z.number().int().min(0).max(10).default(4),
    /** Idle time after which the session is kept open with a cheap request; 0s sends none. */
    keep_alive: duration().prefault('30s'),
    /** How often chassis power is read. */
    poll_interval: duration({ min: 1000 }).prefault('10s'),
    /** How often sensors are swept; 0s publishes none. */
    sensor_interval: duration().prefault('30s'),
  },
  ['password', 'kg'],
).superRefine((c, ctx) => {
  if (!c.password) ctx.addIssue({ code: 'custom', path: ['password'], message: 'the BMC needs a password: give password_env or password_file' });
  if (c.sensorInterval !== 0 && c.sensorInterval < 1000) {
    ctx.addIssue({ code: 'custom', path: ['sensor_interval'], message: 'must be 0s (off) or at least 1s' });
  }
  if (c.keepAlive !== 0 && c.keepAlive < 1000) {
    ctx.addIssue({ code: 'custom', path: ['keep_alive'], message: 'must be 0s (off) or at least 1s' });
  }
});

export type IpmiHostConfig = z.output<typeof ipmiHostSchema>;
