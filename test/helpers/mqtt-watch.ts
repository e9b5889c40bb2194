/** A test-side MQTT client that records what it receives and waits for what it expects. */
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt';

export interface Received {
  topic: string;
  text: string;
  retain: boolean;
  json(): Record<string, unknown>;
  properties: { correlationData?: Buffer } | undefined;
}

export class Watcher {
  readonly messages: Received[] = [];
  private waiters: { pred: (m: Received) => boolean; resolve: (m: Received) => void }[] = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      const m: Received = {
        topic,
        text: payload.toString(),
        retain: packet.retain,
        json: () => JSON.parse(payload.toString()) as Record<string, unknown>,
        properties: packet.properties as Received['properties'],
      };
      this.messages.push(m);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(m)) return true;
        w.resolve(m);
        return false;
      });
    });
  }

  static async connect(url: string, opts: IClientOptions = {}, subscribe: string[] = []): Promise<Watcher> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    const w = new Watcher(client);
    if (subscribe.length) await client.subscribeAsync(subscribe, { qos: 1 });
    return w;
  }

  /** Resolves with the first message (already received or future) that matches. */
  waitFor(pred: (m: Received) => boolean, timeoutMs = 5000, what = 'a matching message'): Promise<Received> {
    const seen = this.messages.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got: ${this.messages.map((m) => `${m.topic} ${m.text}`).join(' | ').slice(0, 2000)}`));
      }, timeoutMs);
      const done = (m: Received): void => {
        clearTimeout(timer);
        resolve(m);
      };
      this.waiters.push({ pred, resolve: done });
    });
  }

  /** Like waitForTopic, but only for messages that arrive from now on. */
  next(topic: string, pred: (m: Received) => boolean, what: string, timeoutMs = 8000): Promise<Received> {
    const from = this.messages.length;
    return this.waitFor((m) => this.messages.indexOf(m) >= from && m.topic === topic && pred(m), timeoutMs, what);
  }

  waitForTopic(topic: string, pred: (m: Received) => boolean = () => true, timeoutMs = 5000): Promise<Received> {
    return this.waitFor((m) => m.topic === topic && pred(m), timeoutMs, `a message on ${topic}`);
  }

  async publish(topic: string, payload: string, opts: IClientPublishOptions = { qos: 1 }): Promise<void> {
    await this.client.publishAsync(topic, payload, opts);
  }

  clear(): void {
    this.messages.length = 0;
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
