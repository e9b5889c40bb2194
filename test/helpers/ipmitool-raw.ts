/**
 * An IpmiRequest over `ipmitool raw` against the test ipmi_sim: one ipmitool process (one RMCP+
 * session) per request. Slow (~50 ms a call) but real, so the SDR reader can be checked against
 * a real BMC without the native client.
 */
import { BlackstartError } from '../../src/core/errors';
import type { IpmiRequest } from '../../src/adapters/ipmi/sensors';
import type { IpmiSim } from './ipmi-sim';

export class IpmitoolCompletionError extends BlackstartError {
  constructor(
    readonly completionCode: number,
    message: string,
  ) {
    super('PROTOCOL', message);
  }
}

export interface RawExchange {
  netFn: number;
  cmd: number;
  lun: number;
  data: number[];
  /** Response data, or the completion code when ipmitool reported one. */
  response: Buffer | { completionCode: number };
}

const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;

/** ipmitool prints response bytes as " 2d c0 00 00", wrapping every 16 bytes. */
export function parseRawOutput(stdout: string): Buffer {
  const words = stdout.split(/\s+/).filter(Boolean);
  for (const w of words) if (!/^[0-9a-f]{2}$/i.test(w)) throw new BlackstartError('PROTOCOL', `ipmitool raw: unexpected output word ${JSON.stringify(w)}`);
  return Buffer.from(words.map((w) => parseInt(w, 16)));
}

export function ipmitoolRequest(sim: IpmiSim, onExchange?: (e: RawExchange) => void): IpmiRequest {
  return async (netFn, cmd, data = [], opts = {}) => {
    const bytes = [...data];
    const lun = opts.lun ?? 0;
    const args = [...(lun ? ['-l', String(lun)] : []), 'raw', hex(netFn), hex(cmd), ...bytes.map(hex)];
    const r = await sim.ipmitool(args);
    if (r.code !== 0) {
      const m = /rsp=0x([0-9a-f]{2})/i.exec(r.stderr);
      if (m) {
        const cc = parseInt(m[1]!, 16);
        onExchange?.({ netFn, cmd, lun, data: bytes, response: { completionCode: cc } });
        throw new IpmitoolCompletionError(cc, `ipmitool raw ${args.slice(1).join(' ')}: completion code ${hex(cc)}`);
      }
      throw new BlackstartError('UNREACHABLE', `ipmitool raw ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    }
    const response = parseRawOutput(r.stdout);
    onExchange?.({ netFn, cmd, lun, data: bytes, response });
    return response;
  };
}
