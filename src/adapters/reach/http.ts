/** HTTP(S) reachability: one request on a fresh connection, judged by its status code. */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import { roundMs, type MethodOutcome } from './outcome';

/** Inclusive status ranges. */
export type StatusRanges = readonly (readonly [number, number])[];
/** 2xx or 3xx: a redirect to a login page still proves the server answers. */
export const DEFAULT_EXPECT: StatusRanges = [
  [200, 299],
  [300, 399],
];

export interface HttpProbeSpec {
  url: string;
  method: 'GET' | 'HEAD';
  expectStatus: StatusRanges;
  /** Accept any TLS certificate (a self-signed one on a BMC or NAS). */
  insecure: boolean;
}

export interface HttpOutcome extends MethodOutcome {
  method: 'http';
  status: number | null;
}

export function describeRanges(ranges: StatusRanges): string {
  return ranges.map(([lo, hi]) => (lo === hi ? String(lo) : hi - lo === 99 && lo % 100 === 0 ? `${lo / 100}xx` : `${lo}-${hi}`)).join(', ');
}

export function probeHttp(spec: HttpProbeSpec, timeoutMs: number): Promise<HttpOutcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    const fail = (error: string, status: number | null = null): void =>
      resolve({ method: 'http', ok: false, latencyMs: null, error: `http ${spec.method} ${spec.url}: ${error}`, status });
    let url: URL;
    try {
      url = new URL(spec.url);
    } catch {
      fail('not a valid URL');
      return;
    }
    const signal = AbortSignal.timeout(timeoutMs);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    // A fresh connection each time (agent: false): a pooled keep-alive socket could hide a dead server.
    const req = send(url, { method: spec.method, agent: false, signal, rejectUnauthorized: !spec.insecure, headers: { 'user-agent': 'blackstart-probe' } });
    req.once('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const latencyMs = roundMs(performance.now() - started);
      res.destroy();
      if (spec.expectStatus.some(([lo, hi]) => status >= lo && status <= hi)) {
        resolve({ method: 'http', ok: true, latencyMs, error: null, status });
      } else {
        fail(`status ${status}, expected ${describeRanges(spec.expectStatus)}`, status);
      }
    });
    req.once('error', (err: NodeJS.ErrnoException) => {
      if (signal.aborted) fail(`no answer within ${timeoutMs} ms`);
      else if (err.code === 'ECONNREFUSED') fail('connection refused');
      else if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(err.code ?? '')) fail(`${err.code} (set insecure: true to accept this certificate)`);
      else fail(err.code ?? err.message);
    });
    req.end();
  });
}
