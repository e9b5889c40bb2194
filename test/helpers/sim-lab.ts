/**
 * A whole lab on a virtual clock for orchestrator tests: the config's simulated UPS and hosts in
 * a hub, the real orchestrator with an in-memory journal, and every event and host command kept.
 */
import { buildHub } from '../../src/adapters/registry';
import { parseConfig } from '../../src/config/loader';
import type { Config } from '../../src/config/schema';
import { FakeClock } from '../../src/core/clock';
import type { BlackstartEvent } from '../../src/core/events';
import type { Hub, CommandResult } from '../../src/core/hub';
import { silentLogger } from '../../src/core/logger';
import type { DeviceRef } from '../../src/core/state';
import { MemoryJournal } from '../../src/orchestrator/journal';
import { MemoryDurations } from '../../src/orchestrator/learned';
import { guestPolicies, hostPolicies } from '../../src/orchestrator/nodes';
import { Orchestrator, type OrchestratorOptions } from '../../src/orchestrator/orchestrator';

export interface Lab {
  config: Config;
  clock: FakeClock;
  hub: Hub;
  journal: MemoryJournal;
  orchestrator: Orchestrator;
  events: BlackstartEvent[];
  /** Every command a device received, with the virtual time (ms since the lab started). */
  commands: { t: number; device: DeviceRef; action: string; result: CommandResult }[];
  /** Every guest command: `t` when it was sent, `end` when it was over (guest actions wait for their outcome). */
  vmCommands: { t: number; end: number; vm: string; action: string; result: CommandResult }[];
  t0: number;
  /** Seconds of virtual time. */
  advance(s: number): Promise<void>;
  /** Host ids that received `action`, in order. */
  sent(action: string): string[];
  eventTypes(): string[];
  stop(): Promise<void>;
}

export async function startLab(yaml: string, opts: Partial<OrchestratorOptions> & { journal?: MemoryJournal; clock?: FakeClock } = {}): Promise<Lab> {
  const { config } = parseConfig(yaml);
  const clock = opts.clock ?? new FakeClock();
  const hub = buildHub(config, { clock });
  const journal = opts.journal ?? new MemoryJournal(clock);
  const events: BlackstartEvent[] = [];
  const t0 = clock.now();
  const commands: Lab['commands'] = [];
  hub.on('event', (e) => events.push(e));
  hub.on('result', (device, result) => commands.push({ t: clock.now() - t0, device, action: result.action ?? '?', result }));
  const vmCommands: Lab['vmCommands'] = [];
  hub.on('vmResult', (host, guest, result) => vmCommands.push({ t: clock.now() - t0 - result.tookMs, end: clock.now() - t0, vm: `${host}/${guest}`, action: result.action ?? '?', result }));
  const hosts = hostPolicies(config.hosts);
  const orchestrator = new Orchestrator({
    hub,
    policy: config.outage,
    hosts,
    guests: guestPolicies(config.hosts),
    ups: Object.keys(config.ups)[0] as string,
    journal,
    learned: new MemoryDurations(),
    log: silentLogger(),
    settleMs: 5000,
    ...opts,
  });
  await hub.start();
  let ready = false;
  const started = orchestrator.start().then(() => (ready = true));
  await clock.advance(0);
  // A resumed orchestrator waits for the UPS's first reading on the virtual clock.
  for (let i = 0; !ready && i < 1000; i++) await clock.advance(100);
  await started;
  return {
    config,
    clock,
    hub,
    journal,
    orchestrator,
    events,
    commands,
    vmCommands,
    t0,
    advance: (s) => clock.advance(s * 1000),
    sent: (action) => commands.filter((c) => c.device.kind === 'host' && c.action === action).map((c) => c.device.id),
    eventTypes: () => events.map((e) => e.type),
    stop: async () => {
      await orchestrator.stop();
      await hub.stop();
    },
  };
}
