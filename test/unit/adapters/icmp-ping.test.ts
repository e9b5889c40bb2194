/**
 * The ping fallback's wait: fractions of a second only for a ping known to take them. The
 * command runner is scripted; the real iputils ping is driven in test/integration/scan.test.ts.
 */
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IcmpProber, pingTakesFractions, type RunResult } from '../../../src/adapters/reach/icmp';

describe('pingTakesFractions', () => {
  it.each([
    ['ping from iputils 20221126\nlibcap: yes, IDN: yes', true],
    ['ping from iputils 20240905', true],
    ['ping from iputils s20190709', true],
    ['ping from iputils s20200821', true],
    ['ping utility, iputils-s20180629', false],
    ['ping utility, iputils-s20161105', false],
    ['ping: invalid option -- \'V\'\nBusyBox v1.36.1 (2023-07-27) multi-call binary.', false],
    ['', false],
    ['ping from iputils 2022112', false],
  ])('%j → %s', (version, expected) => {
    expect(pingTakesFractions(version)).toBe(expected);
  });
});

describe('the ping fallback', () => {
  const withPing = (versionOutput: RunResult): { prober: IcmpProber; calls: string[][] } => {
    const dir = mkdtempSync(join(tmpdir(), 'bs-scripted-ping-'));
    symlinkSync('/bin/true', join(dir, 'ping'));
    const calls: string[][] = [];
    const prober = new IcmpProber({
      searchPath: dir,
      run: async (_file, args) => {
        calls.push([...args]);
        if (args[0] === '-V') return versionOutput;
        return { code: 1, stdout: '1 packets transmitted, 0 received, 100% packet loss, time 0ms\n', stderr: '' };
      },
    });
    return { prober, calls };
  };

  it('waits 0.5 s on a new iputils, and asks its version only once', async () => {
    const { prober, calls } = withPing({ code: 0, stdout: 'ping from iputils 20221126\n', stderr: '' });
    const r = await prober.sweep(['127.0.0.9', '127.0.0.10'], 500);
    await prober.sweep(['127.0.0.11'], 250);
    expect(calls.filter((a) => a[0] === '-V')).toHaveLength(1);
    expect(calls.filter((a) => a[0] !== '-V')).toEqual([
      ['-n', '-c', '1', '-W', '0.5', '127.0.0.9'],
      ['-n', '-c', '1', '-W', '0.5', '127.0.0.10'],
      ['-n', '-c', '1', '-W', '0.25', '127.0.0.11'],
    ]);
    expect(r.get('127.0.0.9')?.error).toBe('icmp 127.0.0.9: no echo reply within 0.5 s');
  });

  it('rounds up to whole seconds for an old iputils or a ping that does not say', async () => {
    for (const version of [
      { code: 0, stdout: 'ping utility, iputils-s20161105\n', stderr: '' },
      { code: 1, stdout: '', stderr: "ping: invalid option -- 'V'\n" },
      { code: null, stdout: '', stderr: '', failure: 'killed after 2000 ms' },
    ]) {
      const { prober, calls } = withPing(version);
      const r = await prober.sweep(['127.0.0.9'], 1500);
      expect(calls.at(-1)).toEqual(['-n', '-c', '1', '-W', '2', '127.0.0.9']);
      expect(r.get('127.0.0.9')?.error).toBe('icmp 127.0.0.9: no echo reply within 2 s');
    }
  });
});
