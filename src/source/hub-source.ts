/** The in-process source: the core runs in this process and its hub is read directly. */
import { EventEmitter } from 'node:events';
import type { BlackstartEvent } from '../core/events';
import type { CommandResult, Hub } from '../core/hub';
import type { HostAction, HostState, OutageState, SensorMap, UpsState, VmAction, VmState } from '../core/state';
import type { BlackstartSource, SourceDevice, SourceEvents, SourceVm } from './source';

export class HubSource extends EventEmitter<SourceEvents> implements BlackstartSource {
  private seq = 0;
  private readonly forward = {
    ups: (id: string, s: UpsState) => this.emit('ups', id, s),
    host: (id: string, s: HostState) => this.emit('host', id, s),
    sensors: (id: string, r: SensorMap) => this.emit('sensors', id, r),
    outage: (s: OutageState) => this.emit('outage', s),
    event: (e: BlackstartEvent) => this.emit('event', e),
    vm: (host: string, guest: string, s: VmState) => this.emit('vm', host, guest, s),
  };

  /** `stopCore` is called by stop(): the owner of the core decides whether stopping the face stops it. */
  constructor(
    private readonly hub: Hub,
    private readonly stopCore: () => Promise<void> = async () => {},
  ) {
    super();
  }

  // The hub is the state itself; a UPS it cannot read says so in its own status (comm_lost).
  get online(): boolean {
    return true;
  }

  devices(): SourceDevice[] {
    return [...this.hub.devices('ups'), ...this.hub.devices('host')].map((d) => ({ kind: d.kind, id: d.id, name: d.name }));
  }

  ups(id: string): UpsState | undefined {
    return this.hub.ups(id);
  }

  host(id: string): HostState | undefined {
    return this.hub.host(id);
  }

  sensors(hostId: string): SensorMap | undefined {
    return this.hub.sensors(hostId);
  }

  vms(): SourceVm[] {
    return this.hub.vms();
  }

  vm(host: string, guest: string): VmState | undefined {
    return this.hub.vm(host, guest);
  }

  executeVm(host: string, guest: string, action: VmAction): Promise<CommandResult> {
    return this.hub.executeVm(host, guest, { action, id: `local-${++this.seq}` });
  }

  execute(hostId: string, action: HostAction): Promise<CommandResult> {
    return this.hub.execute({ kind: 'host', id: hostId }, { action, id: `local-${++this.seq}` });
  }

  outage(): OutageState | undefined {
    return this.hub.outage;
  }

  outageCommand(action: string, args?: Record<string, unknown>): Promise<CommandResult> {
    return this.hub.outageCommand({ action, id: `local-${++this.seq}`, ...(args ? { args } : {}) });
  }

  start(): Promise<void> {
    this.hub.on('ups', this.forward.ups);
    this.hub.on('host', this.forward.host);
    this.hub.on('sensors', this.forward.sensors);
    this.hub.on('outage', this.forward.outage);
    this.hub.on('event', this.forward.event);
    this.hub.on('vm', this.forward.vm);
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.hub.off('ups', this.forward.ups);
    this.hub.off('host', this.forward.host);
    this.hub.off('sensors', this.forward.sensors);
    this.hub.off('outage', this.forward.outage);
    this.hub.off('event', this.forward.event);
    this.hub.off('vm', this.forward.vm);
    await this.stopCore();
  }
}
