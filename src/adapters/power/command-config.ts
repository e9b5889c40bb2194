/** A host's `shutdown: { command: {...} }` section: a program run on this machine. */
import { z } from 'zod';
import { duration, section } from '../../config/fields';
import type { Logger } from '../../core/logger';
import { CommandMethod } from './command';

const ENV_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENV_NAME = z.string().regex(ENV_PATTERN, 'not a valid environment variable name');

export const commandShutdownSchema = section({
  /** The program and its arguments, one word each: [ssh, -i, /etc/blackstart/key, root@nas, poweroff]. For a shell: [sh, -c, "…"]. */
  command: z.array(z.string()).min(1, 'give the program and its arguments, e.g. [systemctl, poweroff]').refine((a) => (a[0] ?? '') !== '', 'the program name is empty'),
  timeout: duration({ min: 100 }).prefault('30s'),
  /** Exit codes that count as success. */
  ok_exit_codes: z.array(z.number().int().min(0).max(255)).min(1).default([0]),
  /** Added to the command's environment. */
  // Keys checked by hand: zod's own message for a bad record key does not say what was wrong.
  env: z
    .record(z.string(), z.string())
    .superRefine((env, ctx) => {
      for (const k of Object.keys(env)) if (!ENV_PATTERN.test(k)) ctx.addIssue({ code: 'custom', path: [k], message: 'not a valid environment variable name' });
    })
    .optional(),
  /** Variables of Blackstart's own environment the command may see (only PATH, HOME, USER, LANG, TZ by default). */
  pass_env: z.array(ENV_NAME).optional(),
  cwd: z.string().min(1).optional(),
});

export type CommandShutdownConfig = z.output<typeof commandShutdownSchema>;

export function createCommandShutdown(cfg: CommandShutdownConfig, deps: { log?: Logger } = {}): CommandMethod {
  return new CommandMethod({
    argv: cfg.command,
    timeoutMs: cfg.timeout,
    okExitCodes: cfg.okExitCodes,
    ...(cfg.env ? { env: cfg.env } : {}),
    ...(cfg.passEnv ? { passEnv: cfg.passEnv } : {}),
    ...(cfg.cwd !== undefined ? { cwd: cfg.cwd } : {}),
    ...(deps.log ? { log: deps.log } : {}),
  });
}
