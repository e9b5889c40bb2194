import { derivePhase, lastErrorAfter, settledPhase, shutdownProof } from '../../../src/core/host-phase';
import { initialHostState, type HostState } from '../../../src/core/state';

const state = (patch: Partial<HostState>): HostState => ({ ...initialHostState(0), ...patch });

describe('host phase: one rule for every adapter', () => {
  it('power off is down, whatever a probe says', () => {
    expect(derivePhase(state({ phase: 'running', reachable: true }), { power: 'off' })).toBe('down');
    expect(derivePhase(state({ phase: 'running', power: 'off' }), { reachable: true })).toBe('down');
  });

  it('answers mean running; silence means unreachable while powered, down after being down', () => {
    expect(derivePhase(state({ phase: 'unreachable' }), { reachable: true })).toBe('running');
    expect(derivePhase(state({ phase: 'running', power: 'on' }), { reachable: false })).toBe('unreachable');
    expect(derivePhase(state({ phase: 'down', power: 'unknown' }), { reachable: false })).toBe('down');
    expect(derivePhase(state({ phase: 'down', power: 'on' }), { reachable: false })).toBe('unreachable');
  });

  it('a shutdown in progress ends when power reads off, or, without a BMC, when the host stops answering', () => {
    expect(derivePhase(state({ phase: 'shutting_down', power: 'on', reachable: true }), { reachable: false })).toBe('shutting_down');
    expect(derivePhase(state({ phase: 'shutting_down', power: 'on' }), { power: 'off' })).toBe('down');
    expect(derivePhase(state({ phase: 'shutting_down', power: 'unknown', reachable: true }), { reachable: false })).toBe('down');
    expect(derivePhase(state({ phase: 'shutting_down', reachable: true }), { reachable: true })).toBe('shutting_down');
  });

  it('waking lasts until the host answers', () => {
    expect(derivePhase(state({ phase: 'waking' }), { power: 'on' })).toBe('waking');
    expect(derivePhase(state({ phase: 'waking', reachable: false }), { reachable: true })).toBe('running');
  });

  it('with no probe, power on is running and unknown power keeps the phase', () => {
    expect(derivePhase(state({ phase: 'down', reachable: null }), { power: 'on' })).toBe('running');
    expect(derivePhase(state({ phase: 'down', reachable: null }), { power: 'unknown' })).toBe('down');
  });

  it('settles a transition that was given up on by what is known', () => {
    expect(settledPhase(state({ phase: 'shutting_down', power: 'on', reachable: true }))).toBe('running');
    expect(settledPhase(state({ phase: 'waking', power: 'off' }))).toBe('down');
    expect(settledPhase(state({ phase: 'waking', reachable: false, power: 'unknown' }))).toBe('unreachable');
  });
});

describe('last_error shared by a host adapters', () => {
  it('each adapter clears only the error it wrote', () => {
    expect(lastErrorAfter('BMC: no answer', 'probe', null)).toBe('BMC: no answer');
    expect(lastErrorAfter('BMC: no answer', 'bmc', null)).toBeNull();
    expect(lastErrorAfter('tcp 10.0.0.5:22: refused', 'bmc', null)).toBe('tcp 10.0.0.5:22: refused');
    expect(lastErrorAfter('tcp 10.0.0.5:22: refused', 'probe', null)).toBeNull();
    expect(lastErrorAfter(null, 'probe', 'tcp 10.0.0.5:22: timeout')).toBe('tcp 10.0.0.5:22: timeout');
    expect(lastErrorAfter('tcp 10.0.0.5:22: refused', 'bmc', 'BMC: wrong password')).toBe('BMC: wrong password');
  });
});

describe('shutdownProof', () => {
  const base = { reachable: true, latencyMs: 1, power: 'on' as const, phase: 'running' as const, since: 0, lastError: null };
  it('power off is proof by the BMC; silence is proof only while no BMC reads on', () => {
    expect(shutdownProof({ ...base, power: 'off', phase: 'down' })).toBe('ipmi');
    expect(shutdownProof({ ...base, power: 'unknown', reachable: false, phase: 'unreachable' })).toBe('probe');
    expect(shutdownProof({ ...base, power: 'unknown', reachable: null, phase: 'down' })).toBe('probe');
    expect(shutdownProof({ ...base, power: 'on', reachable: false, phase: 'unreachable' })).toBeUndefined();
    expect(shutdownProof({ ...base, power: 'unknown', reachable: null, phase: 'unreachable' })).toBeUndefined();
    expect(shutdownProof(base)).toBeUndefined();
  });
});
