/**
 * TCP reachability: connect to each listed port and hang up. The host counts as up when any
 * port accepts. A refused port proves the host's kernel answered but the service is down; it
 * still counts as a failure, because the ports are listed to say which service must answer.
 * The per-port detail keeps "refused" apart from "timed out".
 */
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { roundMs, type MethodOutcome } from './outcome';

export type PortState = 'open' | 'refused' | 'timeout' | 'error';

export interface PortResult {
  port: number;
  state: PortState;
  latencyMs: number | null;
  /** The system error code for `error` (EHOSTUNREACH, …). */
  code?: string;
}

export interface TcpOutcome extends MethodOutcome {
  method: 'tcp';
  ports: PortResult[];
}

export function probePort(host: string, port: number, timeoutMs: number): Promise<PortResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect({ host, port });
    let done = false;
    const finish = (r: PortResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // A reset frees the port at once: a probe every few seconds to many hosts would
      // otherwise pile up sockets in TIME_WAIT. A connect still in flight is dropped instead:
      // resetAndDestroy would wait for it to connect, keeping the socket (and the SYN retries)
      // alive for minutes after a timeout.
      if (socket.connecting) socket.destroy();
      else socket.resetAndDestroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ port, state: 'timeout', latencyMs: null }), timeoutMs);
    socket.once('connect', () => finish({ port, state: 'open', latencyMs: roundMs(performance.now() - started) }));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') finish({ port, state: 'refused', latencyMs: null });
      else finish({ port, state: 'error', latencyMs: null, code: err.code ?? err.message });
    });
  });
}

export async function probeTcp(host: string, ports: readonly number[], timeoutMs: number): Promise<TcpOutcome> {
  const results = await Promise.all(ports.map((p) => probePort(host, p, timeoutMs)));
  const open = results.filter((r) => r.state === 'open');
  if (open.length > 0) {
    return { method: 'tcp', ok: true, latencyMs: Math.min(...open.map((r) => r.latencyMs as number)), error: null, ports: results };
  }
  const why = results.map((r) => `${r.port} ${r.state === 'timeout' ? `timed out after ${timeoutMs} ms` : r.state === 'refused' ? 'refused' : (r.code ?? 'failed')}`);
  return { method: 'tcp', ok: false, latencyMs: null, error: `tcp ${host}: ${why.join(', ')}`, ports: results };
}
