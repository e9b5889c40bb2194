/** The one status table: every state a node can show has a dot, and the dots are ones Node-RED draws. */
import { HOST_PHASES, OUTAGE_PHASES, UPS_STATUSES } from '../../../src/core/state';
import { STATUS_KEYS, statusOf } from '../../../nodes/src/lib/status';

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
});
