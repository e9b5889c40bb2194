/**
 * Blackstart assembled from a config: embedded broker (when no external one is named), hub with
 * adapters, MQTT bridge. `blackstart run` uses it; Node-RED and Homebridge in-process mode will too.
 */
import { readFileSync } from 'node:fs';
import { buildHub } from './adapters/registry';
import { hostServices } from './adapters/host/services';
import { outageUps } from './config/schema';
import type { CommandDetail } from './core/adapter';
import { Journal, journalPath } from './orchestrator/journal';
import { durationsPath, FileDurations } from './orchestrator/learned';
import { guestPolicies, hostPolicies } from './orchestrator/nodes';
import { Orchestrator } from './orchestrator/orchestrator';
import { AgentLink } from './core/agent-link';
import type { Config } from './config/schema';
import type { Clock } from './core/clock';
import type { Hub } from './core/hub';
import type { Logger } from './core/logger';
import { MqttAgentRequester } from './mqtt/agent-requester';
import { MqttBridge } from './mqtt/bridge';
import { startEmbeddedBroker, type EmbeddedBroker } from './mqtt/broker';
import { NisServer } from './compat/apcupsd-nis/server';
import { fsdFinalStep } from './compat/nut/fsd-step';
import { startNutServer, type NutServer } from './compat/nut/server';
import type { DiscoveryPublisher } from './mqtt/discovery-publisher';
import { createDiscovery } from './mqtt/discovery-setup';
import { version } from './cli/version';

export interface Blackstart {
  readonly hub: Hub;
  readonly bridge: MqttBridge;
  /** Reaches `blackstart agent`s through the bridge's connection (the adapters hold the same one). */
  readonly agents: MqttAgentRequester;
  /** Present when a UPS feeds the hosts (`outage.ups`, or the only UPS). */
  readonly orchestrator: Orchestrator | undefined;
  /** Present when the embedded broker runs. */
  readonly broker: EmbeddedBroker | undefined;
  /** The broker URL the bridge connects to. */
  readonly mqttUrl: string;
  /** Present when `compat.nut` is configured. */
  readonly nut: NutServer | undefined;
  stop(): Promise<void>;
}

export interface StartOptions {
  log: Logger;
  clock?: Clock;
  /** Answers `simulate` on `<base>/outage/set` (the CLI passes the simulator; tests may not). */
  simulate?: (args: Record<string, unknown>) => Promise<CommandDetail>;
}

export async function startBlackstart(config: Config, opts: StartOptions): Promise<Blackstart> {
  const { log } = opts;
  const m = config.mqtt;
  // The bridge logs in with the external broker's account, or with the one the embedded broker checks.
  const account = m.url ? m : m.embedded;
  const username = account.username;
  const password = account.password?.secret;
  let broker: EmbeddedBroker | undefined;
  let url: string;
  if (m.url) {
    url = m.url;
  } else {
    broker = await startEmbeddedBroker({
      host: m.embedded.host,
      port: m.embedded.port,
      log: log.child({ part: 'broker' }),
      ...(username !== undefined ? { username } : {}),
      ...(password ? { password } : {}),
    });
    url = `mqtt://${connectHost(m.embedded.host)}:${broker.port}`;
  }

  // Adapters are built before the bridge that carries their agent requests; the link is attached below.
  const agentLink = new AgentLink();
  const hub = buildHub(config, { log: log.child({ part: 'hub' }), agents: agentLink, ...(opts.clock ? { clock: opts.clock } : {}) });
  const bridge = new MqttBridge(hub, {
    url,
    baseTopic: m.baseTopic,
    protocolVersion: broker ? 4 : m.protocolVersion,
    reconnectMinMs: m.reconnectMin,
    reconnectMaxMs: m.reconnectMax,
    log: log.child({ part: 'mqtt' }),
    ...(username !== undefined ? { username } : {}),
    ...(password ? { password } : {}),
    ...(m.caFile ? { ca: readFileSync(m.caFile.path) } : {}),
    ...(m.clientId ? { clientId: m.clientId } : {}),
  });
  const agents = new MqttAgentRequester(bridge.connection, bridge.topics, { log: log.child({ part: 'agents' }), ...(opts.clock ? { clock: opts.clock } : {}) });
  agentLink.attach(agents);

  // Built before the bridge connects, so the first retained outage state is the journal's.
  let orchestrator: Orchestrator | undefined;
  let journal: Journal | undefined;
  let nis: NisServer | undefined;
  let nut: NutServer | undefined;
  let discovery: DiscoveryPublisher | undefined;
  const upsId = outageUps(config);
  const outageLog = log.child({ part: 'outage' });
  const cleanUp = async (): Promise<void> => {
    await orchestrator?.stop();
    // After the orchestrator: a final step still waiting on slaves or secondaries must find its plan cancelled.
    await nis?.close();
    await nut?.stop();
    await journal?.close();
    await hub.stop();
    agentLink.attach(undefined);
    discovery?.stop();
    await bridge.stop();
    await broker?.close();
  };
  try {
    if (upsId) {
      const path = journalPath(config);
      // A damaged journal is moved aside (and logged) rather than keeping the UPS watch from starting.
      journal = await Journal.open(path, { log: outageLog, onCorrupt: 'rotate', ...(opts.clock ? { clock: opts.clock } : {}) });
      const hosts = hostPolicies(config.hosts);
      orchestrator = new Orchestrator({
        hub,
        policy: config.outage,
        hosts,
        guests: guestPolicies(config.hosts),
        ups: upsId,
        journal,
        services: hostServices(config.hosts, { log: outageLog }),
        learned: new FileDurations(durationsPath(path), outageLog),
        log: outageLog,
        ...(opts.simulate ? { simulate: opts.simulate } : {}),
      });
    } else if (Object.keys(config.ups).length > 1) {
      log.warn({ ups: Object.keys(config.ups) }, 'several UPS and no outage.ups: the outage orchestrator is off; set outage.ups to the UPS that feeds the hosts');
    }
    // Adapters start whether or not the broker is there: MQTT is a window on the state, not a
    // precondition for watching the UPS.
    bridge.start();
    await hub.start();
    // Compatibility servers (apcupsd NIS, NUT) start before the orchestrator resumes a journal, so a
    // resumed plan already has their final steps; then Home Assistant discovery.
    const nisConfig = config.compat.apcupsd;
    const nisUps = nisConfig ? (nisConfig.ups ?? upsId) : undefined;
    if (nisConfig && nisUps) {
      nis = await NisServer.start({
        hub,
        ups: nisUps,
        listen: nisConfig.listen,
        port: nisConfig.port,
        maxConnections: nisConfig.maxConnections,
        idleTimeoutMs: nisConfig.idleTimeout,
        slaveWaitMs: nisConfig.slaveWait,
        version: version(),
        log: log.child({ part: 'apcupsd-nis' }),
      });
      // Slaves of the UPS that feeds the hosts go down before the controller, as an apcupsd master's do.
      const announcer = nis;
      if (orchestrator && nisUps === upsId) orchestrator.addFinalStep({ name: 'apcupsd slaves: SHUTTING DOWN', run: () => announcer.announceShutdown() });
    }
    if (config.compat.nut) {
      const nutLog = log.child({ part: 'nut-server' });
      nut = await startNutServer({ hub, config: config.compat.nut, version: version(), log: nutLog });
      // As NUT's primary does before its own shutdown: FSD, then a bounded wait for the secondaries.
      if (orchestrator && upsId && nut.ups.includes(upsId)) orchestrator.addFinalStep(fsdFinalStep(nut, upsId, config.compat.nut.fsdWait, nutLog));
    }
    await orchestrator?.start();
    discovery = createDiscovery(config, hub, bridge, { log: log.child({ part: 'homeassistant' }), swVersion: version() });
    discovery?.start();
  } catch (err) {
    await cleanUp();
    throw err;
  }

  let stopping: Promise<void> | undefined;
  return {
    hub,
    bridge,
    agents,
    orchestrator,
    broker,
    mqttUrl: url,
    nut,
    stop: () => (stopping ??= cleanUp()),
  };
}

/** The address to reach a listener bound to `host` from this machine. */
function connectHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
