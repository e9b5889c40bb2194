import { AgentShutdown, relayWake } from '../../../src/adapters/power/agent';
import type { AgentCommand, AgentReply, AgentRequester } from '../../../src/core/agent-link';
import { AgentLink } from '../../../src/core/agent-link';

class FakeRequester implements AgentRequester {
  readonly sent: { agentId: string; command: AgentCommand; timeoutMs: number }[] = [];
  constructor(private readonly reply: AgentReply) {}
  request(agentId: string, command: AgentCommand, timeoutMs: number): Promise<AgentReply> {
    this.sent.push({ agentId, command, timeoutMs });
    return Promise.resolve(this.reply);
  }
}

describe('AgentShutdown and relayWake', () => {
  it('asks the agent to shut down and reports it accepted', async () => {
    const r = new FakeRequester({ ok: true, tookMs: 3, detail: { accepted: true } });
    const m = new AgentShutdown({ agentId: 'web1', requester: r, timeoutMs: 1234 });
    expect(m.kind).toBe('agent');
    expect(m.describe()).toBe('agent web1 over MQTT');
    const out = await m.run();
    expect(r.sent).toEqual([{ agentId: 'web1', command: { action: 'shutdown' }, timeoutMs: 1234 }]);
    expect(out).toMatchObject({ method: 'agent', dryRun: false, steps: [{ name: 'shutdown', status: 'accepted' }] });
  });

  it('a dry run only pings, and says what the agent would run', async () => {
    const r = new FakeRequester({ ok: true, tookMs: 1, detail: { host: 'web1.lan', shutdown: 'command systemctl poweroff', dry_run: false } });
    const out = await new AgentShutdown({ agentId: 'web1', requester: r }).run({ dryRun: true });
    expect(r.sent[0]?.command).toEqual({ action: 'ping' });
    expect(out.output).toMatch(/web1\.lan, runs: command systemctl poweroff/);
  });

  it('a refusal becomes an error with the agent\'s code', async () => {
    const r = new FakeRequester({ ok: false, tookMs: 0, error: { code: 'UNSUPPORTED', message: 'no shutdown method' } });
    await expect(new AgentShutdown({ agentId: 'web1', requester: r }).run()).rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringMatching(/agent web1: shutdown failed: no shutdown method/) });
    await expect(relayWake(r, 'gw', { mac: 'aa:bb:cc:dd:ee:ff' })).rejects.toMatchObject({ code: 'UNSUPPORTED' });
  });

  it('relayWake sends only the MAC and password', async () => {
    const r = new FakeRequester({ ok: true, tookMs: 1, detail: { sent: 3 } });
    await relayWake(r, 'gw', { mac: '00:1b:21:3a:4c:5d', password: 'aa:bb:cc:dd' });
    expect(r.sent[0]?.command).toEqual({ action: 'wake', args: { mac: '00:1b:21:3a:4c:5d', password: 'aa:bb:cc:dd' } });
  });

  it('an unattached AgentLink refuses as UNREACHABLE', async () => {
    await expect(new AgentShutdown({ agentId: 'web1', requester: new AgentLink() }).run()).rejects.toMatchObject({ code: 'UNREACHABLE' });
  });
});
