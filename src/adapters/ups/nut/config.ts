import { z } from 'zod';
import { filePath, port, sectionWithSecrets } from '../../../config/fields';
import { checkPolling, pollingShape } from '../polling-config';

/** NUT names: variables and instant commands are dotted lowercase words. */
export const NUT_COMMAND = /^[a-z0-9]+([._-][a-z0-9]+)*$/;

export const nutSchema = sectionWithSecrets(
  {
    host: z.string().min(1).default('127.0.0.1'),
    port: port.default(3493),
    /** The UPS name on that server (`upsc -l` lists them). */
    ups: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a NUT UPS name: letters, digits, "_", "-" and "."'),
    username: z.string().min(1).optional(),
    /**
     * `monitor` only reads. `secondary` also sends LOGIN (it then counts in NUMLOGINS, as an upsmon
     * secondary does). `primary` sends LOGIN and PRIMARY (MASTER on older servers), which FSD needs.
     */
    role: z.enum(['monitor', 'secondary', 'primary']).default('monitor'),
    /** `auto` asks for STARTTLS and goes on in plain text when the server has no TLS; `required` refuses that. */
    tls: z.enum(['auto', 'required', 'off']).default('auto'),
    /** CA that signed the server's certificate; without it TLS encrypts but does not authenticate the server. */
    ca_file: filePath().optional(),
    /** Instant commands that may be asked for over MQTT (e.g. `test.battery.start`); `fsd` sets forced shutdown. */
    commands: z.array(z.string().regex(NUT_COMMAND, 'a NUT instant command name such as test.battery.start')).default([]),
    ...pollingShape,
  },
  ['password'],
).superRefine((c, ctx) => {
  checkPolling(c, ctx);
  if ((c.username === undefined) !== (c.password === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['username'], message: 'give both username and a password, or neither' });
  }
  if (c.role !== 'monitor' && !c.username) {
    ctx.addIssue({ code: 'custom', path: ['role'], message: `role ${c.role} logs in to upsd: give username and password_env or password_file` });
  }
  if (c.commands.length > 0 && !c.username) {
    ctx.addIssue({ code: 'custom', path: ['commands'], message: 'instant commands need username and password_env or password_file' });
  }
});

export type NutConfig = z.output<typeof nutSchema>;
