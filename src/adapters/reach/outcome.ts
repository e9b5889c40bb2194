/** What one probe method found out about one host in one sweep. */
export interface MethodOutcome {
  method: 'tcp' | 'icmp' | 'http';
  ok: boolean;
  /** Round trip (ICMP), connect time (TCP) or time to response headers (HTTP), in ms. */
  latencyMs: number | null;
  /** Why it failed, naming the method and target; null when ok. */
  error: string | null;
}

/** Milliseconds with 0.01 ms resolution, which is what ping tools print. */
export function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100;
}
