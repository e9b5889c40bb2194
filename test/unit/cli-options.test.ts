import { durationOption, wholeNumberOption } from '../../src/cli/options';
import { thrown } from '../helpers/thrown';

describe('command-line option values', () => {
  it('reads durations and refuses them out of range, naming the option', () => {
    expect(durationOption('500ms', '--timeout')).toBe(500);
    expect(durationOption('2m', '--interval')).toBe(120_000);
    expect(thrown(() => durationOption('soon', '--timeout')).message).toMatch(/^--timeout: /);
    const range = { min: 10, max: 60_000, says: 'between 10ms and 60s' };
    expect(durationOption('60s', '--timeout', range)).toBe(60_000);
    expect(thrown(() => durationOption('61s', '--timeout', range))).toMatchObject({ code: 'BAD_REQUEST', message: '--timeout: between 10ms and 60s' });
  });

  it('reads whole numbers from digits only, within a range when given', () => {
    expect(wholeNumberOption('9', '--port')).toBe(9);
    expect(wholeNumberOption('0', '--repeat')).toBe(0);
    for (const bad of ['1e3', '0x10', '-1', '2.5', '', ' 4']) {
      expect(thrown(() => wholeNumberOption(bad, '--port'))).toMatchObject({ code: 'BAD_REQUEST', message: `--port: "${bad}" is not a whole number` });
    }
    expect(wholeNumberOption('4096', '--concurrency', { min: 1, max: 4096 })).toBe(4096);
    expect(thrown(() => wholeNumberOption('0', '--concurrency', { min: 1, max: 4096 })).message).toBe('--concurrency: "0" is not a whole number from 1 to 4096');
  });
});
