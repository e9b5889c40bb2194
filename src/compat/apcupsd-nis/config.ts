/** `compat.apcupsd`: serve one Blackstart UPS over apcupsd's NIS protocol (what apcaccess and slaves read). */
import { z } from 'zod';
import { port, section } from '../../config/fields';
import { DEVICE_ID } from '../../core/state';

export const apcupsdServerSchema = section({
  /** Address to listen on; loopback unless you mean to serve the LAN. */
  listen: z.string().min(1).default('127.0.0.1'),
  port: port.default(3551),
  /** The Blackstart UPS to serve; default: the one the outage orchestrator follows, or the only one. */
  ups: z.string().regex(DEVICE_ID, 'a UPS id').optional(),
});

export type ApcupsdServerConfig = z.output<typeof apcupsdServerSchema>;
