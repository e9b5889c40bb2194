/** IPMI completion codes as text, and the one place a non-zero code becomes a BlackstartError. */
import { BlackstartError, type ErrorCode } from '../../core/errors';

const TEXT: Record<number, string> = {
  0x00: 'command completed normally',
  0xc0: 'node busy',
  0xc1: 'invalid or unsupported command',
  0xc2: 'command invalid for the given LUN',
  0xc3: 'timeout while processing the command',
  0xc4: 'out of space',
  0xc5: 'reservation cancelled or invalid reservation ID',
  0xc6: 'request data truncated',
  0xc7: 'request data length invalid',
  0xc8: 'request data field length limit exceeded',
  0xc9: 'parameter out of range',
  0xca: 'cannot return the number of requested data bytes',
  0xcb: 'requested sensor, data or record not present',
  0xcc: 'invalid data field in request',
  0xcd: 'command illegal for the specified sensor or record type',
  0xce: 'command response could not be provided',
  0xcf: 'cannot execute a duplicated request',
  0xd0: 'SDR repository in update mode',
  0xd1: 'device in firmware update mode',
  0xd2: 'BMC initialization in progress',
  0xd3: 'destination unavailable',
  0xd4: 'insufficient privilege level',
  0xd5: 'command not supported in present state',
  0xd6: 'parameter is illegal because the sub-function is disabled or unavailable',
  0xff: 'unspecified error',
};

export function completionText(code: number): string {
  const t = TEXT[code];
  if (t) return t;
  if (code >= 0x01 && code <= 0x7e) return 'OEM-specific completion code';
  if (code >= 0x80 && code <= 0xbe) return 'command-specific completion code';
  return 'unknown completion code';
}

export function completionHex(code: number): string {
  return `0x${code.toString(16).padStart(2, '0')}`;
}

export class IpmiCompletionError extends BlackstartError {
  readonly completionCode: number;

  constructor(code: ErrorCode, completionCode: number, message: string) {
    super(code, message);
    this.completionCode = completionCode;
  }
}

/** The error for a non-zero completion code of `what` (e.g. "Chassis Control at 127.0.0.1:623"). */
export function completionError(completionCode: number, what: string, specific?: Record<number, string>): IpmiCompletionError {
  const code: ErrorCode = completionCode === 0xd4 ? 'REFUSED' : completionCode === 0xc1 ? 'UNSUPPORTED' : 'PROTOCOL';
  const text = specific?.[completionCode] ?? completionText(completionCode);
  return new IpmiCompletionError(code, completionCode, `IPMI ${what}: completion code ${completionHex(completionCode)} (${text})`);
}

export function completionCodeOf(err: unknown): number | undefined {
  return err instanceof IpmiCompletionError ? err.completionCode : undefined;
}
