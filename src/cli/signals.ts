import { toBlackstartError } from '../core/errors';
import type { Logger } from '../core/logger';

/**
 * Runs until SIGINT or SIGTERM, then stops what was started and resolves with the exit code:
 * 0 after a clean stop, 1 when stopping failed or took longer than 5 s.
 */
export function untilSignal(log: Logger, stop: () => Promise<void>): Promise<number> {
  return new Promise<number>((resolve) => {
    const onSignal = (signal: string): void => {
      log.info({ signal }, 'stopping');
      const force = setTimeout(() => resolve(1), 5000);
      force.unref();
      stop().then(
        () => {
          clearTimeout(force);
          resolve(0);
        },
        (err: unknown) => {
          log.error({ err: toBlackstartError(err).message }, 'error while stopping');
          resolve(1);
        },
      );
    };
    process.once('SIGINT', () => onSignal('SIGINT'));
    process.once('SIGTERM', () => onSignal('SIGTERM'));
  });
}
