import { z } from 'zod';
import { DEVICE_ID } from '../../../core/state';
import { duration, section } from '../../../config/fields';
import { commandShutdownSchema } from '../../power/command-config';
import { httpShutdownSchema } from '../../power/http-recipe-config';
import { sshShutdownSchema } from '../../power/ssh-config';

export const SHUTDOWN_METHODS = ['ssh', 'http', 'command', 'ipmi', 'agent'] as const;

/** A host's `shutdown:` block: exactly one method, and how long to wait for proof that it worked. */
export const shutdownSchema = section({
  ssh: sshShutdownSchema.optional(),
  http: httpShutdownSchema.optional(),
  command: commandShutdownSchema.optional(),
  /** Soft-off through this host's `ipmi:` block (`ipmi: {}`). */
  ipmi: section({}).optional(),
  /** A `blackstart agent` running on the host shuts it down when the hub asks over MQTT. */
  agent: section({
    id: z.string().regex(DEVICE_ID, 'an agent id: lowercase letters, digits, "_" and "-"'),
    /** How long to wait for the agent to accept the request. */
    timeout: duration({ min: 500, max: 120_000 }).prefault('10s'),
  }).optional(),
  /**
   * After the method succeeded, the host must stop answering its probes (or its BMC must read
   * power off) within this time, or the shutdown is reported as failed.
   */
  verify_within: duration({ min: 1000, max: 3_600_000 }).prefault('3m'),
}).superRefine((s, ctx) => {
  const given = SHUTDOWN_METHODS.filter((m) => s[m] !== undefined);
  if (given.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      message: given.length === 0 ? `needs a method: one of ${SHUTDOWN_METHODS.join(', ')}` : `give only one method (got ${given.join(', ')})`,
    });
  }
});

export type ShutdownConfig = z.output<typeof shutdownSchema>;
