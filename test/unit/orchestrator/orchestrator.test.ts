import { startLab, type Lab } from '../../helpers/sim-lab';

const LAB = `
outage:
  reserve: 1m
  trigger: { on_battery_after: 30s }
  restore: { mains_stable_for: 10s, charge_at_least: 0, boot_within: 2m }
ups:
  rack:
    simulated:
      runtime_at_full: 30m
      discharge_per_min: 3
      timeline:
        - { at: 10s, mains: "off" }
        - { at: 300s, mains: "on" }
hosts:
  gateway:
    simulated: { shutdown_takes: 3s, wake_takes: 8s }
  nas:
    simulated: { shutdown_takes: 12s, wake_takes: 40s }
    outage: { depends_on: [gateway] }
  mail:
    simulated: { shutdown_takes: 6s, wake_takes: 25s }
    outage: { depends_on: [nas] }
`;

describe('orchestrator on a virtual clock', () => {
  let lab: Lab;
  afterEach(async () => lab?.stop());

  it('shuts down in dependency order after the trigger, then restores in reverse order', async () => {
    lab = await startLab(LAB);
    await lab.advance(35);
    expect(lab.orchestrator.state.phase).toBe('on_battery');
    expect(lab.sent('shutdown')).toEqual([]);
    await lab.advance(10);
    expect(lab.orchestrator.state.phase).toBe('shutting_down');
    await lab.advance(60);
    expect(lab.sent('shutdown')).toEqual(['mail', 'nas', 'gateway']);
    expect(lab.orchestrator.state.phase).toBe('down');
    await lab.advance(300);
    expect(lab.sent('power_on')).toEqual(['gateway', 'nas', 'mail']);
    expect(lab.orchestrator.state.phase).toBe('normal');
    expect(lab.eventTypes()).toEqual(expect.arrayContaining(['shutdown_started', 'shutdown_finished', 'restore_started', 'restore_finished']));
    const kinds = lab.journal.records.map((r) => r.kind);
    expect(kinds[0]).toBe('outage_started');
    expect(kinds[kinds.length - 1]).toBe('outage_ended');
  });
});
