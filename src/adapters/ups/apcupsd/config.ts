import { z } from 'zod';
import { port, section } from '../../../config/fields';
import { checkPolling, pollingShape } from '../polling-config';

/** An apcupsd Network Information Server (NETSERVER on). It is read-only: no commands. */
export const apcupsdSchema = section({
  host: z.string().min(1).default('127.0.0.1'),
  port: port.default(3551),
  ...pollingShape,
}).superRefine((c, ctx) => checkPolling(c, ctx));

export type ApcupsdConfig = z.output<typeof apcupsdSchema>;
