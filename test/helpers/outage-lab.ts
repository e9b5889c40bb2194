/**
 * A small lab for outage tests, all on loopback: each "host" is a TCP listener its probe connects
 * to, with an optional UDP port where its Wake-on-LAN packets land and an optional ipmi_sim BMC.
 * A follower reads what reached the real peers (the sshd's command record, the magic packets,
 * the BMC's chassis log) and makes each host go down or come back as a real machine would, so
 * the daemon only ever learns a host's fate from its own probes and its BMC.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { encodeMagicPacket, parseMac } from '../../src/adapters/power/wol-codec';
import { IPMI_USERS, type IpmiSim } from './ipmi-sim';
import { NUT_USERS, type NutServer } from './nut';
import { freePort } from './ports';
import type { SshServer } from './sshd';

export const BMC_PASSWORD_ENV = 'BS_BMC_PW';
export const NUT_PASSWORD_ENV = 'BS_NUT_PW';

/** What the daemon's environment needs for the secrets a lab config names. */
export const labEnv = (): NodeJS.ProcessEnv => ({ [BMC_PASSWORD_ENV]: IPMI_USERS.operator.password, [NUT_PASSWORD_ENV]: NUT_USERS.monuser.password });

export const OL = { 'ups.status': 'OL', 'battery.charge': 100, 'battery.runtime': 1800, 'ups.load': 30, 'input.voltage': 230 };
export const OB = { ...OL, 'ups.status': 'OB DISCHRG', 'battery.charge': 90, 'input.voltage': 0 };
export const LB = { ...OB, 'ups.status': 'OB DISCHRG LB', 'battery.charge': 20, 'battery.runtime': 900 };

export interface LabHostSpec {
  id: string;
  dependsOn?: string[];
  /** Its OS ignores the shutdown command and keeps answering: only its BMC can bring it down. */
  ignoresShutdown?: boolean;
  /** Off before the outage: its listener is closed from the start. */
  startsDown?: boolean;
  /** How long its OS takes to go down after the shutdown command (default at once). */
  downAfterMs?: number;
  wol?: boolean;
  ipmi?: IpmiSim;
  /** Extra lines for the host's `outage:` block (already indented by 6 spaces). */
  outage?: string[];
  /** Extra sections of the host's block, e.g. `vms:` (already indented by 4 spaces). */
  blocks?: string[];
}

export type LabEventKind = 'shutdown_cmd' | 'power_off' | 'power_on' | 'wol' | 'down' | 'up';

export interface LabEvent {
  at: number;
  host: string;
  what: LabEventKind;
}

export class LabHost {
  readonly id: string;
  readonly mac: string;
  port = 0;
  wolPort = 0;
  private server: Server | undefined;
  private wolSocket: Socket | undefined;
  private changing: Promise<void> = Promise.resolve();

  constructor(
    readonly spec: LabHostSpec,
    index: number,
    private readonly record: (host: string, what: LabEventKind) => void,
  ) {
    this.id = spec.id;
    this.mac = `02:00:5e:10:00:${(index + 1).toString(16).padStart(2, '0')}`;
  }

  get answering(): boolean {
    return this.server !== undefined;
  }

  async open(): Promise<void> {
    this.port = await freePort();
    if (!this.spec.startsDown) await this.up();
    if (this.spec.wol) {
      const sock = createSocket('udp4');
      const magic = encodeMagicPacket(parseMac(this.mac));
      sock.on('message', (m) => {
        // Only a well-formed packet for this card wakes it.
        if (!m.equals(magic)) return;
        this.record(this.id, 'wol');
        void this.up();
      });
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
      this.wolSocket = sock;
      this.wolPort = sock.address().port;
    }
  }

  /** Starts answering its probe (idempotent). */
  up(): Promise<void> {
    this.changing = this.changing.then(async () => {
      if (this.server) return;
      const s = createServer((c) => c.destroy());
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(this.port, '127.0.0.1', () => resolve());
      });
      this.server = s;
      this.record(this.id, 'up');
    });
    return this.changing;
  }

  /** Stops answering (idempotent). */
  down(): Promise<void> {
    this.changing = this.changing.then(async () => {
      const s = this.server;
      if (!s) return;
      this.server = undefined;
      await new Promise<void>((r) => s.close(() => r()));
      this.record(this.id, 'down');
    });
    return this.changing;
  }

  async close(): Promise<void> {
    await this.down();
    const sock = this.wolSocket;
    this.wolSocket = undefined;
    if (sock) await new Promise<void>((r) => sock.close(() => r()));
  }
}

export interface Lab {
  readonly hosts: Map<string, LabHost>;
  readonly events: LabEvent[];
  host(id: string): LabHost;
  /** Events of one kind, oldest first (the peers' records are read again first, so nothing is missed). */
  of(what: LabEventKind, host?: string): LabEvent[];
  /** The first time `host` saw `what`, or undefined. */
  first(what: LabEventKind, host: string): number | undefined;
  /** The `shutdown-host <id>` commands the sshd recorded, in order. */
  shutdownCommands(): string[];
  close(): Promise<void>;
}

/** Opens every host's listener and starts following the peers. */
export async function startLab(specs: LabHostSpec[], sshd: SshServer): Promise<Lab> {
  const events: LabEvent[] = [];
  const record = (host: string, what: LabEventKind): void => void events.push({ at: Date.now(), host, what });
  const hosts = new Map(specs.map((s, i) => [s.id, new LabHost(s, i, record)] as const));
  for (const h of hosts.values()) await h.open();

  let seenCommands = 0;
  const pending: NodeJS.Timeout[] = [];
  const seenChassis = new Map<string, number>([...hosts.values()].map((h) => [h.id, h.spec.ipmi?.chassisLog().length ?? 0]));
  const follow = (): void => {
    const cmds = sshd.commands();
    for (const line of cmds.slice(seenCommands)) {
      const m = /^shutdown-host (\S+)$/.exec(line);
      const h = m ? hosts.get(m[1] as string) : undefined;
      if (!h) continue;
      record(h.id, 'shutdown_cmd');
      if (h.spec.ignoresShutdown) continue;
      if (h.spec.downAfterMs) pending.push(setTimeout(() => void h.down(), h.spec.downAfterMs));
      else void h.down();
    }
    seenCommands = cmds.length;
    for (const h of hosts.values()) {
      const sim = h.spec.ipmi;
      if (!sim) continue;
      const log = sim.chassisLog();
      for (const line of log.slice(seenChassis.get(h.id))) {
        if (line === 'set power 0') {
          record(h.id, 'power_off');
          void h.down();
        } else if (line === 'set power 1') {
          record(h.id, 'power_on');
          void h.up();
        }
      }
      seenChassis.set(h.id, log.length);
    }
  };
  const timer = setInterval(follow, 20);

  return {
    hosts,
    events,
    host: (id) => {
      const h = hosts.get(id);
      if (!h) throw new Error(`no lab host ${id}`);
      return h;
    },
    of: (what, host) => {
      follow();
      return events.filter((e) => e.what === what && (host === undefined || e.host === host));
    },
    first: (what, host) => {
      follow();
      return events.find((e) => e.what === what && e.host === host)?.at;
    },
    shutdownCommands: () => sshd.commands().filter((c) => c.startsWith('shutdown-host ')),
    close: async () => {
      clearInterval(timer);
      pending.forEach(clearTimeout);
      for (const h of hosts.values()) await h.close();
    },
  };
}

export interface LabConfigOptions {
  mqttPort: number;
  nut: NutServer;
  sshd: SshServer;
  lab: Lab;
  journal: string;
  /** Extra lines for the global `outage:` block (indented by 2 spaces). */
  outage?: string[];
  /** The `trigger:` block's lines (indented by 4 spaces); default on battery for 1 s. */
  trigger?: string[];
}

/** A daemon config for the lab: embedded broker, the NUT UPS, one block per host. */
export function labConfig(o: LabConfigOptions): string {
  const lines = [
    'mqtt:',
    '  embedded:',
    `    port: ${o.mqttPort}`,
    'ups:',
    '  lab:',
    '    nut:',
    `      port: ${o.nut.port}`,
    '      ups: labups',
    `      username: ${NUT_USERS.monuser.username}`,
    `      password_env: ${NUT_PASSWORD_ENV}`,
    '      poll_interval: 250ms',
    '      dead_time: 3s',
    '      on_battery_delay: 0s',
    '      reconnect_max: 500ms',
    'outage:',
    '  ups: lab',
    `  journal: ${o.journal}`,
    '  trigger:',
    ...(o.trigger ?? ['    on_battery_after: 1s']),
    '  restore:',
    '    mains_stable_for: 1s',
    '    charge_at_least: 0',
    '    boot_within: 8s',
    '    retries: 1',
    '    check_every: 200ms',
    ...(o.outage ?? []),
    'hosts:',
  ];
  for (const h of o.lab.hosts.values()) {
    const s = h.spec;
    lines.push(
      `  ${h.id}:`,
      '    address: 127.0.0.1',
      '    probe:',
      `      tcp: [${h.port}]`,
      '      interval: 250ms',
      '      timeout: 200ms',
      '      fail_after: 2',
      '    shutdown:',
      '      verify_within: 20s',
      '      ssh:',
      '        host: 127.0.0.1',
      `        port: ${o.sshd.port}`,
      `        username: ${o.sshd.username}`,
      `        key_file: ${o.sshd.clientKeyPath}`,
      `        host_key: ${o.sshd.hostKeyFingerprint}`,
      `        command: "shutdown-host ${h.id}"`,
      '        timeout: 10s',
    );
    if (s.wol) lines.push('    wol:', `      mac: "${h.mac}"`, '      address: 127.0.0.1', `      port: ${h.wolPort}`, '      spacing: 10ms');
    if (s.ipmi) {
      lines.push(
        '    ipmi:',
        '      host: 127.0.0.1',
        `      port: ${s.ipmi.port}`,
        `      username: ${IPMI_USERS.operator.username}`,
        `      password_env: ${BMC_PASSWORD_ENV}`,
        '      poll_interval: 1s',
        '      sensor_interval: 0s',
        '      timeout: 300ms',
        '      retries: 2',
      );
    }
    lines.push('    outage:', `      depends_on: [${(s.dependsOn ?? []).join(', ')}]`, '      shutdown_takes: 1s', ...(s.outage ?? []));
    lines.push(...(s.blocks ?? []));
  }
  return lines.join('\n') + '\n';
}

/** Consecutive duplicates dropped: the phases the retained outage state went through. */
export function phasesOf(payloads: { phase: unknown }[]): string[] {
  const out: string[] = [];
  for (const p of payloads) if (out.at(-1) !== p.phase) out.push(String(p.phase));
  return out;
}
