/** A host's `probe:` block: which methods say it answers, how often, and how patiently. */
import { z } from 'zod';
import { duration, port, section } from '../../config/fields';
import { DEFAULT_EXPECT, type HttpProbeSpec, type StatusRanges } from './http';

/** `200`, or a class such as `2xx`. */
const statusSpec = z.union([
  z.number().int().min(100).max(599),
  z.string().regex(/^[1-5]xx$/, 'a status class such as 2xx, or a number such as 204'),
]);

function toRanges(spec: number | string | (number | string)[] | undefined): StatusRanges {
  if (spec === undefined) return DEFAULT_EXPECT;
  return (Array.isArray(spec) ? spec : [spec]).map((s) => {
    if (typeof s === 'number') return [s, s] as const;
    const lo = Number(s[0]) * 100;
    return [lo, lo + 99] as const;
  });
}

const httpUrl = z.string().refine((u) => {
  try {
    return ['http:', 'https:'].includes(new URL(u).protocol);
  } catch {
    return false;
  }
}, 'an http:// or https:// URL');

const httpObject = section({
  url: httpUrl,
  method: z.enum(['GET', 'HEAD']).default('GET'),
  /** Status codes that mean "up": a number, a class such as `2xx`, or a list; default 2xx and 3xx. */
  expect_status: z.union([statusSpec, z.array(statusSpec).min(1)]).optional(),
  /** Accept a self-signed or otherwise unverifiable certificate. */
  insecure: z.boolean().default(false),
});

const httpProbe = z.union([httpUrl, httpObject]).transform(
  (h): HttpProbeSpec =>
    typeof h === 'string'
      ? { url: h, method: 'GET', expectStatus: DEFAULT_EXPECT, insecure: false }
      : { url: h.url, method: h.method, expectStatus: toRanges(h.expectStatus), insecure: h.insecure },
);

export const probeSchema = section({
  /** Name or address to probe by TCP and ICMP; defaults to the host's own address where the host has one. */
  address: z.string().min(1).optional(),
  /** Ports to connect to; the host is up when any of them accepts. */
  tcp: z.array(port).min(1).optional(),
  /** ICMP echo through fping (or ping). */
  icmp: z.boolean().default(false),
  http: httpProbe.optional(),
  interval: duration({ min: 250, max: 3_600_000 }).prefault('5s'),
  timeout: duration({ min: 10, max: 60_000 }).prefault('1s'),
  /** Failed probes in a row before the host counts as unreachable. */
  fail_after: z.number().int().min(1).max(100).default(3),
  /** Good probes in a row before it counts as reachable again. */
  succeed_after: z.number().int().min(1).max(100).default(1),
}).superRefine((c, ctx) => {
  if (!c.tcp && !c.icmp && !c.http) {
    ctx.addIssue({ code: 'custom', path: [], message: 'a probe needs at least one method: tcp: [ports], icmp: true or http: <url>' });
  }
  if (c.timeout >= c.interval) {
    ctx.addIssue({ code: 'custom', path: ['timeout'], message: `must be shorter than interval (${c.interval} ms)` });
  }
});

export type ProbeConfig = z.output<typeof probeSchema>;
