/** `compat.nut`: serve Blackstart UPSes over the NUT network protocol (upsc, upsmon secondaries). */
import { z } from 'zod';
import { port, section } from '../../config/fields';

export const nutServerSchema = section({
  /** Address to listen on; loopback unless you mean to serve the LAN. */
  listen: z.string().min(1).default('127.0.0.1'),
  port: port.default(3493),
});

export type NutServerConfig = z.output<typeof nutServerSchema>;
