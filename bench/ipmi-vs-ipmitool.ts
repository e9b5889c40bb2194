/**
 * Our native client with one persistent session against an `ipmitool` process per command (a new
 * process and a new RMCP+ session each time), both talking to the same real ipmi_sim on loopback.
 */
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { nativeBmc } from '../src/adapters/host/ipmi';
import { IPMI_USERS, ipmiSimMissing, startIpmiSim, type IpmiSim } from '../test/helpers/ipmi-sim';
import { percentile } from './mqtt-latency';

export interface IpmiBenchRow {
  what: string;
  ours: { p50: number; max: number; n: number };
  ipmitool: { p50: number; max: number; n: number };
}

export interface IpmiBench {
  rows: IpmiBenchRow[];
  /** Session set-up time of the native client: suite 3 given, and `auto` negotiation. */
  openSuite3: number;
  openAuto: number;
  autoSuite: number | string | undefined;
}

const stats = (xs: number[]): { p50: number; max: number; n: number } => ({ p50: percentile(xs, 50), max: Math.max(...xs), n: xs.length });

async function timed(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

function ipmitool(sim: IpmiSim, args: string[]): Promise<void> {
  const u = IPMI_USERS.admin;
  const base = ['-I', 'lanplus', '-C', '3', '-H', sim.host, '-p', String(sim.port), '-U', u.username, '-P', u.password];
  return new Promise((resolve, reject) => execFile('ipmitool', [...base, ...args], (err) => (err ? reject(err) : resolve())));
}

export async function measureIpmi(runs = 30): Promise<IpmiBench | string> {
  const missing = ipmiSimMissing();
  if (missing) return missing;
  const sim = await startIpmiSim();
  const u = IPMI_USERS.admin;
  const opts = { host: sim.host, port: sim.port, username: u.username, password: u.password, privilege: 'administrator' as const, keepAliveMs: 0 };
  try {
    const opens3: number[] = [];
    const opensAuto: number[] = [];
    let autoSuite: number | string | undefined;
    for (let i = 0; i < 5; i++) {
      for (const suite of [3, 'auto'] as const) {
        const b = nativeBmc({ ...opts, cipherSuite: suite });
        const t0 = performance.now();
        await b.client.open();
        (suite === 3 ? opens3 : opensAuto).push(performance.now() - t0);
        if (suite === 'auto') autoSuite = b.client.activeCipherSuite;
        await b.close();
      }
    }

    const bmc = nativeBmc({ ...opts, cipherSuite: 3 });
    await bmc.client.open();
    await bmc.client.chassisStatus();
    await bmc.sensors(); // the SDR is read once and cached; a sweep then reads the sensors
    const status = await timed(runs, () => bmc.client.chassisStatus());
    const sweep = await timed(runs, () => bmc.sensors());
    const devId = await timed(runs, () => bmc.client.deviceId());
    await bmc.close();

    const toolStatus = await timed(Math.ceil(runs / 2), () => ipmitool(sim, ['chassis', 'power', 'status']));
    const toolSdr = await timed(Math.ceil(runs / 2), () => ipmitool(sim, ['sdr', 'list']));
    const toolMc = await timed(Math.ceil(runs / 2), () => ipmitool(sim, ['mc', 'info']));
    return {
      rows: [
        { what: 'chassis power status', ours: stats(status), ipmitool: stats(toolStatus) },
        { what: 'full sensor sweep', ours: stats(sweep), ipmitool: stats(toolSdr) },
        // No chassis script behind this one: the client's own cost, without the simulator's fork.
        { what: 'device id (mc info)', ours: stats(devId), ipmitool: stats(toolMc) },
      ],
      openSuite3: percentile(opens3, 50),
      openAuto: percentile(opensAuto, 50),
      autoSuite,
    };
  } finally {
    await sim.stop();
  }
}
