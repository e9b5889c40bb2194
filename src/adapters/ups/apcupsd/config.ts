import { z } from 'zod';
import { duration, port, section } from '../../../config/fields';
import { checkPolling, pollingShape } from '../polling-config';

/** An apcupsd Network Information Server (NETSERVER on). It is read-only: no commands. */
export const apcupsdSchema = section({
  host: z.string().min(1).default('127.0.0.1'),
  port: port.default(3551),
  /**
   * apcupsd keeps serving its last values for ~20 s after its UPS goes silent before it says
   * COMMLOST. Its DATE field (time of its last UPS poll) tells: unchanged for this long means the
   * values are stale. Keep it above twice apcupsd's POLLTIME (default 60 s); 0s turns the check off.
   */
  stale_after: duration({ min: 0, max: 3_600_000 }).prefault('150s'),
  ...pollingShape,
}).superRefine((c, ctx) => checkPolling(c, ctx));

export type ApcupsdConfig = z.output<typeof apcupsdSchema>;
