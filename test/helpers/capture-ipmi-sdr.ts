/**
 * Writes test/fixtures/ipmi-sdr/ from a real ipmi_sim (see that folder's README). Run after a
 * build: `node dist-sdr/test/helpers/capture-ipmi-sdr.js [outDir]`. Uses only `ipmitool raw` and
 * `ipmitool sdr list`, never the code under test, so the fixtures are independent of it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startIpmiSim, type IpmiSim } from './ipmi-sim';
import { ipmitoolRequest, type RawExchange } from './ipmitool-raw';
import { repoRoot } from './repo';

const h = (bytes: Iterable<number>): string => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');

function transcriptLine(e: RawExchange): string {
  const req = `> ${h([e.netFn, e.cmd, ...e.data])}`;
  return Buffer.isBuffer(e.response) ? `${req}\n< ${h(e.response)}`.trimEnd() : `${req}\n! ${h([e.response.completionCode])}`;
}

async function main(): Promise<void> {
  const out = process.argv[2] ?? join(repoRoot(), 'test/fixtures/ipmi-sdr');
  mkdirSync(out, { recursive: true });
  const sim: IpmiSim = await startIpmiSim({ temp: 45, fanRaw: 60 });
  try {
    let log: RawExchange[] = [];
    const req = ipmitoolRequest(sim, (e) => log.push(e));
    const quiet = async (netFn: number, cmd: number, data: number[]): Promise<void> => {
      await req(netFn, cmd, data).catch(() => undefined);
    };

    // The walk ipmitool itself does: header (5 bytes) then 16-byte body reads.
    await req(0x0a, 0x20);
    const res = await req(0x0a, 0x22);
    const [rl, rh] = [res[0]!, res[1]!];
    const records: string[] = [];
    let id = 0;
    for (let guard = 0; guard < 64; guard++) {
      const head = await req(0x0a, 0x23, [rl, rh, id & 0xff, id >> 8, 0, 5]);
      const next = head.readUInt16LE(0);
      const header = head.subarray(2);
      const realId = header.readUInt16LE(0);
      const total = 5 + header[4]!;
      const bytes = [...header];
      while (bytes.length < total) {
        const part = await req(0x0a, 0x23, [rl, rh, realId & 0xff, realId >> 8, bytes.length, Math.min(16, total - bytes.length)]);
        bytes.push(...part.subarray(2));
      }
      records.push(`${h([realId >> 8, realId & 0xff]).replace(' ', '')} ${h([next >> 8, next & 0xff]).replace(' ', '')} ${h(bytes)}`);
      if (next === 0xffff) break;
      id = next;
    }
    writeFileSync(join(out, 'walk.txt'), `${log.map(transcriptLine).join('\n')}\n`);
    writeFileSync(join(out, 'records.hex'), `# record-id next-id bytes (header + body), assembled from walk.txt\n${records.join('\n')}\n`);

    // Completion codes the walk must cope with, as this BMC really answers them.
    log = [];
    await quiet(0x0a, 0x23, [rl, rh, 0x02, 0x00, 0x00, 0xff]); // more bytes than it will return: 0xca
    await quiet(0x0a, 0x23, [rl ^ 0xff, rh, 0x02, 0x00, 0x05, 0x10]); // a reservation it never gave: 0xc5
    await quiet(0x0a, 0x23, [rl, rh, 0x04, 0x00, 0x00, 0x05]); // no such record: 0xcb
    await quiet(0x04, 0x2d, [0x00]); // sensor 0 (the watchdog, no SDR): 0xcc
    await quiet(0x04, 0x2d, [0x09]); // no such sensor
    writeFileSync(join(out, 'errors.txt'), `${log.map(transcriptLine).join('\n')}\n`);

    const scenarios: [string, number, number][] = [
      ['normal', 45, 60],
      ['critical', 85, 7],
      ['noncritical', 72, 60],
      ['fan-low', 45, 9],
    ];
    for (const [name, temp, fan] of scenarios) {
      sim.setTemp(temp);
      sim.setFanRaw(fan);
      await new Promise((r) => setTimeout(r, 1300));
      log = [];
      await req(0x04, 0x2d, [0x01]);
      await req(0x04, 0x2d, [0x02]);
      const list = await sim.ipmitool(['sdr', 'list']);
      writeFileSync(join(out, `readings-${name}.txt`), `# temp.val=${temp} fan.raw=${fan}\n${log.map(transcriptLine).join('\n')}\n`);
      writeFileSync(join(out, `sdr-list-${name}.txt`), list.stdout);
    }
  } finally {
    await sim.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
