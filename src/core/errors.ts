/**
 * One error class with a fixed set of codes, so every face (CLI exit code, MQTT result,
 * Node-RED catch, HomeKit "not responding") maps a failure the same way.
 */
export const ERROR_CODES = {
  CONFIG: { exit: 1, hint: 'the configuration is invalid' },
  BAD_REQUEST: { exit: 2, hint: 'the request is malformed or names an unknown action' },
  AUTH: { exit: 3, hint: 'authentication failed' },
  UNREACHABLE: { exit: 4, hint: 'the device or server cannot be reached' },
  TIMEOUT: { exit: 5, hint: 'no answer in time' },
  PROTOCOL: { exit: 6, hint: 'the peer answered something we cannot understand' },
  REFUSED: { exit: 7, hint: 'the peer or a policy refused the request' },
  NOT_FOUND: { exit: 8, hint: 'no such UPS, host or resource' },
  UNSUPPORTED: { exit: 9, hint: 'the device has no method for this action' },
  BUSY: { exit: 10, hint: 'another operation is in progress' },
  CANCELLED: { exit: 11, hint: 'the operation was cancelled' },
  INTERNAL: { exit: 70, hint: 'a bug: please report it' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

export class BlackstartError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BlackstartError';
    this.code = code;
  }

  /** The shape used on MQTT result topics and in Node-RED messages. */
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** Wraps anything thrown into a BlackstartError; unknown failures become INTERNAL. */
export function toBlackstartError(err: unknown): BlackstartError {
  if (err instanceof BlackstartError) return err;
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
      return new BlackstartError('UNREACHABLE', err.message, { cause: err });
    }
    if (code === 'ETIMEDOUT') return new BlackstartError('TIMEOUT', err.message, { cause: err });
    return new BlackstartError('INTERNAL', err.message, { cause: err });
  }
  return new BlackstartError('INTERNAL', String(err));
}

export function exitCodeFor(err: unknown): number {
  return ERROR_CODES[toBlackstartError(err).code].exit;
}
