/**
 * How the hub asks a `blackstart agent` on another machine to act (shut itself down, relay a
 * Wake-on-LAN packet). Adapters get this interface; the MQTT side implements it, so no adapter
 * imports MQTT.
 */
import { BlackstartError, type ErrorCode } from './errors';

export interface AgentCommand {
  action: string;
  args?: Record<string, unknown>;
}

export interface AgentReply {
  ok: boolean;
  error?: { code: ErrorCode; message: string };
  /** Action-specific detail from the agent (e.g. a shutdown outcome). */
  detail?: Record<string, unknown>;
  tookMs: number;
}

export interface AgentRequester {
  /** Sends a command to the agent and resolves with its reply; rejects TIMEOUT when none comes in time. */
  request(agentId: string, command: AgentCommand, timeoutMs: number): Promise<AgentReply>;
}

/**
 * The adapters are built before the MQTT side exists; this stands in until it is attached,
 * and refuses clearly when it never is (e.g. the CLI without a broker).
 */
export class AgentLink implements AgentRequester {
  private target: AgentRequester | undefined;

  attach(target: AgentRequester | undefined): void {
    this.target = target;
  }

  request(agentId: string, command: AgentCommand, timeoutMs: number): Promise<AgentReply> {
    if (!this.target) {
      return Promise.reject(new BlackstartError('UNREACHABLE', `agent "${agentId}": no MQTT connection to reach agents through`));
    }
    return this.target.request(agentId, command, timeoutMs);
  }
}
