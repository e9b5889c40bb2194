/**
 * The physics a simulated outage needs beyond the devices themselves: the UPS's outlets (cut when
 * the battery runs flat or after a `ups_off` command, back with mains), and Blackstart's own
 * process, which lives on the controller host. When the controller shuts down or loses power the
 * orchestrator stops with it; when the machine runs again a new orchestrator resumes from the
 * journal, as the daemon would after a reboot.
 *
 * Assumed, as the README advises for the controller: its firmware powers it on when power returns
 * to its outlet ("restore on AC power loss"). Other hosts wait for the orchestrator to start them.
 */
import type { Clock, TimerHandle } from '../core/clock';
import type { Hub } from '../core/hub';
import { isOnBattery, type HostState, type UpsState } from '../core/state';
import type { Orchestrator } from './orchestrator';

/** NUT's default `ups.delay.shutdown`: a UPS cuts its outlets this long after a shutdown command. */
const UPS_OFF_DELAY_MS = 20_000;
/** Commands after which the outlets come back by themselves with mains, and those after which they stay off. */
const RETURNING = new Set(['shutdown.return', 'fsd']);
const STAYING_OFF = new Set(['shutdown.stayoff', 'load.off']);

export type CutCause = 'flat' | 'ups_off';

export interface PowerHooks {
  /** Something the simulation itself did, for the timeline. */
  note(subject: string, text: string): void;
  /** The outlets went dark under these hosts. */
  cut(cause: CutCause, hosts: string[]): void;
}

export interface LabPowerOptions {
  hub: Hub;
  clock: Clock;
  ups: string;
  /** The host Blackstart runs on; absent: it runs somewhere that keeps power. */
  controller: string | undefined;
  /** A fresh orchestrator on the lab's hub and journal. */
  create: () => Orchestrator;
  hooks: PowerHooks;
}

export class LabPower {
  private outlets: 'on' | 'off' | 'off_for_good' = 'on';
  private pendingCut: TimerHandle | undefined;
  private current: Orchestrator | undefined;
  private stopping: Promise<void> = Promise.resolve();
  /** How many times Blackstart started: 1 unless it went down with its machine and came back. */
  starts = 0;

  private readonly onUps = (id: string, s: UpsState, prev: UpsState): void => {
    if (id !== this.o.ups || s.status === prev.status) return;
    if (s.status === 'off') this.cut('flat', true);
    if (s.status === 'online' && (isOnBattery(prev.status) || prev.status === 'off')) this.mainsBack();
  };

  private readonly onHost = (id: string, s: HostState): void => {
    if (id !== this.o.controller || !this.current || !gone(s)) return;
    const o = this.current;
    this.current = undefined;
    this.o.hooks.note(id, s.power === 'off' && s.phase !== 'shutting_down' ? 'Blackstart stops: its machine lost power' : 'Blackstart stops: its machine is shutting down');
    this.stopping = o.stop();
  };

  private readonly onEvent = (e: { type: string; detail?: Record<string, unknown> }): void => {
    if (e.type !== 'ups_off_sent') return;
    const action = String(e.detail?.action ?? '');
    if (!RETURNING.has(action) && !STAYING_OFF.has(action)) return;
    this.o.hooks.note(this.o.ups, `takes ${action}: it cuts its outlets in ${UPS_OFF_DELAY_MS / 1000}s${RETURNING.has(action) ? ' and brings them back with mains' : ' and keeps them off'}`);
    this.o.clock.clearTimeout(this.pendingCut);
    this.pendingCut = this.o.clock.setTimeout(() => {
      this.pendingCut = undefined;
      this.cut('ups_off', RETURNING.has(action));
    }, UPS_OFF_DELAY_MS);
  };

  constructor(private readonly o: LabPowerOptions) {}

  /** Starts the first orchestrator and the watch on the lab's power. */
  async start(): Promise<void> {
    this.o.hub.on('ups', this.onUps);
    this.o.hub.on('host', this.onHost);
    this.o.hub.on('event', this.onEvent);
    await this.boot();
  }

  /** Between clock steps: Blackstart comes back once its machine runs again. */
  async step(): Promise<void> {
    await this.stopping;
    const c = this.o.controller;
    if (this.current || c === undefined || this.o.hub.host(c)?.phase !== 'running') return;
    this.o.hooks.note(c, 'Blackstart starts again and resumes from the journal');
    await this.boot();
  }

  /** The orchestrator running now, if any. */
  get orchestrator(): Orchestrator | undefined {
    return this.current;
  }

  /**
   * Nothing can bring Blackstart back: its machine is off with mains on, and the outlets either
   * never went dark (so its firmware never saw power return) or stay off.
   */
  stranded(): 'never_cut' | 'kept_off' | null {
    const c = this.o.controller;
    if (this.current || c === undefined || this.pendingCut !== undefined) return null;
    if (this.o.hub.ups(this.o.ups)?.status !== 'online' || this.o.hub.host(c)?.phase !== 'down') return null;
    return this.outlets === 'off_for_good' ? 'kept_off' : 'never_cut';
  }

  async stop(): Promise<void> {
    this.o.clock.clearTimeout(this.pendingCut);
    this.o.hub.off('ups', this.onUps);
    this.o.hub.off('host', this.onHost);
    this.o.hub.off('event', this.onEvent);
    const o = this.current;
    this.current = undefined;
    await this.stopping;
    await o?.stop();
  }

  private async boot(): Promise<void> {
    const o = this.o.create();
    this.current = o;
    this.starts++;
    await o.start();
  }

  private cut(cause: CutCause, returns: boolean): void {
    if (this.outlets !== 'on') return;
    this.outlets = returns ? 'off' : 'off_for_good';
    const hub = this.o.hub;
    const powered = hub.devices('host').filter((h) => hub.host(h.id)?.power === 'on').map((h) => h.id);
    this.o.hooks.cut(cause, powered);
    const dark = powered.map((id) => hub.execute({ kind: 'host', id }, { action: 'power_off', id: 'simulate-outlets-off' }, { urgent: true }));
    // A shutdown.return with mains already back: the outlets come straight back, once they were dark.
    if (returns && hub.ups(this.o.ups)?.status === 'online') void Promise.all(dark).then(() => this.mainsBack());
  }

  private mainsBack(): void {
    if (this.outlets !== 'off') return;
    this.outlets = 'on';
    const c = this.o.controller;
    if (c === undefined || this.o.hub.host(c)?.power !== 'off') return;
    this.o.hooks.note(c, 'powers on as its outlet gets power back (restore on AC power loss)');
    void this.o.hub.execute({ kind: 'host', id: c }, { action: 'power_on', id: 'simulate-ac-restore' });
  }
}

/** The controller's process dies as soon as its OS starts going down, or with its power. */
function gone(s: HostState): boolean {
  return s.phase === 'shutting_down' || s.phase === 'down' || s.power === 'off';
}
