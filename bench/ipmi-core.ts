/**
 * IPMI client figures against a real ipmi_sim on loopback: chassis status over one persistent
 * session vs one ipmitool process per query, and session open time. Prints; asserts nothing.
 * Run: node dist/bench/ipmi-core.js  (the lead's bench/run.ts can import measureIpmiCore).
 */
import { execFile } from 'node:child_process';
import { IpmiClient, type CipherSuiteChoice } from '../src/adapters/ipmi/client';
import { IPMI_USERS, startIpmiSim } from '../test/helpers/ipmi-sim';

export interface IpmiCoreFigures {
  persistentStatusP50: number;
  ipmitoolStatusP50: number;
  openP50: Record<string, number>;
  n: number;
}

const p50 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export async function measureIpmiCore(n = 30): Promise<IpmiCoreFigures> {
  const sim = await startIpmiSim({ power: true });
  const u = IPMI_USERS.admin;
  try {
    const client = new IpmiClient({ host: sim.host, port: sim.port, username: u.username, password: u.password, cipherSuite: 3, keepAliveMs: 0 });
    await client.chassisStatus();
    const persistent: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await client.chassisStatus();
      persistent.push(performance.now() - t);
    }
    await client.close();

    const tool: number[] = [];
    const args = ['-I', 'lanplus', '-H', sim.host, '-p', String(sim.port), '-U', u.username, '-P', u.password, '-C', '3', 'chassis', 'power', 'status'];
    for (let i = 0; i < Math.min(n, 15); i++) {
      const t = performance.now();
      await new Promise<void>((resolve, reject) => execFile('ipmitool', args, (err) => (err ? reject(err) : resolve())));
      tool.push(performance.now() - t);
    }

    const openP50: Record<string, number> = {};
    for (const suite of [3, 'auto'] as CipherSuiteChoice[]) {
      const times: number[] = [];
      for (let i = 0; i < n; i++) {
        const c = new IpmiClient({ host: sim.host, port: sim.port, username: u.username, password: u.password, cipherSuite: suite, keepAliveMs: 0 });
        const t = performance.now();
        await c.open();
        times.push(performance.now() - t);
        await c.close();
      }
      openP50[String(suite)] = p50(times);
    }
    return { persistentStatusP50: p50(persistent), ipmitoolStatusP50: p50(tool), openP50, n };
  } finally {
    await sim.stop();
  }
}

if (require.main === module) {
  void measureIpmiCore().then((f) => {
    const ms = (x: number): string => `${x.toFixed(2)} ms`;
    console.log(`IPMI (ipmi_sim on loopback, n=${f.n})`);
    console.log(`  chassis status, persistent session (suite 3) p50: ${ms(f.persistentStatusP50)}`);
    console.log(`  ipmitool -I lanplus -C 3 chassis power status (one process) p50: ${ms(f.ipmitoolStatusP50)}`);
    for (const [k, v] of Object.entries(f.openP50)) console.log(`  session open, cipher suite ${k}, p50: ${ms(v)}`);
  });
}
