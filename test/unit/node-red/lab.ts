/**
 * What the Node-RED unit tests share: node-red-node-test-helper on the real Node-RED runtime, every
 * blackstart node module, a simulated lab written as YAML to a temp dir (embedded broker on a free
 * loopback port), and waits that name what they waited for.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helper, { type TestNode } from 'node-red-node-test-helper';
import configNode from '../../../nodes/src/config';
import hostNode from '../../../nodes/src/host';
import outageNode from '../../../nodes/src/outage';
import powerNode from '../../../nodes/src/power';
import sensorsNode from '../../../nodes/src/sensors';
import upsNode from '../../../nodes/src/ups';
import vmNode from '../../../nodes/src/vm';
import vmPowerNode from '../../../nodes/src/vm-power';
import wolNode from '../../../nodes/src/wol';
import { freePort } from '../../helpers/ports';

export { helper, type TestNode };

export const ALL_NODES = [configNode, upsNode, hostNode, powerNode, vmNode, vmPowerNode, sensorsNode, wolNode, outageNode] as unknown as ((RED: never) => void)[];

export function initHelper(): void {
  helper.init(require.resolve('node-red'), { logging: { console: { level: 'off' } } });
}

export interface LabOptions {
  /** Extra YAML under `ups.rack.simulated` (e.g. a timeline). */
  upsExtra?: string;
  /** YAML under `outage:` besides the journal. */
  outage?: string;
  /** More hosts (YAML under `hosts:`, indented two spaces), e.g. one with `vms:`. */
  hosts?: string;
}

/** Writes a Blackstart config for a simulated UPS `rack` and hosts `nas` and `db`; returns its path and port. */
export async function writeLab(opts: LabOptions = {}): Promise<{ file: string; port: number; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'bs-nr-'));
  const port = await freePort();
  const file = join(dir, 'blackstart.yaml');
  writeFileSync(
    file,
    `
mqtt: { embedded: { host: 127.0.0.1, port: ${port} } }
log: { level: warn }
outage:
  journal: ${join(dir, 'journal.jsonl')}
${opts.outage ?? ''}
ups:
  rack:
    simulated:
      interval: 100ms
${opts.upsExtra ?? ''}
hosts:
  nas: { simulated: { shutdown_takes: 200ms, wake_takes: 200ms } }
  db: { simulated: { shutdown_takes: 200ms, wake_takes: 200ms } }
${opts.hosts ?? ''}
`,
  );
  return { file, port, dir };
}

export function inProcess(file: string, id = 'cfg'): Record<string, unknown> {
  return { id, type: 'blackstart-config', mode: 'in_process', configFile: file };
}

export async function until<T>(what: string, check: () => T | undefined | false, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Everything a helper node received, in order. */
export function collect(node: TestNode): Record<string, unknown>[] {
  const got: Record<string, unknown>[] = [];
  node.on('input', (msg) => got.push(msg));
  return got;
}

/** Every status a node showed, in order. */
export function statuses(node: TestNode): { fill?: string; shape?: string; text?: string }[] {
  const got: { fill?: string; shape?: string; text?: string }[] = [];
  node.on('call:status', (call) => got.push(call.args[0] as { fill?: string; shape?: string; text?: string }));
  return got;
}

/** Every error a node reported (node.error or done(err)), with the message it went with. */
export function errors(node: TestNode): { err: unknown; msg: unknown }[] {
  const got: { err: unknown; msg: unknown }[] = [];
  node.on('call:error', (call) => got.push({ err: call.args[0], msg: call.args[1] }));
  return got;
}
