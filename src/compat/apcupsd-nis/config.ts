/** `compat.apcupsd`: serve one Blackstart UPS over apcupsd's NIS protocol (what apcaccess and slaves read). */
import { z } from 'zod';
import { duration, port, section } from '../../config/fields';
import { DEVICE_ID } from '../../core/state';

export const apcupsdServerSchema = section({
  /** Address to listen on; loopback unless you mean to serve the LAN (NIS has no authentication). */
  listen: z.string().min(1).default('127.0.0.1'),
  port: port.default(3551),
  /** The Blackstart UPS to serve; default: the one the outage orchestrator follows, or the only one. */
  ups: z.string().regex(DEVICE_ID, 'a UPS id').optional(),
  /** Open connections at once; more are closed as they come (slaves connect once per poll). */
  max_connections: z.number().int().min(1).max(1000).default(16),
  /** A connection that sends nothing for this long is closed. */
  idle_timeout: duration({ min: 100 }).prefault('30s'),
  /**
   * Before the controller shuts down, STATUS says SHUTTING DOWN and Blackstart waits at most this
   * long for the slaves that have been polling to fetch it (apcupsd's own master waits 30 s).
   */
  slave_wait: duration({ max: 10 * 60_000 }).prefault('30s'),
});

export type ApcupsdServerConfig = z.output<typeof apcupsdServerSchema>;
