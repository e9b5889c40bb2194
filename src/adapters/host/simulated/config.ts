import { z } from 'zod';
import { duration, section } from '../../../config/fields';

export const simulatedHostSchema = section({
  /** Powered on at start. */
  running: z.boolean().default(true),
  /** Answers probes while powered on; false models a hung machine. */
  answers: z.boolean().default(true),
  latency_ms: z.number().nonnegative().default(1),
  shutdown_takes: duration().prefault('5s'),
  wake_takes: duration().prefault('10s'),
  /** Accepts a graceful shutdown but never goes down (only a hard power-off works). */
  ignores_shutdown: z.boolean().default(false),
});

export type SimulatedHostConfig = z.output<typeof simulatedHostSchema>;
