/**
 * `blackstart agent`: runs on a server the hub does not reach otherwise. It says it is there
 * (retained `online`, last will `offline`), shuts this machine down when the hub asks on the
 * agent's own topic, optionally follows a UPS by itself, and relays Wake-on-LAN.
 *
 * A real shutdown is answered before it runs (`detail.accepted`): the machine going down may
 * end this process before a later answer leaves. If the process is still alive afterwards, a
 * second result with the same id and `detail.done` tells how the method ended.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { createCommandShutdown } from '../adapters/power/command-config';
import type { ShutdownMethod } from '../adapters/power/method';
import { WolSender } from '../adapters/power/wol';
import { systemClock, type Clock } from '../core/clock';
import { BlackstartError, toBlackstartError } from '../core/errors';
import type { Logger } from '../core/logger';
import { MqttConnection, type IncomingMessage } from '../mqtt/connection';
import { agentResultPayload, CommandParseError, encode, parseCommand, type AgentResult } from '../mqtt/payloads';
import { createTopics, type Topics } from '../mqtt/topics';
import type { AgentConfig } from './config';
import { UpsFollower } from './follow-ups';
import { relayWake } from './relay';

export const AGENT_ACTIONS = ['ping', 'shutdown', 'wake'] as const;

export interface AgentDeps {
  log: Logger;
  clock?: Clock;
  /** Replaces the method built from `shutdown:` (tests). */
  method?: ShutdownMethod;
  wol?: WolSender;
  version?: string;
}

/** How long a real shutdown waits for the broker to take its `accepted` answer before going ahead anyway. */
const ACCEPT_WAIT_MS = 2000;

export class Agent {
  readonly topics: Topics;
  readonly connection: MqttConnection;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly method: ShutdownMethod | undefined;
  private readonly wol: WolSender;
  private readonly follower: UpsFollower | undefined;
  /** When the one real shutdown of this lifetime started; cleared if the method failed, so it can be retried. */
  private shutdownSince: number | undefined;
  private firstConnect: Promise<void>;
  private resolveFirst!: () => void;

  constructor(
    readonly config: AgentConfig,
    private readonly deps: AgentDeps,
  ) {
    this.log = deps.log;
    this.clock = deps.clock ?? systemClock;
    this.topics = createTopics(config.mqtt.baseTopic);
    this.firstConnect = new Promise((resolve) => (this.resolveFirst = resolve));
    this.method = deps.method ?? (config.shutdown ? createCommandShutdown(config.shutdown.command, { log: this.log.child({ part: 'shutdown' }) }) : undefined);
    this.wol = deps.wol ?? new WolSender({ clock: this.clock });
    if (config.followUps) {
      const ups = config.followUps.ups;
      this.follower = new UpsFollower(config.followUps, this.clock, this.log.child({ part: 'follow_ups' }), (reason) => {
        this.shutdown(null, `follow_ups: ${reason}`, { waitForAccept: false }).catch((err: unknown) => {
          this.log.error({ ups, err: toBlackstartError(err).message }, 'follow_ups could not shut this machine down');
        });
      });
    }
    const m = config.mqtt;
    this.connection = new MqttConnection({
      url: m.url,
      protocolVersion: m.protocolVersion,
      reconnectMinMs: m.reconnectMin,
      reconnectMaxMs: m.reconnectMax,
      log: this.log.child({ part: 'mqtt' }),
      clientIdPrefix: `blackstart-agent-${config.id}`,
      will: { topic: this.topics.agentState(config.id), payload: 'offline' },
      ...(m.username !== undefined ? { username: m.username } : {}),
      ...(m.password !== undefined ? { password: m.password.secret } : {}),
      ...(m.caFile ? { ca: readFileSync(m.caFile.path) } : {}),
      ...(m.clientId !== undefined ? { clientId: m.clientId } : {}),
    });
    // Its own command topic and the followed UPS: nothing else reaches this agent.
    this.connection.subscribe([this.topics.agentSet(config.id), ...(config.followUps ? [this.topics.ups(config.followUps.ups)] : [])]);
    this.connection.onConnect(() => {
      void this.connection.publish(this.topics.agentState(config.id), 'online', { retain: true, qos: 1 });
      this.resolveFirst();
    });
    this.connection.onMessage((msg) => this.onMessage(msg));
  }

  start(): void {
    const c = this.config;
    this.log.info(
      {
        id: c.id,
        url: c.mqtt.url,
        shutdown: this.method?.describe() ?? null,
        dryRun: c.dryRun,
        followUps: c.followUps ? { ups: c.followUps.ups, afterMs: c.followUps.after, onLowBattery: c.followUps.onLowBattery } : null,
        wolRelay: c.wolRelay?.allowed ? `${c.wolRelay.address}:${c.wolRelay.port}` : null,
      },
      'agent starting',
    );
    this.connection.start();
  }

  /** Resolves once connected and `online` is on its way. */
  ready(): Promise<void> {
    return this.firstConnect;
  }

  async stop(): Promise<void> {
    this.follower?.stop();
    await this.connection.stop({ topic: this.topics.agentState(this.config.id), payload: 'offline' });
  }

  private onMessage(m: IncomingMessage): void {
    const id = this.config.id;
    if (m.topic === this.topics.agentSet(id)) {
      if (m.retain) {
        // A retained command would run again at every start of the agent: a machine that never stays up.
        this.log.warn({ topic: m.topic }, 'ignored a retained command: publish commands without the retain flag');
        return;
      }
      void this.handleCommand(m.payload).catch((err: unknown) => {
        this.log.error({ err: toBlackstartError(err).message }, 'command handling failed');
      });
      return;
    }
    if (this.follower && this.config.followUps && m.topic === this.topics.ups(this.config.followUps.ups)) {
      this.follower.update(m.payload);
      return;
    }
    // Only reachable if the broker delivers what was not subscribed; never acted on.
    this.log.warn({ topic: m.topic }, 'ignored a message on a topic this agent does not take commands from');
  }

  private async handleCommand(payload: Buffer): Promise<void> {
    const started = performance.now();
    let cmd;
    try {
      cmd = parseCommand(payload);
    } catch (err) {
      const e = toBlackstartError(err);
      const partial = err instanceof CommandParseError ? err.partial : { action: null, id: null };
      this.log.warn({ err: e.message }, 'command rejected');
      await this.reply({ id: partial.id, action: partial.action, ok: false, error: e.toJSON(), tookMs: 0 });
      return;
    }
    const { action, id, args } = cmd;
    this.log.info({ action, id }, 'command received');
    const fail = (err: unknown): Promise<void> => {
      const e = toBlackstartError(err);
      this.log.warn({ action, id, code: e.code, err: e.message }, 'command failed');
      return this.reply({ id, action, ok: false, error: e.toJSON(), tookMs: Math.round(performance.now() - started) });
    };
    try {
      switch (action) {
        case 'ping':
          noArgs(action, args);
          await this.reply({ id, action, ok: true, tookMs: 0, detail: this.describeSelf() });
          return;
        case 'shutdown':
          noArgs(action, args);
          await this.shutdown(id, 'command from the hub', { waitForAccept: true });
          return;
        case 'wake': {
          const detail = await relayWake(this.config.wolRelay, this.wol, args);
          this.log.info({ id, mac: detail.mac, address: detail.address, port: detail.port }, 'Wake-on-LAN relayed');
          await this.reply({ id, action, ok: true, tookMs: Math.round(performance.now() - started), detail });
          return;
        }
        default:
          throw new BlackstartError('BAD_REQUEST', `agent ${this.config.id}: unknown action "${action}" (known: ${AGENT_ACTIONS.join(', ')})`);
      }
    } catch (err) {
      await fail(err);
    }
  }

  private async shutdown(id: string | null, reason: string, opts: { waitForAccept: boolean }): Promise<void> {
    const action = 'shutdown';
    const method = this.method;
    if (!method) {
      throw new BlackstartError('UNSUPPORTED', `agent ${this.config.id} has no shutdown method (it only relays Wake-on-LAN)`);
    }
    const started = performance.now();
    const took = (): number => Math.round(performance.now() - started);
    if (this.config.dryRun) {
      this.log.warn({ id, reason, method: method.describe() }, 'dry run: would shut this machine down now');
      const outcome = await method.run({ dryRun: true });
      await this.reply({ id, action, ok: true, tookMs: took(), detail: { method: method.kind, dry_run: true, reason, ...(outcome.output ? { output: outcome.output } : {}) } });
      return;
    }
    if (this.shutdownSince !== undefined) {
      this.log.info({ id, reason }, 'shutdown already under way; not started again');
      await this.reply({ id, action, ok: true, tookMs: 0, detail: { accepted: true, already_started: true, since: new Date(this.shutdownSince).toISOString(), method: method.kind, dry_run: false } });
      return;
    }
    this.shutdownSince = this.clock.now();
    this.log.warn({ id, reason, method: method.describe() }, 'shutting this machine down');
    const accepted = this.reply({ id, action, ok: true, tookMs: 0, detail: { accepted: true, method: method.kind, dry_run: false, reason } });
    // Waiting for the broker's acknowledgement gives the hub its answer before the network goes;
    // bounded, because a broker that is gone must not hold the shutdown back.
    if (opts.waitForAccept) await Promise.race([accepted, new Promise<void>((r) => this.clock.setTimeout(r, ACCEPT_WAIT_MS))]);
    try {
      const outcome = await method.run();
      this.log.info({ id, tookMs: outcome.tookMs, output: outcome.output }, 'shutdown method finished');
      await this.reply({ id, action, ok: true, tookMs: took(), detail: { done: true, method: method.kind, dry_run: false, steps: outcome.steps.map((s) => ({ name: s.name, status: s.status ?? null, took_ms: s.tookMs })) } });
    } catch (err) {
      this.shutdownSince = undefined;
      const e = toBlackstartError(err);
      this.log.error({ id, code: e.code, err: e.message }, 'shutdown method failed; this machine is still up');
      await this.reply({ id, action, ok: false, error: e.toJSON(), tookMs: took(), detail: { done: true, method: method.kind, dry_run: false } });
    }
  }

  private describeSelf(): Record<string, unknown> {
    const c = this.config;
    return {
      agent: c.id,
      host: hostname(),
      version: this.deps.version ?? null,
      dry_run: c.dryRun,
      shutdown: this.method?.describe() ?? null,
      shutdown_started: this.shutdownSince !== undefined ? new Date(this.shutdownSince).toISOString() : null,
      follow_ups: c.followUps ? { ups: c.followUps.ups, after_ms: c.followUps.after, on_low_battery: c.followUps.onLowBattery, counting: this.follower?.counting ?? false } : null,
      wol_relay: Boolean(c.wolRelay?.allowed),
    };
  }

  private reply(r: AgentResult): Promise<void> {
    return this.connection.publish(this.topics.agentResult(this.config.id), encode(agentResultPayload(r)), { qos: 1 });
  }
}

function noArgs(action: string, args: Record<string, unknown> | undefined): void {
  if (args && Object.keys(args).length) throw new BlackstartError('BAD_REQUEST', `${action} takes no args (got ${Object.keys(args).join(', ')})`);
}
