/**
 * A host's `vms:` section: the hypervisor that runs on it and the guests Blackstart looks after.
 *
 *   vms:
 *     libvirt: { uri: qemu:///system }          # local virsh; add ssh: {...} for a remote one
 *     guests:
 *       db:  { stop: save, start: if_running_before }
 *       web: { name: "Web Server", stop: shutdown, stop_within: 90s, depends_on: [hv1/db] }
 *
 * A guest's id (its key) is what MQTT topics and `depends_on` use (`<host>/<guest>`); `name` is
 * what the hypervisor calls it, which may hold spaces.
 */
import { z } from 'zod';
import { deviceMap, duration, section } from '../../config/fields';
import { NODE_ID } from '../../core/state';
import { sshShutdownSchema } from '../power/ssh-config';


export const VM_STOP_ACTIONS = ['save', 'shutdown', 'off'] as const;
export const VM_START_POLICIES = ['none', 'if_running_before', 'always'] as const;

/** The hypervisor's commands are Blackstart's own, so the ssh block only says how to log in. */
const hypervisorSsh = sshShutdownSchema.superRefine((s, ctx) => {
  if (s.command !== undefined) ctx.addIssue({ code: 'custom', path: ['command'], message: "the hypervisor's commands are Blackstart's own: drop command" });
  if (s.os !== undefined) ctx.addIssue({ code: 'custom', path: ['os'], message: "os picks a shutdown command, which a hypervisor's ssh block does not run: drop it" });
});

export const libvirtSchema = section({
  /** The libvirt connection virsh opens on the hypervisor: `qemu:///system`, `xen:///system`, `test:///default`. */
  uri: z.string().regex(/^[a-z][a-z0-9+]*:\/\/[^\s']*$/, "a libvirt URI such as qemu:///system (no spaces or quotes)").default('qemu:///system'),
  /** Absent: virsh runs on this machine. */
  ssh: hypervisorSsh.optional(),
  /** The virsh program. */
  virsh: z.string().regex(/^[^\s'"]+$/, 'a program path without spaces or quotes').default('virsh'),
  /** Longest a single virsh command may take (a save of a big guest takes a while). */
  timeout: duration({ min: 1000 }).prefault('5m'),
  /**
   * virsh sessions side by side: `managedsave` holds its session until the image is written, so
   * guests saved in one wave need a session each to be saved in parallel. A `test:` URI always
   * gets one, because the test driver's guests live inside one virsh process.
   */
  sessions: z.number().int().min(1).max(16).default(4),
});

export const xenSchema = section({
  /** Absent: xl runs on this machine (the Blackstart host is dom0). */
  ssh: hypervisorSsh.optional(),
  /** Where `save` writes `<name>.save`, and where `start` looks for one to restore. */
  save_dir: z.string().regex(/^\/[^\s'"]*$/, 'an absolute path without spaces or quotes').default('/var/lib/xen/save'),
  xl: z.string().regex(/^[^\s'"]+$/, 'a program path without spaces or quotes').default('xl'),
  timeout: duration({ min: 1000 }).prefault('5m'),
});

export const hypervSchema = section({
  /** Hyper-V is driven through PowerShell over Windows' OpenSSH server. */
  ssh: hypervisorSsh,
  timeout: duration({ min: 1000 }).prefault('5m'),
});

/** For `npm start`, tests and `blackstart simulate`: guests that stop and start in set times. */
export const simulatedGuestSchema = section({
  running: z.boolean().default(true),
  /** How long its stop takes; absent: the guest's stop_takes. */
  stop_takes: duration().optional(),
  start_takes: duration().prefault('5s'),
  /** Accepts a graceful shutdown and never goes down (only `off` works). */
  ignores_shutdown: z.boolean().default(false),
});

export const vmGuestSchema = section({
  /** The guest's name on the hypervisor; absent: its id. */
  name: z.string().min(1).max(200).optional(),
  /** What an outage does to it: save its memory, shut its OS down, or cut it off. */
  stop: z.enum(VM_STOP_ACTIONS, { error: `stop is one of ${VM_STOP_ACTIONS.join(', ')}` }).default('shutdown'),
  /** Expected time from the stop command until it is off or saved, for the plan. Absent: measured, else 30s. */
  stop_takes: duration({ min: 0 }).optional(),
  /** When the stop has not finished by then, the guest is turned off (`off`). */
  stop_within: duration({ min: 1000 }).prefault('2m'),
  /** After a restore: never, only when it ran before the outage, or always. */
  start: z.enum(VM_START_POLICIES, { error: `start is one of ${VM_START_POLICIES.join(', ')}` }).default('if_running_before'),
  /** Longest wait for it to read running after `start`. */
  start_within: duration({ min: 1000 }).prefault('2m'),
  /** Other hosts or guests (`<host>/<guest>`) it needs; its own host is always implied. */
  depends_on: z.array(z.string().regex(NODE_ID, 'a host id or <host>/<guest>')).default([]),
  /** Xen: the domain's config file for `xl create` (a saved image is restored first when there is one). */
  config: z.string().regex(/^\/[^'"]*$/, 'an absolute path without quotes').optional(),
  simulated: simulatedGuestSchema.optional(),
});

export const vmsSchema = section({
  libvirt: libvirtSchema.optional(),
  xen: xenSchema.optional(),
  hyperv: hypervSchema.optional(),
  /** For the demo, tests and `blackstart simulate`; `answers: false` models a hypervisor that cannot be reached. */
  simulated: section({ answers: z.boolean().default(true) }).optional(),
  /** How often guests' states are read; faster while a guest is stopping or starting. */
  poll_every: duration({ min: 500 }).prefault('15s'),
  guests: deviceMap(vmGuestSchema).refine((g) => Object.keys(g).length > 0, 'name at least one guest'),
}).superRefine((v, ctx) => {
  const kinds = (['libvirt', 'xen', 'hyperv', 'simulated'] as const).filter((k) => v[k] !== undefined);
  if (kinds.length !== 1) {
    ctx.addIssue({ code: 'custom', message: kinds.length === 0 ? 'needs a hypervisor: one of libvirt, xen, hyperv, simulated' : `give only one hypervisor (got ${kinds.join(', ')})` });
  }
  const names = new Map<string, string>();
  for (const [id, g] of Object.entries(v.guests)) {
    const name = g.name ?? id;
    const other = names.get(name);
    if (other !== undefined) ctx.addIssue({ code: 'custom', path: ['guests', id, 'name'], message: `guest "${other}" already names "${name}" on this hypervisor` });
    names.set(name, id);
    if (g.simulated && !v.simulated) ctx.addIssue({ code: 'custom', path: ['guests', id, 'simulated'], message: 'simulated guests live on a simulated hypervisor: add simulated: {} beside guests' });
    if (v.xen && g.start !== 'none' && g.config === undefined && g.stop !== 'save') {
      ctx.addIssue({ code: 'custom', path: ['guests', id, 'config'], message: 'xl create needs the domain config file to start this guest again: give config (or start: none)' });
    }
    if (g.stopTakes !== undefined && g.stopTakes > g.stopWithin) {
      ctx.addIssue({ code: 'custom', path: ['guests', id, 'stop_within'], message: 'must not be shorter than stop_takes, or every stop would be forced' });
    }
    if (!v.xen && g.config !== undefined) ctx.addIssue({ code: 'custom', path: ['guests', id, 'config'], message: 'config is the Xen domain file; this hypervisor is not xen' });
  }
});

export type VmsConfig = z.output<typeof vmsSchema>;
export type VmGuestConfig = VmsConfig['guests'][string];
export type LibvirtConfig = z.output<typeof libvirtSchema>;
export type XenConfig = z.output<typeof xenSchema>;
export type HypervConfig = z.output<typeof hypervSchema>;
export type VmStopAction = (typeof VM_STOP_ACTIONS)[number];
/** Used when a guest gives no `stop_takes` and nothing has been measured yet. */
export const DEFAULT_VM_STOP_TAKES_MS = 30_000;
