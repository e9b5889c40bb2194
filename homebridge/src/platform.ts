/**
 * The dynamic platform: restores cached accessories by their stable UUIDs, starts the source
 * (in-process core or remote over MQTT), keeps one accessory per UPS, host and guest, removes the stale.
 */
import type { BlackstartSource, Logger, SourceDevice, SourceVm } from 'blackstart';
import type { API, DynamicPlatformPlugin, Logging, PlatformAccessory, PlatformConfig } from './homebridge-types';
import { guestOptions, hostOptions, parsePluginConfig, type PluginConfig } from './config';
import { HostAccessory } from './host-accessory';
import { coreLogger } from './log-bridge';
import { accessoryKey, guestKey, PLATFORM_NAME, PLUGIN_NAME } from './settings';
import { createSource } from './sources';
import { UpsAccessory } from './ups-accessory';
import { VmAccessory } from './vm-accessory';

type Wanted = (SourceDevice & { kind: 'ups' }) | (SourceDevice & { kind: 'host' }) | (SourceVm & { kind: 'vm' });

export type SourceFactory = (config: PluginConfig, log: Logger, storagePath: string) => Promise<BlackstartSource>;

export class BlackstartPlatform implements DynamicPlatformPlugin {
  private readonly cached = new Map<string, PlatformAccessory>();
  private readonly hosts = new Map<string, HostAccessory>();
  private readonly ups = new Map<string, UpsAccessory>();
  /** By `<host>/<guest>`. */
  private readonly guests = new Map<string, VmAccessory>();
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
    for (const g of this.guests.values()) g.dispose();
    await this.source?.stop();
  }

  private async launch(): Promise<void> {
    const config = this.config;
    if (!config) return;
    let source: BlackstartSource;
    try {
      source = await this.makeSource(config, coreLogger(this.log), this.api.user.storagePath());
    } catch (err) {
      this.log.error(`Blackstart could not start: ${(err as Error).message}`);
      return;
    }
    this.source = source;
    source.on('ups', (id) => this.ups.get(id)?.refresh());
    source.on('host', (id) => this.hosts.get(id)?.refresh());
    source.on('sensors', (id) => this.hosts.get(id)?.refreshTemperatures());
    source.on('vm', (host, guest) => this.guests.get(`${host}/${guest}`)?.refresh());
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
    const uuid = (key: string): string => this.api.hap.uuid.generate(key);
    const wanted = new Map<string, Wanted>();
    for (const d of source.devices()) wanted.set(uuid(accessoryKey(d.kind, d.id)), d);
    for (const v of source.vms()) wanted.set(uuid(guestKey(v.host, v.id)), { kind: 'vm', ...v });
    // Hosts and guests named in the plugin config are kept even before a remote Blackstart has announced them.
    for (const id of config.hosts.keys()) {
      const u = uuid(accessoryKey('host', id));
      if (!wanted.has(u)) wanted.set(u, { kind: 'host', id, name: id });
    }
    for (const key of config.guests.keys()) {
      const [host = '', id = ''] = key.split('/');
      const u = uuid(guestKey(host, id));
      if (!wanted.has(u)) wanted.set(u, { kind: 'vm', host, id, name: id });
    }
    const fresh: PlatformAccessory[] = [];
    for (const [u, d] of wanted) {
      if (d.kind === 'vm' ? this.guests.has(`${d.host}/${d.id}`) : (d.kind === 'host' ? this.hosts : this.ups).has(d.id)) continue;
      let accessory = this.cached.get(u);
      if (!accessory) {
        accessory = new this.api.platformAccessory(this.displayName(config, d), u);
        accessory.context = d.kind === 'vm' ? { kind: d.kind, host: d.host, id: d.id } : { kind: d.kind, id: d.id };
        fresh.push(accessory);
        this.cached.set(u, accessory);
      }
      if (d.kind === 'vm') {
        const g = new VmAccessory(this.api.hap, accessory, d.host, d.id, source, { ...guestOptions(config, d.host, d.id), holdMs: config.holdMs, revertMs: config.revertMs }, this.log);
        this.guests.set(`${d.host}/${d.id}`, g);
        g.refresh();
      } else if (d.kind === 'host') {
        const h = new HostAccessory(this.api.hap, accessory, d.id, source, { ...hostOptions(config, d.id), holdMs: config.holdMs, revertMs: config.revertMs }, this.log);
        this.hosts.set(d.id, h);
        h.refresh();
        h.refreshTemperatures();
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
    const stale = [...this.cached].filter(([u]) => !wanted.has(u)).map(([, a]) => a);
    if (stale.length) {
      for (const a of stale) this.cached.delete(a.UUID);
      this.api.unregisterPlatformAccessories(PLUGIN_NAME, PLATFORM_NAME, stale);
      this.log.info(`removed ${stale.map((a) => a.displayName).join(', ')} (no longer in Blackstart)`);
    }
  }

  private refreshAll(): void {
    for (const h of this.hosts.values()) {
      h.refresh();
      h.refreshTemperatures();
    }
    for (const u of this.ups.values()) u.refresh();
    for (const g of this.guests.values()) g.refresh();
  }

  /**
   * A guest's hypervisor name when it has one of its own; its bare id ("db") would say little in a Home
   * room full of servers, so then the host goes with it.
   */
  private displayName(config: PluginConfig, d: Wanted): string {
    if (d.kind === 'ups') return d.name;
    if (d.kind === 'host') return hostOptions(config, d.id).name ?? d.name;
    return guestOptions(config, d.host, d.id).name ?? (d.name && d.name !== d.id ? d.name : `${d.host} ${d.id}`);
  }
}
