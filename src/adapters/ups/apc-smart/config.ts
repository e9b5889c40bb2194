import { z } from 'zod';
import { section } from '../../../config/fields';
import { checkPolling, pollingShape } from '../polling-config';

/** Commands an APC smart UPS can carry out, by their NUT names (the MQTT vocabulary for every source). */
export const APC_SMART_COMMANDS = [
  'test.battery.start',
  'test.panel.start',
  'shutdown.return',
  'shutdown.stayoff',
  'shutdown.stop',
  'load.off',
  'load.on',
] as const;
export type ApcSmartCommand = (typeof APC_SMART_COMMANDS)[number];

export const apcSmartSchema = section({
  /** Serial device, e.g. /dev/ttyS0 or /dev/ttyUSB0 (APC cable 940-0024C or a clone). */
  device: z.string().regex(/^\//, 'an absolute device path such as /dev/ttyS0'),
  baud_rate: z.union([z.literal(1200), z.literal(2400), z.literal(4800), z.literal(9600), z.literal(19200)]).default(2400),
  data_bits: z.union([z.literal(7), z.literal(8)]).default(8),
  parity: z.enum(['none', 'even', 'odd']).default('none'),
  stop_bits: z.union([z.literal(1), z.literal(2)]).default(1),
  /** Modem lines after opening; apcupsd clears RTS, and some cables need DTR set. */
  rts: z.boolean().default(false),
  dtr: z.boolean().default(true),
  /** Instant commands that may be asked for over MQTT. `shutdown.*` and `load.off` cut power to the load. */
  commands: z.array(z.enum(APC_SMART_COMMANDS)).default([]),
  ...pollingShape,
}).superRefine((c, ctx) => checkPolling(c, ctx));

export type ApcSmartConfig = z.output<typeof apcSmartSchema>;
