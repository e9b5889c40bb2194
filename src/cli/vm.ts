/**
 * `blackstart vm <host> [<guest> <action>]`: a host's guests as its hypervisor reports them, or one
 * guest action, through the same adapter and hub as the daemon. Only the host's hypervisor is
 * built (no probe, BMC or shutdown method), so nothing else on the host is touched.
 */
import { buildHub } from '../adapters/registry';
import type { Config } from '../config/schema';
import { BlackstartError, exitCodeFor } from '../core/errors';
import type { Hub } from '../core/hub';
import { VM_ACTIONS } from '../core/state';
import { resultPayload, vmPayload } from '../mqtt/payloads';
import { fail, hostConfig, logger } from './host';

export interface VmCliOptions {
  config: string;
  json?: boolean;
  logLevel?: string;
}

export async function vmCommand(host: string, guest: string | undefined, action: string | undefined, o: VmCliOptions, out = process.stdout): Promise<number> {
  let hub: Hub | undefined;
  try {
    if (guest !== undefined && action === undefined) throw new BlackstartError('BAD_REQUEST', `say what to do with ${host}/${guest}: one of ${VM_ACTIONS.join(', ')}`);
    const config = vmConfig(host, o.config);
    hub = buildHub(config, { log: logger(o) });
    await hub.start();
    if (guest === undefined) {
      await firstReading(hub, host);
      return list(hub, host, o, out);
    }
    const r = await hub.executeVm(host, guest, { action: action as string });
    if (o.json) out.write(`${JSON.stringify(resultPayload(r))}\n`);
    else if (r.ok) {
      const d = (r.detail ?? {}) as Record<string, unknown>;
      out.write(d.already !== undefined ? `${action} ${host}/${guest}: nothing to do, it is ${String(d.already)}\n` : `${action} ${host}/${guest}: ${String(d.state)} after ${String(d.took_ms)} ms (read from the hypervisor)\n`);
    }
    if (!r.ok) {
      process.stderr.write(`blackstart: ${r.error?.message ?? 'failed'}\n`);
      return exitCodeFor(new BlackstartError(r.error?.code ?? 'INTERNAL', r.error?.message ?? ''));
    }
    return 0;
  } catch (err) {
    return fail(err);
  } finally {
    await hub?.stop();
  }
}

/**
 * The adapter starts without waiting for the hypervisor; a guest has been read once it has a state
 * or the error that kept it unknown. The read itself is bounded by the hypervisor's timeout.
 */
function firstReading(hub: Hub, host: string): Promise<void> {
  const read = (): boolean => hub.vms(host).every((g) => {
    const st = hub.vm(host, g.id);
    return st !== undefined && (st.state !== 'unknown' || st.lastError !== null);
  });
  if (read()) return Promise.resolve();
  return new Promise((resolve) => {
    const onVm = (h: string): void => {
      if (h !== host || !read()) return;
      hub.off('vm', onVm);
      resolve();
    };
    hub.on('vm', onVm);
  });
}

function list(hub: Hub, host: string, o: VmCliOptions, out: NodeJS.WritableStream): number {
  const guests = hub.vms(host);
  const states = guests.map((g) => ({ info: g, state: hub.vm(host, g.id) as NonNullable<ReturnType<Hub['vm']>> }));
  if (o.json) {
    out.write(`${JSON.stringify({ host, guests: Object.fromEntries(states.map((s) => [s.info.id, vmPayload(s.state, s.info)])) })}\n`);
  } else {
    const width = Math.max(...guests.map((g) => g.id.length));
    for (const { info, state } of states) {
      const name = info.name !== info.id ? `  "${info.name}"` : '';
      out.write(`${`${host}/${info.id.padEnd(width)}  ${state.state.padEnd(8)}${name}${state.lastError ? `  (${state.lastError})` : ''}`.trimEnd()}\n`);
    }
  }
  // Every guest unknown means the hypervisor could not be read: say so in the exit code.
  const unreachable = states.length > 0 && states.every((s) => s.state.state === 'unknown');
  if (unreachable) process.stderr.write(`blackstart: ${states[0]?.state.lastError ?? 'the hypervisor could not be read'}\n`);
  return unreachable ? exitCodeFor(new BlackstartError('UNREACHABLE', '')) : 0;
}

/** The config narrowed to one host's hypervisor: its probe, BMC and shutdown are left out. */
function vmConfig(host: string, file: string): Config {
  const narrowed = hostConfig(host, file);
  const h = narrowed.hosts[host] as Config['hosts'][string];
  if (!h.vms) throw new BlackstartError('UNSUPPORTED', `host "${host}" has no vms block in ${file}`);
  // A simulated host stays: its simulated hypervisor follows its power.
  narrowed.hosts[host] = { ...h, ipmi: undefined, probe: undefined, wol: undefined, shutdown: undefined };
  return narrowed;
}
