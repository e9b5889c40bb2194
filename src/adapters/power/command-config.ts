/** A host's `shutdown: { command: {...} }` section: a program run on this machine. */
import { z } from 'zod';
import { duration, section } from '../../config/fields';
import type { Logger } from '../../core/logger';
import { CommandMethod } from './command';

const ENV_NAME = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not a valid environment variable name');

export const commandShutdownSchema = section({
  /** The program and its arguments, one word each: [ssh, -i, /etc/blackstart/key, root@nas, poweroff]. For a shell: [sh, -c, "…"]. */
  command: z.array(z.string()).min(1, 'give the program and its arguments, e.g. [systemctl, poweroff]').refine((a) => (a[0] ?? '') !== '', 'the program name is empty'),
  timeout: duration({ min: 100 }).prefault('30s'),
  /** Exit codes that count as success. */
  ok_exit_codes: z.array(z.number().int().min(0).max(255)).min(1).default([0]),
  /** Added to the command's environment. */
  env: z.record(ENV_NAME, z.string()).optional(),
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
