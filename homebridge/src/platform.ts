/**
 * The dynamic platform: restores cached accessories by their stable UUIDs, starts the source
 * (in-process core or remote over MQTT), keeps one accessory per UPS and host, removes the stale.
 */
import type { BlackstartSource, Logger, SourceDevice } from 'blackstart';
import type { API, DynamicPlatformPlugin, Logging, PlatformAccessory, PlatformConfig } from './homebridge-types';
import { hostOptions, parsePluginConfig, type PluginConfig } from './config';
import { HostAccessory } from './host-accessory';
import { coreLogger } from './log-bridge';
import { accessoryKey, PLATFORM_NAME, PLUGIN_NAME } from './settings';
import { createSource } from './sources';
import { UpsAccessory } from './ups-accessory';

export type SourceFactory = (config: PluginConfig, log: Logger, storagePath: string) => Promise<BlackstartSource>;

export class BlackstartPlatform implements DynamicPlatformPlugin {
  private readonly cached = new Map<string, PlatformAccessory>();
  private readonly hosts = new Map<string, HostAccessory>();
  private readonly ups = new Map<string, UpsAccessory>();
  private readonly config: PluginConfig | undefined;
  private source: BlackstartSource | undefined;
  private staleTimer: NodeJS.Timeout | undefined;
  /** Resolves once the source is up and the accessories are in place (tests wait on it). */
  ready: Promise<void> = Promise.resolve();

  constructor(
    private readonly log: Logging,
    raw: PlatformConfig,
    private readonly api: API,
    private readonly makeSource: SourceFactory = createSource,
  ) {
    try {
      this.config = parsePluginConfig(raw);
    } catch (err) {
      this.log.error(`Blackstart is not started: ${(err as Error).message}`);
    }
    api.on('didFinishLaunching', () => {
      this.ready = this.launch();
    });
    api.on('shutdown', () => {
      void this.stop();
    });
  }

  configureAccessory(accessory: PlatformAccessory): void {
    this.cached.set(accessory.UUID, accessory);
  }

  async stop(): Promise<void> {
    clearTimeout(this.staleTimer);
    for (const h of this.hosts.values()) h.dispose();
    await this.source?.stop();
  }

  private async launch(): Promise<void> {
    const config = this.config;
    if (!config) return;
    let source: BlackstartSource;
    try {
      source = await this.makeSource(config, coreLogger(this.log, false), this.api.user.storagePath());
    } catch (err) {
      this.log.error(`Blackstart could not start: ${(err as Error).message}`);
      return;
    }
    this.source = source;
    source.on('ups', (id) => this.ups.get(id)?.refresh());
    source.on('host', (id) => this.hosts.get(id)?.refresh());
    source.on('sensors', (id) => this.hosts.get(id)?.refresh());
    source.on('online', (online) => {
      this.log[online ? 'info' : 'warn'](online ? 'Blackstart is online' : 'Blackstart is offline: its accessories show "not responding"');
      this.refreshAll();
    });
    source.on('devices', () => this.sync(false));
    await source.start();
    if (config.mode.kind === 'in_process') {
      this.sync(true);
    } else {
      // Remote devices arrive as retained messages; only after a while is an unseen one really gone.
      this.sync(false);
      this.staleTimer = setTimeout(() => this.sync(true), config.staleAfterMs);
    }
  }

  private sync(removeStale: boolean): void {
    const source = this.source;
    const config = this.config;
    if (!source || !config) return;
    const wanted = new Map<string, SourceDevice>();
    for (const d of source.devices()) wanted.set(this.api.hap.uuid.generate(accessoryKey(d.kind, d.id)), d);
    // Hosts named in the plugin config are kept even before a remote Blackstart has announced them.
    for (const id of config.hosts.keys()) {
      const uuid = this.api.hap.uuid.generate(accessoryKey('host', id));
      if (!wanted.has(uuid)) wanted.set(uuid, { kind: 'host', id, name: id });
    }
    const fresh: PlatformAccessory[] = [];
    for (const [uuid, d] of wanted) {
      if ((d.kind === 'host' ? this.hosts : this.ups).has(d.id)) continue;
      let accessory = this.cached.get(uuid);
      if (!accessory) {
        const name = d.kind === 'host' ? (hostOptions(config, d.id).name ?? d.name) : d.name;
        accessory = new this.api.platformAccessory(name, uuid);
        accessory.context = { kind: d.kind, id: d.id };
        fresh.push(accessory);
        this.cached.set(uuid, accessory);
      }
      if (d.kind === 'host') {
        const h = new HostAccessory(this.api.hap, accessory, d.id, source, { ...hostOptions(config, d.id), holdMs: config.holdMs, revertMs: config.revertMs }, this.log);
        this.hosts.set(d.id, h);
        h.refresh();
      } else {
        const u = new UpsAccessory(this.api.hap, accessory, d.id, source);
        this.ups.set(d.id, u);
        u.refresh();
      }
    }
    if (fresh.length) {
      this.api.registerPlatformAccessories(PLUGIN_NAME, PLATFORM_NAME, fresh);
      this.log.info(`added ${fresh.map((a) => a.displayName).join(', ')}`);
    }
    if (!removeStale) return;
    const stale = [...this.cached].filter(([uuid]) => !wanted.has(uuid)).map(([, a]) => a);
    if (stale.length) {
      for (const a of stale) this.cached.delete(a.UUID);
      this.api.unregisterPlatformAccessories(PLUGIN_NAME, PLATFORM_NAME, stale);
      this.log.info(`removed ${stale.map((a) => a.displayName).join(', ')} (no longer in Blackstart)`);
    }
  }

  private refreshAll(): void {
    for (const h of this.hosts.values()) h.refresh();
    for (const u of this.ups.values()) u.refresh();
  }
}
