/** `npm run bench`: every benchmark, figures side by side. Loopback only. */
import { cpus } from 'node:os';
import { measureDemo } from './demo-startup';
import { measureIpmi } from './ipmi-vs-ipmitool';
import { measurePlanner } from './planner';
import { measureReachSweep } from './reach-sweep';
import { measureLatency } from './mqtt-latency';
import { measureDispatch } from './outage-dispatch';
import { measureUpsSources } from './ups-latency';
import { measureVirsh } from './virsh-session';

const ms = (x: number): string => `${x.toFixed(2)} ms`;

async function main(): Promise<void> {
  console.log(`Blackstart benchmarks — node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'})\n`);

  console.log('1. hub event → MQTT publish → subscriber receives, 200 hosts, QoS 1 retained');
  const rows = [await measureLatency('aedes'), await measureLatency('mosquitto')];
  console.log(
    table(
      ['broker', 'one at a time p50', 'p99', 'n', 'all 200 at once p50', 'p99', 'n', 'burst done (p50)'],
      rows.map((r) => [r.broker, ms(r.sequential.p50), ms(r.sequential.p99), String(r.sequential.n), ms(r.burst.p50), ms(r.burst.p99), String(r.burst.n), ms(r.burst.burstMs)]),
    ),
  );
  const [a, m] = rows as [(typeof rows)[0], (typeof rows)[0]];
  console.log(`   mosquitto / aedes p50 ratio: one at a time ${(m.sequential.p50 / a.sequential.p50).toFixed(2)}×, burst ${(m.burst.p50 / a.burst.p50).toFixed(2)}×\n`);

  console.log('2. demo (examples/demo.yaml): process start → subscriber holds all retained state; RSS 5 s after ready');
  const d = await measureDemo();
  console.log(table(['runs', 'time to ready p50', 'max', 'RSS p50'], [[String(d.runs), ms(d.readyMs), ms(d.readyMsMax), `${d.rssMiB.toFixed(1)} MiB`]]));

  console.log('\n3. UPS change at the source → subscriber receives blackstart/ups/<id> (on_battery_delay 0), real peers on loopback');
  const u = await measureUpsSources(12);
  console.log(table(['source', 'reader', 'n', 'p50', 'max'], u.map((r) => [r.source, r.how, String(r.n), ms(r.p50), ms(r.max)])));
  const base = u.find((r) => r.how.startsWith('upsc'));
  const fast = u.find((r) => r.how.includes('poll 1s') && r.source.startsWith('NUT'));
  if (base && fast) console.log(`   NUT: upsc at the 5 s default / blackstart at 1 s, p50 ratio ${(base.p50 / fast.p50).toFixed(1)}×`);

  console.log('\n4. IPMI against a real ipmi_sim: native client, one persistent session (suite 3) vs one `ipmitool -I lanplus -C 3` process per command');
  const ipmi = await measureIpmi(30);
  if (typeof ipmi === 'string') console.log(`   skipped: ${ipmi}`);
  else {
    console.log(
      table(
        ['command', 'ours p50', 'max', 'n', 'ipmitool p50', 'max', 'n', 'ratio (p50)'],
        ipmi.rows.map((r) => [r.what, ms(r.ours.p50), ms(r.ours.max), String(r.ours.n), ms(r.ipmitool.p50), ms(r.ipmitool.max), String(r.ipmitool.n), `${(r.ipmitool.p50 / r.ours.p50).toFixed(1)}×`]),
      ),
    );
    console.log(`   session open p50: suite 3 ${ms(ipmi.openSuite3)}, auto ${ms(ipmi.openAuto)} (chose ${String(ipmi.autoSuite)})`);
    console.log('   ipmi_sim forks its chassis script for every Get Chassis Status, for both clients; Get Device ID has no such cost.');
  }

  console.log('\n5. reachability: 1,000 loopback hosts (own 127.0.x.y address each, one TCP port) probed every 2 s for 20 s');
  const r = await measureReachSweep({ hosts: 1000, intervalMs: 2000, durationMs: 20_000 });
  console.log(
    table(
      ['hosts', 'sweeps', 'sweep p50', 'max', 'overruns', 'false unreachable', 'CPU', 'RSS max'],
      [[String(r.hosts), String(r.sweeps), ms(r.sweepP50Ms), ms(r.sweepMaxMs), String(r.overruns), String(r.unreachableReports), `${r.cpuPct.toFixed(1)} %`, `${r.rssMaxMb.toFixed(0)} MB`]],
    ),
  );

  console.log('\n6. outage planner: hosts in 10 dependency levels (seeded), 20 runs each');
  const p = measurePlanner(20);
  console.log(
    table(
      ['hosts', 'edges', 'waves', 'plan shutdown p50', 'max', 'plan restore p50', 'max'],
      [[String(p.hosts), String(p.edges), String(p.waves), ms(p.shutdownP50Ms), ms(p.shutdownMaxMs), ms(p.restoreP50Ms), ms(p.restoreMaxMs)]],
    ),
  );

  console.log('\n7. outage dispatch: UPS reading that fires the trigger → shutdown command at the host adapter; 200 hosts (150 → 40 → 10), real orchestrator, system clock');
  const od = await measureDispatch(40);
  console.log(
    table(
      ['journal', 'runs', 'first command p50', 'p99', `all ${od[0]?.wave0 ?? '?'} wave-0 p50`, 'p99', 'all down p50 (3 × 20 ms shutdowns)'],
      od.map((r) => [r.journal === 'file' ? 'file (fsync)' : 'memory', String(r.runs), ms(r.firstP50Ms), ms(r.firstP99Ms), ms(r.wave0P50Ms), ms(r.wave0P99Ms), ms(r.allDownP50Ms)]),
    ),
  );
  const [fj, mj] = od as [(typeof od)[0], (typeof od)[0]];
  console.log(`   fsync cost (p50, file − memory): first command ${ms(fj.firstP50Ms - mj.firstP50Ms)}, wave 0 ${ms(fj.wave0P50Ms - mj.wave0P50Ms)} (one intent record fsync'd per host before its command)`);

  console.log("\n8. guest listing on libvirt's test driver: the driver's persistent virsh session vs one `virsh list` process per read");
  const v = await measureVirsh(50);
  if (typeof v === 'string') console.log(`   skipped: ${v}`);
  else {
    console.log(
      table(
        ['reads', 'session p50', 'max', 'virsh per read p50', 'max', 'ratio (p50)', 'session start (first read)'],
        [[String(v.n), ms(v.session.p50), ms(v.session.max), ms(v.perProcess.p50), ms(v.perProcess.max), `${(v.perProcess.p50 / v.session.p50).toFixed(1)}×`, ms(v.sessionFirstMs)]],
      ),
    );
  }
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => '   ' + cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
