import { isIP } from 'node:net';
import { z } from 'zod';
import { duration, port, sectionWithSecrets } from '../../config/fields';
import { BlackstartError } from '../../core/errors';
import { DEVICE_ID } from '../../core/state';
import { formatMac, parseMac, parsePassword } from './wol-codec';

/** An error message from the codec, for a zod issue. */
function problem(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof BlackstartError ? err.message : String(err);
  }
}

/** The default destination: the limited broadcast, which leaves only on the interface the OS picks. */
export const LIMITED_BROADCAST = '255.255.255.255';

export const wolSchema = sectionWithSecrets(
  {
    /** The sleeping card's MAC, in any common form; kept as aa:bb:cc:dd:ee:ff. */
    mac: z.string().transform((text, ctx) => {
      const why = problem(() => parseMac(text));
      if (why) {
        ctx.addIssue({ code: 'custom', message: why });
        return z.NEVER;
      }
      return formatMac(parseMac(text));
    }),
    /**
     * Where the packets go. Give the directed broadcast of the host's subnet (192.168.1.255 for
     * 192.168.1.0/24); 255.255.255.255 leaves only on the interface the OS picks.
     */
    address: z.string().refine((a) => isIP(a) !== 0, "an IP address (usually the subnet's directed broadcast)").default(LIMITED_BROADCAST),
    /** 9 (discard) is the common choice; 7 (echo) is the other one cards listen on. */
    port: port.default(9),
    repeat: z.number().int().min(1).max(20).default(3),
    spacing: duration({ min: 0, max: 10_000 }).prefault('100ms'),
    /** Local address to send from, which picks the interface on a multi-homed machine. */
    source_address: z.string().refine((a) => isIP(a) !== 0, 'an IP address of this machine').optional(),
    /** Interface to send from (its first address is used); the alternative to source_address. */
    interface: z.string().min(1).optional(),
    /** An agent on the sleeping host's LAN that sends the packet instead (routers drop broadcasts). */
    relay: z.string().regex(DEVICE_ID, 'an agent id: lowercase letters, digits, "_" and "-"').optional(),
  },
  ['password'],
).superRefine((c, ctx) => {
  if (c.sourceAddress && c.interface) {
    ctx.addIssue({ code: 'custom', path: ['interface'], message: 'give source_address or interface, not both' });
  }
  if (c.password?.source.from === 'inline') {
    const why = problem(() => parsePassword((c.password?.source as { value: string }).value, 'password'));
    if (why) ctx.addIssue({ code: 'custom', path: ['password'], message: why });
  }
});

export type WolConfig = z.output<typeof wolSchema>;
