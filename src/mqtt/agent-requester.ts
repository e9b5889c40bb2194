/**
 * The hub's way to `blackstart agent`s: a command on the agent's `/set` with a fresh id, the
 * answer matched by that id on its `/result`. The agents' retained availability is followed so
 * that a request to an agent known to be offline fails at once instead of after its timeout.
 */
import { randomUUID } from 'node:crypto';
import type { AgentCommand, AgentReply, AgentRequester } from '../core/agent-link';
import { systemClock, type Clock, type TimerHandle } from '../core/clock';
import { BlackstartError, toBlackstartError } from '../core/errors';
import type { Logger } from '../core/logger';
import { DEVICE_ID } from '../core/state';
import type { IncomingMessage, MqttConnection } from './connection';
import { encode, parseAgentResult } from './payloads';
import type { Topics } from './topics';

interface Pending {
  agentId: string;
  action: string;
  resolve: (reply: AgentReply) => void;
  reject: (err: BlackstartError) => void;
  timer: TimerHandle;
}

export class MqttAgentRequester implements AgentRequester {
  private readonly pending = new Map<string, Pending>();
  private readonly availability = new Map<string, string>();
  private readonly clock: Clock;

  constructor(
    private readonly connection: MqttConnection,
    private readonly topics: Topics,
    private readonly opts: { log: Logger; clock?: Clock },
  ) {
    this.clock = opts.clock ?? systemClock;
    connection.subscribe(topics.agentFilters);
    connection.onMessage((m) => this.onMessage(m));
  }

  /** `online`, `offline`, or undefined when the agent has never been heard of. */
  availabilityOf(agentId: string): string | undefined {
    return this.availability.get(agentId);
  }

  request(agentId: string, command: AgentCommand, timeoutMs: number): Promise<AgentReply> {
    if (!DEVICE_ID.test(agentId)) return Promise.reject(new BlackstartError('BAD_REQUEST', `"${agentId}" is not a valid agent id`));
    const where = this.topics.agentState(agentId);
    if (this.availability.get(agentId) === 'offline') {
      return Promise.reject(new BlackstartError('UNREACHABLE', `agent "${agentId}" is offline (${where} says so)`));
    }
    if (!this.connection.connected) {
      return Promise.reject(new BlackstartError('UNREACHABLE', `agent "${agentId}": the hub is not connected to the MQTT broker`));
    }
    const id = `hub-${randomUUID()}`;
    return new Promise<AgentReply>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.pending.delete(id);
        const seen = this.availability.get(agentId);
        reject(
          new BlackstartError(
            'TIMEOUT',
            `agent "${agentId}" did not answer ${command.action} within ${timeoutMs} ms${seen === undefined ? ` (it has never announced itself on ${where})` : ''}`,
          ),
        );
      }, timeoutMs);
      this.pending.set(id, { agentId, action: command.action, resolve, reject, timer });
      this.opts.log.info({ agent: agentId, action: command.action, id }, 'command sent to agent');
      const body = encode({ action: command.action, id, ...(command.args ? { args: command.args } : {}) });
      void this.connection.publish(this.topics.agentSet(agentId), body, { qos: 1 });
    });
  }

  private onMessage(m: IncomingMessage): void {
    const parsed = this.topics.parse(m.topic);
    if (parsed?.type === 'agent-state') {
      const state = m.payload.toString('utf8').trim();
      if (this.availability.get(parsed.agent) !== state) this.opts.log.info({ agent: parsed.agent, state }, 'agent availability');
      this.availability.set(parsed.agent, state);
      if (state === 'offline') this.failPending(parsed.agent);
    } else if (parsed?.type === 'agent-result') {
      let result;
      try {
        result = parseAgentResult(m.payload);
      } catch (err) {
        this.opts.log.warn({ agent: parsed.agent, err: toBlackstartError(err).message }, 'unreadable agent result ignored');
        return;
      }
      const p = result.id !== null ? this.pending.get(result.id) : undefined;
      // A result from another agent's topic cannot answer this request, whatever id it carries.
      if (!p || p.agentId !== parsed.agent || result.id === null) return;
      this.pending.delete(result.id);
      this.clock.clearTimeout(p.timer);
      const reply: AgentReply = { ok: result.ok, tookMs: result.tookMs };
      if (result.error) reply.error = result.error;
      if (result.detail) reply.detail = result.detail;
      p.resolve(reply);
    }
  }

  /** An agent that went offline will not answer what it was asked. */
  private failPending(agentId: string): void {
    for (const [id, p] of this.pending) {
      if (p.agentId !== agentId) continue;
      this.pending.delete(id);
      this.clock.clearTimeout(p.timer);
      p.reject(new BlackstartError('UNREACHABLE', `agent "${agentId}" went offline before answering ${p.action}`));
    }
  }
}
