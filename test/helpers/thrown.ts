import { BlackstartError } from '../../src/core/errors';

/** The BlackstartError `fn` throws; fails the test when it returns or throws anything else. */
export function thrown(fn: () => unknown): BlackstartError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BlackstartError);
    return err as BlackstartError;
  }
  throw new Error('expected a throw');
}
