/**
 * Publishes the Home Assistant discovery configs through the bridge's connection: retained, on
 * every connect and again when Home Assistant announces itself on `<prefix>/status`; and clears
 * configs of this node that this run does not have (devices removed from the config, buttons of a
 * host that lost its BMC), so Home Assistant keeps no ghost entities.
 */
import type { Logger } from '../core/logger';
import type { IncomingMessage, MqttConnection } from './connection';
import { encode } from './payloads';
import type { DiscoveryMessage } from './discovery';
import type { DiscoveryTopics } from './topics';

export interface DiscoveryPublisherOptions {
  connection: MqttConnection;
  topics: DiscoveryTopics;
  /** What this run publishes; empty when discovery is switched off (everything found is then cleared). */
  messages: readonly DiscoveryMessage[];
  log: Logger;
  /**
   * Longest random wait before answering Home Assistant's birth message, as its documentation
   * asks, so a restart of Home Assistant is not met by every publisher at the same instant.
   */
  birthJitterMs?: number;
  random?: () => number;
}

export class DiscoveryPublisher {
  private readonly configs: ReadonlyMap<string, string>;
  private running = false;
  private birthTimer: NodeJS.Timeout | undefined;
  private announced = false;

  constructor(private readonly opts: DiscoveryPublisherOptions) {
    this.configs = new Map(opts.messages.map((m) => [m.topic, encode(m.payload)]));
  }

  start(): void {
    const { connection, topics } = this.opts;
    this.running = true;
    connection.subscribe([topics.status, topics.configFilter]);
    // The connection keeps its listeners for good: after stop() they do nothing.
    connection.onConnect(() => void this.publishAll());
    connection.onMessage((m) => this.onMessage(m));
    if (connection.connected) void this.publishAll();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.birthTimer);
    this.birthTimer = undefined;
  }

  /** Sends every config, retained at QoS 1; resolves when the broker has them all. */
  async publishAll(): Promise<void> {
    if (!this.running || !this.opts.connection.connected) return;
    await Promise.all([...this.configs].map(([topic, payload]) => this.opts.connection.publish(topic, payload, { retain: true, qos: 1 })));
    const level = this.announced ? 'debug' : 'info';
    this.announced = true;
    this.opts.log[level]({ configs: this.configs.size, filter: this.opts.topics.configFilter }, 'Home Assistant discovery configs published');
  }

  private onMessage(m: IncomingMessage): void {
    if (!this.running) return;
    const { topics, log } = this.opts;
    if (m.topic === topics.status) {
      // A retained birth is replayed at every connect, which publishes all configs anyway.
      if (m.retain || m.payload.toString('utf8').trim() !== 'online' || this.birthTimer) return;
      const delay = Math.floor((this.opts.random ?? Math.random)() * (this.opts.birthJitterMs ?? 1000));
      log.info({ inMs: delay }, 'Home Assistant is online: publishing discovery configs again');
      this.birthTimer = setTimeout(() => {
        this.birthTimer = undefined;
        void this.publishAll();
      }, delay);
      return;
    }
    // An empty payload is a config already removed (often by the line below, echoed back).
    if (!topics.isConfig(m.topic) || m.payload.length === 0 || this.configs.has(m.topic)) return;
    log.info({ topic: m.topic }, 'removing a Home Assistant discovery config this run does not have');
    void this.opts.connection.publish(m.topic, '', { retain: true, qos: 1 });
  }
}
