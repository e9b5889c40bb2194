/**
 * Shutting a host down through the `blackstart agent` running on it, and relaying Wake-on-LAN
 * through an agent on the sleeping host's LAN. Both only see the AgentRequester interface, so
 * nothing here knows MQTT.
 */
import type { AgentReply, AgentRequester } from '../../core/agent-link';
import { BlackstartError } from '../../core/errors';
import type { ShutdownMethod, ShutdownOutcome, ShutdownRunOptions } from './method';

/** Long enough for an agent on a busy machine; the agent answers a shutdown before running it. */
export const DEFAULT_AGENT_TIMEOUT_MS = 10_000;

export interface AgentShutdownOptions {
  agentId: string;
  requester: AgentRequester;
  timeoutMs?: number;
}

export class AgentShutdown implements ShutdownMethod {
  readonly kind = 'agent';
  readonly #opts: AgentShutdownOptions;
  readonly #timeoutMs: number;

  constructor(opts: AgentShutdownOptions) {
    this.#opts = opts;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_AGENT_TIMEOUT_MS;
  }

  describe(): string {
    return `agent ${this.#opts.agentId} over MQTT`;
  }

  /**
   * Resolves when the agent accepted the shutdown (it answers before running its method, as its
   * machine may go down mid-way). A dry run only pings the agent: it shows the agent is there
   * and what it would run, and changes nothing.
   */
  async run(opts: ShutdownRunOptions = {}): Promise<ShutdownOutcome> {
    const { agentId, requester } = this.#opts;
    if (opts.signal?.aborted) throw new BlackstartError('CANCELLED', `agent ${agentId}: shutdown cancelled before it was sent`);
    const action = opts.dryRun ? 'ping' : 'shutdown';
    const reply = await requester.request(agentId, { action }, this.#timeoutMs);
    failUnlessOk(agentId, action, reply);
    const step = { name: action, ...(opts.dryRun ? {} : { status: 'accepted' }), tookMs: reply.tookMs };
    const out: ShutdownOutcome = { method: this.kind, dryRun: Boolean(opts.dryRun), steps: [step], tookMs: reply.tookMs };
    if (opts.dryRun) {
      const d = reply.detail ?? {};
      const lines = [`would ask agent ${agentId} to shut its machine down`, `agent answers from ${String(d.host ?? '?')}, runs: ${String(d.shutdown ?? 'no shutdown method')}`];
      if (d.dry_run === true) lines.push('the agent itself is in dry_run: it would only report');
      return { ...out, output: lines.join('\n') };
    }
    return out;
  }
}

export interface RelayedWake {
  mac: string;
  /** SecureOn password, as written (aa:bb:cc:dd or a.b.c.d); it travels to the agent only. */
  password?: string;
}

/** Asks an agent to send the magic packet; where it goes is the agent's own setting. */
export async function relayWake(requester: AgentRequester, agentId: string, target: RelayedWake, timeoutMs = DEFAULT_AGENT_TIMEOUT_MS): Promise<AgentReply> {
  const args: Record<string, unknown> = { mac: target.mac, ...(target.password !== undefined ? { password: target.password } : {}) };
  const reply = await requester.request(agentId, { action: 'wake', args }, timeoutMs);
  failUnlessOk(agentId, 'wake', reply);
  return reply;
}

function failUnlessOk(agentId: string, action: string, reply: AgentReply): void {
  if (reply.ok) return;
  const code = reply.error?.code ?? 'REFUSED';
  throw new BlackstartError(code, `agent ${agentId}: ${action} failed: ${reply.error?.message ?? 'no reason given'}`);
}
