/**
 * SensorReader against a REAL ipmi_sim BMC (test/helpers/ipmi-sim.ts), over `ipmitool raw` as the
 * request function (test/helpers/ipmitool-raw.ts): what it reads must equal what `ipmitool sdr
 * list` prints for the same simulator, at normal, critical and non-critical values. Fails (does
 * not skip) when the binaries are missing: CI installs them.
 */
import { SensorReader, type SensorReadings } from '../../src/adapters/ipmi/sensors';
import { ipmiSimMissing, startIpmiSim, type IpmiSim } from '../helpers/ipmi-sim';
import { ipmitoolRequest, type RawExchange } from '../helpers/ipmitool-raw';
import { parseSdrList } from '../helpers/ipmi-sdr-fixtures';

const missing = ipmiSimMissing();

if (missing) {
  test('ipmi_sim, sdrcomp and ipmitool are installed', () => {
    throw new Error(`cannot run the ipmi_sim SDR tests: ${missing}`);
  });
} else {
  describe('SensorReader against a real ipmi_sim over ipmitool raw', () => {
    let sim: IpmiSim;
    let reader: SensorReader;
    let exchanges: RawExchange[] = [];

    beforeAll(async () => {
      sim = await startIpmiSim({ temp: 45, fanRaw: 60 });
      reader = new SensorReader(ipmitoolRequest(sim, (e) => exchanges.push(e)), { where: `127.0.0.1:${sim.port}` });
    });
    afterAll(async () => {
      await sim?.stop();
    });

    async function ipmitoolSdrList(): Promise<SensorReadings> {
      const r = await sim.ipmitool(['sdr', 'list']);
      expect(r.code).toBe(0);
      return Object.fromEntries(parseSdrList(r.stdout).map((l) => [l.name, { value: l.value, unit: l.unit, status: l.status }])) as SensorReadings;
    }

    async function settle(temp: number, fanRaw: number): Promise<void> {
      sim.setTemp(temp);
      sim.setFanRaw(fanRaw);
      // The simulator polls its value files once a second.
      await new Promise((r) => setTimeout(r, 1300));
    }

    test('normal values: the same sensors, values, units and statuses as ipmitool sdr list', async () => {
      exchanges = [];
      const got = await reader.read();
      const sweepRequests = exchanges.length;
      expect(got).toEqual(await ipmitoolSdrList());
      expect(got).toEqual({
        'CPU Temp': { value: 45, unit: 'degrees C', status: 'ok' },
        'Fan 1': { value: 3000, unit: 'RPM', status: 'ok' },
      });
      // Info + reserve, then per record a header read and ceil(body / 24) chunks (bodies of
      // 17, 51 and 48 bytes: 1, 3 and 2 chunks), then one reading per full sensor.
      expect(sweepRequests).toBe(1 + 1 + (1 + 1) + (1 + 3) + (1 + 2) + 2);
    });

    test('temp 85, fan raw 7: cr and nr, as ipmitool says; the cached SDR is not walked again', async () => {
      await settle(85, 7);
      exchanges = [];
      const got = await reader.read();
      expect(exchanges.filter((e) => e.netFn === 0x0a && e.cmd === 0x23)).toHaveLength(0);
      expect(exchanges).toHaveLength(3);
      expect(got).toEqual(await ipmitoolSdrList());
      expect(got['CPU Temp']).toEqual({ value: 85, unit: 'degrees C', status: 'cr' });
      expect(got['Fan 1']).toEqual({ value: 350, unit: 'RPM', status: 'nr' });
    });

    test('temp 72: nc, as ipmitool says', async () => {
      await settle(72, 60);
      const got = await reader.read();
      expect(got).toEqual(await ipmitoolSdrList());
      expect(got['CPU Temp']).toEqual({ value: 72, unit: 'degrees C', status: 'nc' });
      expect(got['Fan 1']!.status).toBe('ok');
    });

    test('the detailed form carries the SDR thresholds; ipmitool sensor list shows the same levels', async () => {
      const detail = await reader.readDetailed();
      const r = await sim.ipmitool(['sensor', 'list']);
      expect(r.code).toBe(0);
      // `sensor list`: name | value | unit | status | lnr | lcr | lnc | unc | ucr | unr. ipmitool
      // takes these from Get Sensor Thresholds, i.e. the simulator's emu file, which names the fan's
      // lower levels in the opposite order to its SDR (see test/fixtures/ipmi-sdr/README.md); so
      // compare which side is set and the set of values, and the names only for CPU Temp.
      const rows = r.stdout.split('\n').filter((l) => l.includes('|')).map((l) => l.split('|').map((s) => s.trim()));
      const names = ['lnr', 'lcr', 'lnc', 'unc', 'ucr', 'unr'] as const;
      for (const d of detail) {
        const row = rows.find((x) => x[0] === d.name);
        if (!row) throw new Error(`ipmitool sensor list has no ${d.name}`);
        const listed = Object.fromEntries(names.flatMap((t, i) => (row[4 + i] === 'na' ? [] : [[t, Number(row[4 + i])]])));
        const sorted = (o: object): number[] => Object.values(o as Record<string, number>).sort((a, b) => a - b);
        expect(sorted(d.thresholds)).toEqual(sorted(listed));
        expect(Object.keys(d.thresholds).map((k) => k[0]).sort()).toEqual(Object.keys(listed).map((k) => k[0]).sort());
      }
      expect(detail.find((d) => d.name === 'CPU Temp')!.thresholds).toEqual({ unc: 70, ucr: 80, unr: 90 });
    });
  });
}
