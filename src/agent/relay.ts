/**
 * The agent's side of a relayed Wake-on-LAN: the hub names the sleeping card (and its SecureOn
 * password), the agent's own config names where the packet goes. So a hub (or anyone who can
 * publish to the agent's topic) can never make the agent send datagrams elsewhere.
 */
import { z } from 'zod';
import { BlackstartError } from '../core/errors';
import { parsePassword } from '../adapters/power/wol-codec';
import type { WolSender } from '../adapters/power/wol';
import type { WolRelayConfig } from './config';

const wakeArgs = z.strictObject({
  mac: z.string().min(1).max(64),
  password: z.string().min(1).max(64).optional(),
});

export async function relayWake(cfg: WolRelayConfig | undefined, sender: WolSender, args: Record<string, unknown> | undefined): Promise<Record<string, unknown>> {
  if (!cfg || !cfg.allowed) {
    throw new BlackstartError('UNSUPPORTED', 'this agent does not relay Wake-on-LAN (its config has no wol_relay, or allowed: false)');
  }
  const parsed = wakeArgs.safeParse(args ?? {});
  if (!parsed.success) {
    // Messages name the field only: a password value must not come back on the result topic.
    const what = parsed.error.issues.map((i) => (i.code === 'unrecognized_keys' ? `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.join(', ')}` : `${i.path.join('.') || 'args'}: ${i.message}`));
    throw new BlackstartError('BAD_REQUEST', `wake needs args {mac, password?}: ${what.join('; ')}`);
  }
  const { mac, password } = parsed.data;
  const report = await sender.send({
    mac,
    ...(password !== undefined ? { password: parsePassword(password, 'args.password') } : {}),
    address: cfg.address,
    port: cfg.port,
    repeat: cfg.repeat,
    spacingMs: cfg.spacing,
    ...(cfg.interface !== undefined ? { interface: cfg.interface } : {}),
  });
  return { mac: report.mac, address: report.address, port: report.port, sent: report.sent };
}
