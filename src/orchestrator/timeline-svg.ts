/**
 * A simulation drawn as one self-contained SVG: the battery on top (charge and runtime left),
 * one row per host below with its shutdown and restore bars, on a shared axis in minutes from
 * the power cut. No fonts, scripts or styles from outside; the same result always draws the same
 * bytes, so a drawing can be diffed and kept in a test.
 */
import { formatDuration } from '../core/duration';
import type { RestoreStepResult, ShutdownStepResult, SimulationResult } from './simulate';
import { clockText as clock } from './simulate-report';

const WIDTH = 960;
const LEFT = 130;
const RIGHT = 70;
const PLOT_W = WIDTH - LEFT - RIGHT;
const LEGEND_Y = 44;
const BATTERY_TOP = 70;
const BATTERY_H = 150;
const ROWS_TOP = BATTERY_TOP + BATTERY_H + 30;
const ROW_H = 24;
const BAR_H = 12;

const COLOURS = {
  shutdown: '#2563eb',
  forced: '#ea580c',
  failed: '#dc2626',
  restore: '#16a34a',
  planned: '#94a3b8',
  skipped: '#94a3b8',
  charge: '#0891b2',
  runtime: '#7c3aed',
  lost: '#b91c1c',
  back: '#15803d',
  budget: '#d97706',
  flat: '#111827',
  grid: '#e2e8f0',
  axis: '#475569',
};

export function timelineSvg(r: SimulationResult): string {
  const t0 = Math.min(r.startMs, 0);
  const t1 = Math.max(r.endMs, r.powerRestoredMs, r.budget.runsOutMs, t0 + 60_000);
  const x = (t: number): number => LEFT + ((t - t0) / (t1 - t0)) * PLOT_W;
  const hosts = rowHosts(r);
  const rowsBottom = ROWS_TOP + Math.max(1, hosts.length) * ROW_H;
  const height = rowsBottom + 46;
  const out: string[] = [];

  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>${esc(title(r))}</title>`,
    '<defs>',
    `<pattern id="forced" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="${COLOURS.forced}" fill-opacity="0.35"/><rect width="3" height="6" fill="${COLOURS.forced}"/></pattern>`,
    '</defs>',
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${LEFT}" y="22" font-size="14" font-weight="bold">${esc(title(r))}</text>`,
  );
  out.push(...legend());
  out.push(...grid(r, t0, t1, x, rowsBottom));
  out.push(...battery(r, x));
  out.push(...rows(r, hosts, x));
  out.push(...markers(r, x, rowsBottom));
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function title(r: SimulationResult): string {
  const b = r.budget;
  return `UPS ${r.ups}: ${formatDuration(b.runtimeMs)} runtime, ${formatDuration(b.reserveMs)} reserve; the plan needs ${formatDuration(b.neededMs)}${b.fits ? '' : ' (over budget)'}${r.ok ? '' : ' | FAILED'}`;
}

/** Hosts in the order the plan took them down, then any only restored. */
function rowHosts(r: SimulationResult): string[] {
  const ids: string[] = [];
  for (const s of [...r.shutdown, ...r.restore]) if (!ids.includes(s.host)) ids.push(s.host);
  return ids;
}

function legend(): string[] {
  const items: [string, string][] = [
    ['shutdown', `fill="${COLOURS.shutdown}"`],
    ['forced off', 'fill="url(#forced)"'],
    ['failed', `fill="${COLOURS.failed}"`],
    ['restore', `fill="${COLOURS.restore}"`],
    ['planned', `fill="none" stroke="${COLOURS.planned}"`],
  ];
  const out: string[] = ['<g class="legend">'];
  let at = LEFT;
  for (const [label, paint] of items) {
    out.push(`<rect x="${at}" y="${LEGEND_Y - 9}" width="14" height="10" ${paint}/>`, `<text x="${at + 18}" y="${LEGEND_Y}">${label}</text>`);
    at += 28 + label.length * 6;
  }
  const lines: [string, string, string][] = [
    ['charge %', COLOURS.charge, ' stroke-opacity="0.55" stroke-width="4"'],
    ['runtime left', COLOURS.runtime, ' stroke-width="1.5" stroke-dasharray="6 3"'],
  ];
  for (const [label, colour, style] of lines) {
    out.push(`<line x1="${at}" y1="${LEGEND_Y - 4}" x2="${at + 16}" y2="${LEGEND_Y - 4}" stroke="${colour}"${style}/>`, `<text x="${at + 20}" y="${LEGEND_Y}">${label}</text>`);
    at += 30 + label.length * 6;
  }
  out.push('</g>');
  return out;
}

function grid(r: SimulationResult, t0: number, t1: number, x: (t: number) => number, rowsBottom: number): string[] {
  const stepMin = [1, 2, 5, 10, 15, 20, 30, 60, 120, 240].find((m) => (t1 - t0) / (m * 60_000) <= 12) ?? 480;
  const step = stepMin * 60_000;
  const out: string[] = ['<g class="axis">'];
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
    const xt = num(x(t));
    out.push(
      `<line x1="${xt}" y1="${BATTERY_TOP}" x2="${xt}" y2="${rowsBottom}" stroke="${COLOURS.grid}"/>`,
      `<text x="${xt}" y="${rowsBottom + 16}" text-anchor="middle" fill="${COLOURS.axis}">${Math.round(t / 60_000)}</text>`,
    );
  }
  out.push(
    `<line x1="${LEFT}" y1="${rowsBottom}" x2="${LEFT + PLOT_W}" y2="${rowsBottom}" stroke="${COLOURS.axis}"/>`,
    `<text x="${LEFT + PLOT_W / 2}" y="${rowsBottom + 34}" text-anchor="middle" fill="${COLOURS.axis}">minutes from the power cut (virtual time)</text>`,
    `<rect x="${LEFT}" y="${BATTERY_TOP}" width="${PLOT_W}" height="${BATTERY_H}" fill="none" stroke="${COLOURS.axis}"/>`,
  );
  for (const pct of [0, 50, 100]) {
    const y = num(BATTERY_TOP + BATTERY_H * (1 - pct / 100));
    out.push(`<text x="${LEFT - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="${COLOURS.charge}">${pct}%</text>`);
  }
  const top = runtimeTop(r);
  for (const frac of [0, 0.5, 1]) {
    const y = num(BATTERY_TOP + BATTERY_H * (1 - frac));
    out.push(`<text x="${LEFT + PLOT_W + 6}" y="${y}" dominant-baseline="middle" fill="${COLOURS.runtime}">${frac === 0 ? '0' : esc(formatDuration(Math.round(top * frac)))}</text>`);
  }
  out.push(
    `<text x="${LEFT - 6}" y="${BATTERY_TOP + BATTERY_H * 0.25}" text-anchor="end" dominant-baseline="middle" fill="${COLOURS.charge}">charge</text>`,
    `<text x="${LEFT + PLOT_W + 6}" y="${BATTERY_TOP + BATTERY_H * 0.25}" dominant-baseline="middle" fill="${COLOURS.runtime}">runtime</text>`,
  );
  out.push('</g>');
  return out;
}

/**
 * The runtime axis ends on a round figure a little above the longest runtime seen, so the runtime
 * curve does not sit exactly on the charge curve when the two drain in step.
 */
function runtimeTop(r: SimulationResult): number {
  const longest = Math.max(r.budget.runtimeMs, ...r.samples.map((s) => (s.runtimeS ?? 0) * 1000), 1000);
  const minutes = [1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 45, 60, 90, 120, 180, 240, 360, 480].find((m) => m * 60_000 >= longest * 1.05);
  return minutes === undefined ? longest * 1.05 : minutes * 60_000;
}

function battery(r: SimulationResult, x: (t: number) => number): string[] {
  const top = runtimeTop(r);
  const yOf = (frac: number): number => BATTERY_TOP + BATTERY_H * (1 - Math.min(1, Math.max(0, frac)));
  const reserveY = num(yOf(r.budget.reserveMs / top));
  const out: string[] = [
    '<g class="battery">',
    `<line class="reserve" x1="${LEFT}" y1="${reserveY}" x2="${LEFT + PLOT_W}" y2="${reserveY}" stroke="${COLOURS.runtime}" stroke-opacity="0.5" stroke-dasharray="2 3"><title>${esc(`reserve: ${formatDuration(r.budget.reserveMs)} of runtime`)}</title></line>`,
  ];
  const curve = (cls: string, stroke: string, value: (i: number) => number | null): void => {
    for (const seg of segments(r.samples.length, value)) {
      const pts = seg.map(([i, v]) => `${num(x((r.samples[i] as { t: number }).t))},${num(yOf(v))}`).join(' ');
      out.push(`<polyline class="${cls}" points="${pts}" fill="none" ${stroke}/>`);
    }
  };
  // Charge wide and pale underneath, runtime thin on top: both stay visible where they meet.
  curve('charge', `stroke="${COLOURS.charge}" stroke-opacity="0.55" stroke-width="4"`, (i) => {
    const c = r.samples[i]?.chargePct;
    return c === null || c === undefined ? null : c / 100;
  });
  curve('runtime', `stroke="${COLOURS.runtime}" stroke-width="1.5" stroke-dasharray="6 3"`, (i) => {
    const s = r.samples[i]?.runtimeS;
    return s === null || s === undefined ? null : (s * 1000) / top;
  });
  out.push('</g>');
  return out;
}

/** Runs of samples with a value; a gap (no reading) breaks the line. */
function segments(n: number, value: (i: number) => number | null): [number, number][][] {
  const out: [number, number][][] = [];
  let cur: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const v = value(i);
    if (v === null) {
      if (cur.length) out.push(cur);
      cur = [];
    } else cur.push([i, v]);
  }
  if (cur.length) out.push(cur);
  return out;
}

function rows(r: SimulationResult, hosts: string[], x: (t: number) => number): string[] {
  const out: string[] = ['<g class="hosts">'];
  hosts.forEach((host, i) => {
    const top = ROWS_TOP + i * ROW_H;
    const mid = top + ROW_H / 2;
    if (i % 2 === 0) out.push(`<rect x="${LEFT}" y="${top}" width="${PLOT_W}" height="${ROW_H}" fill="#f8fafc"/>`);
    out.push(`<text x="${LEFT - 8}" y="${mid}" text-anchor="end" dominant-baseline="middle">${esc(host)}</text>`);
    const down = r.shutdown.find((s) => s.host === host);
    if (down) out.push(...shutdownBar(r, down, x, mid));
    const up = r.restore.find((s) => s.host === host);
    if (up) out.push(...restoreBar(r, up, x, mid));
  });
  out.push('</g>');
  return out;
}

function shutdownBar(r: SimulationResult, s: ShutdownStepResult, x: (t: number) => number, mid: number): string[] {
  const host = esc(s.host);
  const out: string[] = [];
  if (r.planStartedMs !== null && s.state !== 'skipped') {
    const from = r.planStartedMs + s.plannedStartMs;
    out.push(box('planned', x(from), x(r.planStartedMs + s.expectedDoneMs), mid - BAR_H / 2 - 4, 3, `fill="none" stroke="${COLOURS.planned}"`, `${s.host}: planned ${clock(from)}–${clock(r.planStartedMs + s.expectedDoneMs)}`));
  }
  if (s.state === 'skipped' || s.sentMs === null) {
    const at = s.finishedMs ?? r.planStartedMs ?? 0;
    return [`<g class="step shutdown skipped" data-host="${host}">`, ...out, box('bar', x(at) - 1.5, x(at) + 1.5, mid - BAR_H / 2, BAR_H, `fill="${COLOURS.skipped}"`, `${s.host}: ${s.state}${s.error ? `: ${s.error}` : ''}`), '</g>'];
  }
  const bad = s.state === 'failed' || s.state === 'lost_power' || s.state === 'pending';
  const end = s.downMs ?? s.lostPowerMs ?? s.finishedMs ?? r.endMs;
  const forcedAt = s.escalatedMs;
  const gracefulEnd = forcedAt ?? end;
  const why = s.error ? `: ${s.error}` : '';
  out.push(
    box('bar', x(s.sentMs), x(gracefulEnd), mid - BAR_H / 2, BAR_H, `fill="${bad && forcedAt === null ? COLOURS.failed : COLOURS.shutdown}"`, `${s.host}: ${s.action ?? 'shutdown'} sent ${clock(s.sentMs)}${forcedAt === null ? `, ${s.state === 'done' ? `down ${clock(end)}${s.verifiedBy ? ` (${s.verifiedBy})` : ''}` : `${s.state}${why}`}` : ''}`),
  );
  if (forcedAt !== null) {
    out.push(
      box('bar forced', x(forcedAt), x(end), mid - BAR_H / 2, BAR_H, bad ? `fill="${COLOURS.failed}"` : 'fill="url(#forced)"', `${s.host}: power_off sent ${clock(forcedAt)}, ${s.state === 'done' ? `down ${clock(end)}` : `${s.state}${why}`}`),
    );
  }
  return [`<g class="step shutdown" data-host="${host}">`, ...out, '</g>'];
}

function restoreBar(r: SimulationResult, s: RestoreStepResult, x: (t: number) => number, mid: number): string[] {
  const host = esc(s.host);
  if (s.sentMs === null) {
    const at = s.finishedMs ?? r.restoreStartedMs ?? r.endMs;
    return [`<g class="step restore skipped" data-host="${host}">`, box('bar', x(at) - 1.5, x(at) + 1.5, mid - BAR_H / 2, BAR_H, `fill="${COLOURS.skipped}"`, `${s.host}: ${s.state === 'done' ? 'already up' : `${s.state}${s.error ? `: ${s.error}` : ''}`}`), '</g>'];
  }
  const end = s.answeredMs ?? s.finishedMs ?? r.endMs;
  const ok = s.state === 'done';
  const what = ok ? `up ${clock(end)}` : `${s.state}${s.error ? `: ${s.error}` : ''}`;
  const tries = s.attempts > 1 ? ` (${s.attempts} attempts)` : '';
  return [
    `<g class="step restore" data-host="${host}">`,
    box('bar', x(s.sentMs), x(end), mid - BAR_H / 2, BAR_H, `fill="${ok ? COLOURS.restore : COLOURS.failed}"`, `${s.host}: ${s.action ?? 'start'} sent ${clock(s.sentMs)}${tries}, ${what}`),
    '</g>',
  ];
}

function markers(r: SimulationResult, x: (t: number) => number, rowsBottom: number): string[] {
  const lines: [string, number | null, string, string][] = [
    ['power lost', r.powerLostMs, COLOURS.lost, '4 3'],
    ['shutdown started', r.planStartedMs, COLOURS.shutdown, '2 2'],
    ['runtime − reserve runs out', r.budget.runsOutMs, COLOURS.budget, '8 3'],
    ['power restored', r.powerRestoredMs, COLOURS.back, '4 3'],
    ['UPS flat', r.upsFlatMs, COLOURS.flat, ''],
    ['outlets off (ups_off)', r.powerCuts.find((c) => c.cause === 'ups_off')?.t ?? null, COLOURS.flat, '1 2'],
  ];
  const out: string[] = ['<g class="markers">'];
  lines.forEach(([label, t, colour, dash], i) => {
    if (t === null) return;
    const xt = num(x(t));
    const labelX = num(x(t) + 3);
    const cls = label === 'runtime − reserve runs out' ? 'budget' : label.replace(/ \(.*\)$/, '').replace(/\s+/g, '-').toLowerCase();
    out.push(
      `<line class="${cls}" x1="${xt}" y1="${BATTERY_TOP}" x2="${xt}" y2="${rowsBottom}" stroke="${colour}" stroke-width="1.5"${dash ? ` stroke-dasharray="${dash}"` : ''}><title>${esc(`${label}: ${clock(t)}`)}</title></line>`,
      `<text x="${labelX}" y="${BATTERY_TOP + 12 + i * 12}" fill="${colour}">${esc(`${label} ${clock(t)}`)}</text>`,
    );
  });
  out.push('</g>');
  return out;
}

function box(cls: string, x1: number, x2: number, y: number, h: number, paint: string, tip: string): string {
  // A step that takes no time on this scale is still drawn: at least 2 px wide.
  const w = Math.max(2, x2 - x1);
  return `<rect class="${cls}" x="${num(x1)}" y="${num(y)}" width="${num(w)}" height="${h}" ${paint}><title>${esc(tip)}</title></rect>`;
}

/** One decimal is finer than a pixel; fixed digits keep the output byte-for-byte stable. */
function num(v: number): string {
  return (Math.round(v * 10) / 10).toFixed(1).replace(/\.0$/, '');
}

/** Text and attribute values: host names come from a config file, so nothing is trusted. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}
