import { BlackstartError } from '../../src/core/errors';

/** The BlackstartError a promise rejects with; fails the test if it resolves or rejects with anything else. */
export async function rejection(p: Promise<unknown>): Promise<BlackstartError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(BlackstartError);
    return err as BlackstartError;
  }
  throw new Error('expected a rejection');
}
