/** The one status table: every state a node can show has a dot, and the dots are ones Node-RED draws. */
import { HOST_PHASES, OUTAGE_PHASES, UPS_STATUSES, VM_STATES } from '../../../src/core/state';
import { STATUS_KEYS, statusOf, statusSetter, vmStatusKey } from '../../../nodes/src/lib/status';
import type { RedNode } from '../../../nodes/src/lib/red';

describe('status table', () => {
  it('has an entry for every UPS status, host phase and outage phase', () => {
    for (const key of [...UPS_STATUSES, ...HOST_PHASES, ...OUTAGE_PHASES]) expect(STATUS_KEYS).toContain(key);
  });

  it('gives only fills and shapes Node-RED knows, and appends a detail', () => {
    for (const key of STATUS_KEYS) {
      const s = statusOf(key);
      expect(['red', 'green', 'yellow', 'blue', 'grey']).toContain(s.fill);
      expect(['ring', 'dot']).toContain(s.shape);
    }
    expect(statusOf('on_battery', '87 %')).toEqual({ fill: 'yellow', shape: 'dot', text: 'on battery · 87 %' });
  });

  it('gives every guest state a dot: running green, stopping and paused yellow, off and saved grey, unknown red', () => {
    const fills = Object.fromEntries(VM_STATES.map((s) => [s, statusOf(vmStatusKey(s)).fill]));
    expect(fills).toEqual({ running: 'green', paused: 'yellow', stopping: 'yellow', off: 'grey', saved: 'grey', unknown: 'red' });
    // A guest's unknown is a hypervisor not read, not the grey "no state yet" of a node that has heard nothing.
    expect(statusOf(vmStatusKey('unknown'))).not.toEqual(statusOf('unknown'));
    expect(statusOf(vmStatusKey('stopping')).shape).toBe(statusOf('shutting_down').shape);
  });

  it('a node\'s setter skips a status identical to the last one set, whoever set it', () => {
    const shown: unknown[] = [];
    const node = { status: (s: unknown) => shown.push(s) } as unknown as RedNode;
    const show = statusSetter(node);
    show(statusOf('running'));
    show(statusOf('running'));
    show({ ...statusOf('running') });
    expect(shown).toEqual([statusOf('running')]);
    show(statusOf('running', 'detail'));
    // The link and action helpers get the same setter, so the node's own "last" stays right after theirs.
    statusSetter(node)(statusOf('offline'));
    show(statusOf('offline'));
    show(statusOf('running'));
    expect(shown).toEqual([statusOf('running'), statusOf('running', 'detail'), statusOf('offline'), statusOf('running')]);
    expect(statusSetter(node)).toBe(show);
  });
});
