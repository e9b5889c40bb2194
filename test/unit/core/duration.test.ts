import { formatDuration, parseDuration } from '../../../src/core/duration';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['90s', 90_000],
    ['2m', 120_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1500],
    ['1d', 86_400_000],
    [' 10s ', 10_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toEqual({ ms });
  });

  it.each(['', '10', 's', '10 s', '10x', '-5s', '5s!'])('rejects %p with a message', (text) => {
    const r = parseDuration(text);
    expect('error' in r && r.error.length > 0).toBe(true);
  });

  it('formats for people', () => {
    expect(formatDuration(500)).toBe('500ms');
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(3_600_000)).toBe('1h');
  });
});
