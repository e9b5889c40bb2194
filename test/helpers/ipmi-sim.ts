/**
 * A real OpenIPMI `ipmi_sim` BMC in a fresh temp dir on a free 127.0.0.1 UDP port (recipe:
 * shared/reference/real-peers.md §2): three users, a chassis script whose power state is a file,
 * a temperature sensor and a fan sensor whose raw values are files the test rewrites.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killNow } from './process';

/** Why real-BMC tests cannot run here, or undefined when they can. */
export function ipmiSimMissing(): string | undefined {
  for (const bin of ['ipmi_sim', 'sdrcomp', 'ipmitool']) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      return `${bin} is missing (Debian packages openipmi and ipmitool; .ci/run installs them)`;
    }
  }
  return undefined;
}

export const IPMI_USERS = {
  /** Anonymous-name user 1 of the recipe is left out: ipmi_sim's "user" level user. */
  user: { username: 'viewer', password: 'viewpw' },
  operator: { username: 'oper', password: 'operpw' },
  admin: { username: 'admin', password: 'secret' },
} as const;
export type IpmiWho = keyof typeof IPMI_USERS;

export interface IpmiSim {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly dir: string;
  /** '1' (on) or '0' (off), as the chassis script keeps it. */
  powerState(): '0' | '1';
  setPowerState(on: boolean): void;
  /** Every chassis-script call so far, e.g. `get power`, `set power 0`, `set shutdown 1`. */
  chassisLog(): string[];
  /** Raw sensor values the simulator polls once a second. */
  setTemp(celsius: number): void;
  setFanRaw(raw: number): void;
  ipmitool(args: string[], opts?: { who?: IpmiWho; suite?: number }): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Kills and starts the simulator again on the same port (all sessions are lost). */
  restart(): Promise<void>;
  /** Kills the simulator and leaves the port silent. */
  kill(): Promise<void>;
  stop(): Promise<void>;
  log(): string;
}

/** A UDP port on 127.0.0.1 that was free a moment ago. */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const EMU = (dir: string): string => `mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
sel_enable 0x20 1000 0x0a
sensor_add 0x20 0 0 35 0x6f event-only
sensor_set_event_support 0x20 0 0 enable scanning per-state 000000000001111 000000000000000 000000000001111 000000000000000
sensor_add 0x20 0 1 0x01 0x01 poll 1000 file "${dir}/temp.val"
sensor_set_threshold 0x20 0 1 settable 111000 0x5a 0x50 0x46 00 00 00
sensor_set_event_support 0x20 0 1 enable scanning per-state 000111111000000 000111111000000 000111111000000 000111111000000
sensor_add 0x20 0 2 0x04 0x01 poll 1000 file "${dir}/fan.raw"
sensor_set_threshold 0x20 0 2 settable 000111 00 00 00 0x0a 0x08 0x06
sensor_set_event_support 0x20 0 2 enable scanning per-state 000000000111111 000000000111111 000000000111111 000000000111111
mc_enable 0x20
`;

const SDRS = `sdr type 18
  device_slave_address 0x20
  device_channel_number 0
  chassis true
  ipmb_event_gen true
  ipmb_event_recv true
  sel true
  sdr true
  sensor true
  entity_id system_management_module
  entity_instance 1
  id_string "LabBMC"
endsdr
sdr type 1
  sensor_owner_id 0x20
  sensor_owner_lun 0
  channel_number 0
  sensor_number 1
  entity_id system_board
  entity_instance 1
  init_scanning true
  init_events true
  init_thresholds true
  default_event_gen_on true
  default_sensor_scan_on true
  sensor_auto_rearm true
  sensor_hysteresis no
  sensor_threshold_access settable
  sensor_event_msg_ctrl per_state
  sensor_type Temperature
  event_reading_type_code 1
  assert_uncgh true
  assert_ucgh true
  assert_unrgh true
  deassert_uncgh true
  deassert_ucgh true
  deassert_unrgh true
  unc_thrsh_readable true
  uc_thrsh_readable true
  unr_thrsh_readable true
  unc_thrsh_settable true
  uc_thrsh_settable true
  unr_thrsh_settable true
  analog_data_format unsigned
  base_unit degrees_C
  linearization linear
  m 1
  b 0
  r_exp 0
  b_exp 0
  sensor_maximum 255
  sensor_minimum 0
  unr_thresh 90
  uc_thresh 80
  unc_thresh 70
  id_string "CPU Temp"
endsdr
sdr type 1
  sensor_owner_id 0x20
  sensor_owner_lun 0
  channel_number 0
  sensor_number 2
  entity_id fan_cooling_device
  entity_instance 1
  init_scanning true
  init_events true
  init_thresholds true
  default_event_gen_on true
  default_sensor_scan_on true
  sensor_auto_rearm true
  sensor_hysteresis no
  sensor_threshold_access settable
  sensor_event_msg_ctrl per_state
  sensor_type 4
  event_reading_type_code 1
  assert_lncgl true
  assert_lcgl true
  assert_lnrgl true
  deassert_lncgl true
  deassert_lcgl true
  deassert_lnrgl true
  lnc_thrsh_readable true
  lc_thrsh_readable true
  lnr_thrsh_readable true
  analog_data_format unsigned
  base_unit RPM
  linearization linear
  m 50
  b 0
  r_exp 0
  b_exp 0
  sensor_maximum 255
  sensor_minimum 0
  lnr_thresh 6
  lc_thresh 8
  lnc_thresh 10
  id_string "Fan 1"
endsdr
`;

function lanConf(dir: string, port: number): string {
  const u = IPMI_USERS;
  return `name "labbmc"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 ${port}
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  chassis_control "${dir}/chassis.sh"
  user 2   true    "${u.admin.username}"  "${u.admin.password}"  admin     10        none md2 md5 straight
  user 3   true    "${u.operator.username}"  "${u.operator.password}"  operator  10        none md2 md5 straight
  user 4   true    "${u.user.username}"  "${u.user.password}"  user  10        none md2 md5 straight
`;
}

// Shell builtins only (no cat, no date): ipmi_sim runs this on every Get Chassis Status, and a
// forked helper per call would make the simulator, not the client, dominate the bench.
const CHASSIS = (dir: string): string => `#!/bin/sh
STATE="${dir}/power.state"
echo "$*" >> "${dir}/chassis.log"
op=$1; shift
case "$op" in
  get) p=1; [ -f "$STATE" ] && read -r p < "$STATE"
       for k in "$@"; do case "$k" in power) echo "power:$p";; boot) echo "boot:none";; *) echo "$k:0";; esac; done ;;
  set) while [ $# -gt 1 ]; do case "$1" in power) echo "$2" > "$STATE";; esac; shift 2; done ;;
esac
exit 0
`;

export async function startIpmiSim(opts: { power?: boolean; temp?: number; fanRaw?: number } = {}): Promise<IpmiSim> {
  const dir = mkdtempSync(join(tmpdir(), 'bs-ipmi-'));
  const stateDir = join(dir, 'state');
  mkdirSync(join(stateDir, 'ipmi_sim', 'labbmc'), { recursive: true });
  const port = await freeUdpPort();
  writeFileSync(join(dir, 'lan.conf'), lanConf(dir, port));
  writeFileSync(join(dir, 'chassis.sh'), CHASSIS(dir), { mode: 0o755 });
  writeFileSync(join(dir, 'sim.emu'), EMU(dir));
  writeFileSync(join(dir, 'sim.sdrs'), SDRS);
  writeFileSync(join(dir, 'temp.val'), `${opts.temp ?? 45}\n`);
  writeFileSync(join(dir, 'fan.raw'), `${opts.fanRaw ?? 60}\n`);
  writeFileSync(join(dir, 'power.state'), opts.power === false ? '0\n' : '1\n');
  writeFileSync(join(dir, 'chassis.log'), '');
  execFileSync('sdrcomp', ['-o', join(stateDir, 'ipmi_sim', 'labbmc', 'sdr.20.main'), join(dir, 'sim.sdrs')], { stdio: 'pipe' });

  let proc: ChildProcess | undefined;
  let output = '';
  const launch = async (): Promise<void> => {
    const p = spawn('ipmi_sim', ['-c', join(dir, 'lan.conf'), '-f', join(dir, 'sim.emu'), '-s', stateDir, '-n'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    p.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    p.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    proc = p;
    await waitForUdpBound(port, p, () => output);
  };
  const kill = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    await killNow(p);
  };
  await launch();

  const sim: IpmiSim = {
    host: '127.0.0.1',
    port,
    dir,
    powerState: () => (readFileSync(join(dir, 'power.state'), 'utf8').trim() === '0' ? '0' : '1'),
    setPowerState: (on) => writeFileSync(join(dir, 'power.state'), on ? '1\n' : '0\n'),
    chassisLog: () => readFileSync(join(dir, 'chassis.log'), 'utf8').split('\n').filter(Boolean),
    setTemp: (c) => writeFileSync(join(dir, 'temp.val'), `${c}\n`),
    setFanRaw: (r) => writeFileSync(join(dir, 'fan.raw'), `${r}\n`),
    ipmitool: (args, o = {}) => {
      const u = IPMI_USERS[o.who ?? 'admin'];
      const base = ['-I', 'lanplus', '-H', '127.0.0.1', '-p', String(port), '-U', u.username, '-P', u.password, '-C', String(o.suite ?? 3)];
      if (o.who === 'operator') base.push('-L', 'OPERATOR');
      if (o.who === 'user') base.push('-L', 'USER');
      return new Promise((resolve) => {
        execFile('ipmitool', [...base, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
          resolve({ code, stdout, stderr });
        });
      });
    },
    restart: async () => {
      await kill();
      await launch();
    },
    kill,
    stop: async () => {
      await kill();
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    },
    log: () => output,
  };
  return sim;
}

/** ipmi_sim binds its UDP port a few ms after start; polling /proc avoids sending it a stray packet. */
async function waitForUdpBound(port: number, proc: ChildProcess, output: () => string, timeoutMs = 5000): Promise<void> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const table = readFileSync('/proc/net/udp', 'utf8');
    if (table.includes(`:${hex} 00000000:0000`)) return;
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`ipmi_sim exited before binding 127.0.0.1:${port}: ${output()}`);
    if (Date.now() > deadline) throw new Error(`ipmi_sim did not bind 127.0.0.1:${port} within ${timeoutMs} ms: ${output()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
