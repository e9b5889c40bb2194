import { createTopics, isPublishableTopic } from '../../../src/mqtt/topics';

describe('topics', () => {
  const t = createTopics('blackstart');

  it('builds the contract topics', () => {
    expect(t.bridgeState).toBe('blackstart/bridge/state');
    expect(t.ups('main')).toBe('blackstart/ups/main');
    expect(t.host('nas')).toBe('blackstart/host/nas');
    expect(t.hostSensors('nas')).toBe('blackstart/host/nas/sensors');
    expect(t.set({ kind: 'host', id: 'nas' })).toBe('blackstart/host/nas/set');
    expect(t.result({ kind: 'host', id: 'nas' })).toBe('blackstart/host/nas/result');
    expect(t.result({ kind: 'ups', id: 'main' })).toBe('blackstart/ups/main/result');
    expect(t.outage).toBe('blackstart/outage');
    expect(t.event).toBe('blackstart/event');
    expect(t.outageSet).toBe('blackstart/outage/set');
    expect(t.outageResult).toBe('blackstart/outage/result');
    expect(t.commandFilters).toEqual(['blackstart/host/+/set', 'blackstart/ups/+/set', 'blackstart/host/+/vm/+/set', 'blackstart/outage/set']);
  });

  it("builds and parses a guest's topics under its host", () => {
    expect(t.vm('hv1', 'web')).toBe('blackstart/host/hv1/vm/web');
    expect(t.vmSet('hv1', 'web')).toBe('blackstart/host/hv1/vm/web/set');
    expect(t.vmResult('hv1', 'web')).toBe('blackstart/host/hv1/vm/web/result');
    expect(t.parse(t.vm('hv1', 'web'))).toEqual({ type: 'vm-state', host: 'hv1', vm: 'web' });
    expect(t.parse(t.vmSet('hv1', 'web'))).toEqual({ type: 'vm-command', host: 'hv1', vm: 'web' });
    expect(t.parse(t.vmResult('hv1', 'web'))).toEqual({ type: 'vm-result', host: 'hv1', vm: 'web' });
    // A guest's command topic matches the bridge's guest filter and no host filter.
    for (const bad of ['blackstart/host/hv1/vm', 'blackstart/host/hv1/vm/web/set/x', 'blackstart/host/hv1/vm/Web/set', 'blackstart/host/hv1/vms/web/set', 'blackstart/host/+/vm/web/set']) {
      expect([bad, t.parse(bad)]).toEqual([bad, null]);
    }
    expect(() => t.vm('hv1', 'Bad Name')).toThrow('invalid guest id "Bad Name"');
    expect(() => t.vmSet('h/1', 'web')).toThrow('invalid host id');
  });

  it('parses what it builds, and nothing else', () => {
    expect(t.parse(t.set({ kind: 'host', id: 'web-1' }))).toEqual({ type: 'command', device: { kind: 'host', id: 'web-1' } });
    expect(t.parse(t.set({ kind: 'ups', id: 'main' }))).toEqual({ type: 'command', device: { kind: 'ups', id: 'main' } });
    expect(t.parse(t.outageSet)).toEqual({ type: 'outage-command' });
    expect(t.parse('blackstart/outage')).toEqual({ type: 'outage' });
    expect(t.parse('blackstart/outage/result')).toEqual({ type: 'outage-result' });
    expect(t.parse('blackstart/event')).toEqual({ type: 'event' });
    expect(t.parse('blackstart/event/x')).toBeNull();
    for (const other of ['other/host/nas/set', 'blackstart/vm/x/set', 'blackstart/host/nas/set/extra', 'blackstartx/host/nas/set']) {
      expect(t.parse(other)).toBeNull();
    }
  });

  it('parses the state topics a remote client reads', () => {
    expect(t.remoteFilters).toEqual([
      'blackstart/bridge/state',
      'blackstart/ups/+',
      'blackstart/host/+',
      'blackstart/host/+/sensors',
      'blackstart/host/+/result',
      'blackstart/host/+/vm/+',
      'blackstart/host/+/vm/+/result',
      'blackstart/outage',
      'blackstart/outage/result',
      'blackstart/event',
    ]);
    expect(t.parse(t.bridgeState)).toEqual({ type: 'bridge-state' });
    expect(t.parse(t.ups('main'))).toEqual({ type: 'state', device: { kind: 'ups', id: 'main' } });
    expect(t.parse(t.host('nas'))).toEqual({ type: 'state', device: { kind: 'host', id: 'nas' } });
    expect(t.parse(t.hostSensors('nas'))).toEqual({ type: 'sensors', host: 'nas' });
    expect(t.parse(t.result({ kind: 'host', id: 'nas' }))).toEqual({ type: 'result', device: { kind: 'host', id: 'nas' } });
    for (const other of ['blackstart/host/NAS', 'blackstart/ups/main/sensors', 'blackstart/bridge', 'blackstart/host/nas/other']) {
      expect(t.parse(other)).toBeNull();
    }
  });

  it('builds and parses the agent topics', () => {
    expect(t.agentState('web1')).toBe('blackstart/agent/web1');
    expect(t.agentSet('web1')).toBe('blackstart/agent/web1/set');
    expect(t.agentResult('web1')).toBe('blackstart/agent/web1/result');
    expect(t.agentFilters).toEqual(['blackstart/agent/+', 'blackstart/agent/+/result']);
    expect(t.parse('blackstart/agent/web1')).toEqual({ type: 'agent-state', agent: 'web1' });
    expect(t.parse('blackstart/agent/web1/set')).toEqual({ type: 'agent-command', agent: 'web1' });
    expect(t.parse('blackstart/agent/web1/result')).toEqual({ type: 'agent-result', agent: 'web1' });
    for (const other of ['blackstart/agent', 'blackstart/agent/Web1', 'blackstart/agent/web1/other', 'blackstart/agent/web1/set/x']) {
      expect(t.parse(other)).toBeNull();
    }
    expect(() => t.agentSet('+')).toThrow(/invalid agent id/);
  });

  it('works under a nested base topic', () => {
    const n = createTopics('site/lab');
    expect(n.set({ kind: 'host', id: 'nas' })).toBe('site/lab/host/nas/set');
    expect(n.parse('site/lab/host/nas/set')).toEqual({ type: 'command', device: { kind: 'host', id: 'nas' } });
  });

  it('refuses ids and bases that would break topic structure', () => {
    expect(() => t.host('a/b')).toThrow(/invalid host id/);
    expect(() => t.host('+')).toThrow();
    expect(() => t.ups('#')).toThrow();
    expect(() => createTopics('a/#')).toThrow(/invalid MQTT base topic/);
    expect(() => createTopics('/lead')).toThrow();
  });

  it('only plain topics are acceptable response topics', () => {
    expect(isPublishableTopic('replies/abc')).toBe(true);
    expect(isPublishableTopic('replies/+')).toBe(false);
    expect(isPublishableTopic('#')).toBe(false);
    expect(isPublishableTopic('')).toBe(false);
  });
});
