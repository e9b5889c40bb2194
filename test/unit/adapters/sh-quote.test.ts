/** POSIX sh quoting, checked against /bin/sh itself. */
import { execFileSync } from 'node:child_process';
import { BlackstartError } from '../../../src/core/errors';
import { shQuote } from '../../../src/adapters/sh-quote';

describe('shQuote', () => {
  it('gives vectors', () => {
    expect(shQuote('web')).toBe("'web'");
    expect(shQuote("it's")).toBe(`'it'\\''s'`);
    expect(shQuote('')).toBe("''");
  });

  it('survives /bin/sh unchanged for hostile text', () => {
    for (const text of ["O'Brien #1", '$(reboot)', '`id`', 'a;b && c | d', '"\\"', '*', '-rf', "''", 'x\\'.repeat(3), 'Zoë 日本']) {
      expect(execFileSync('/bin/sh', ['-c', `printf '%s' ${shQuote(text)}`], { encoding: 'utf8' })).toBe(text);
    }
  });

  it('refuses control characters, naming what it was given', () => {
    try {
      shQuote('a\nb', 'guest name');
      throw new Error('expected a throw');
    } catch (err) {
      expect(err).toBeInstanceOf(BlackstartError);
      expect((err as BlackstartError).code).toBe('BAD_REQUEST');
      expect((err as BlackstartError).message).toBe('guest name "a\\nb" holds a control character, which cannot be passed to a shell safely');
    }
  });
});
