/**
 * What `blackstart check` says about outages: the UPS the orchestrator follows, the shutdown plan
 * as the daemon would make it (learned durations included), and whether it fits the battery.
 * Everything here is a warning, never an error: an over-budget plan still runs, it just starts
 * as soon as mains fails.
 */
import type { ConfigIssue } from '../config/loader';
import { outageUps, type Config } from '../config/schema';
import { formatDuration } from '../core/duration';
import { hostAbilities, upsRuntime } from '../orchestrator/lab-facts';
import { journalPath } from '../orchestrator/journal';
import { durationsPath, FileDurations, type LearnedDurations } from '../orchestrator/learned';
import { budgetWarning, fitBudget, planShutdown, type ShutdownPlan } from '../orchestrator/planner';
import { guestPolicies, planNodes } from '../orchestrator/nodes';

export interface OutageReport {
  lines: string[];
  warnings: ConfigIssue[];
}

/** A wave of a thousand VMs would drown the rest of the output. */
const SHOWN_PER_WAVE = 8;

export function outageReport(config: Config): OutageReport {
  const out: OutageReport = { lines: [], warnings: [] };
  const ups = followedUps(config, out);
  if (Object.keys(config.hosts).length === 0) return out;

  // The daemon keeps measured durations beside its journal; a plan without them would disagree with it.
  const learned = new FileDurations(durationsPath(journalPath(config)));
  const plan = planShutdown(planNodes(config.hosts, (id) => learned.shutdownMs(id)));
  printPlan(config, plan, learned, out);
  if (ups) checkBudget(config, ups, plan, out);
  checkMethods(config, plan, out);
  return out;
}

function followedUps(config: Config, out: OutageReport): string | undefined {
  const ids = Object.keys(config.ups);
  const ups = outageUps(config);
  if (ups) {
    out.lines.push(`  outage: follows UPS ${ups} (${config.outage.ups ? 'outage.ups' : 'the only UPS'}), reserve ${formatDuration(config.outage.reserve)}`);
  } else if (ids.length > 1) {
    out.lines.push('  outage: off (several UPS and no outage.ups)');
    out.warnings.push({ path: 'outage.ups', message: `several UPS (${ids.join(', ')}) and no outage.ups: the outage orchestrator is off; set outage.ups to the UPS that feeds the hosts` });
  } else {
    out.lines.push('  outage: off (no UPS)');
  }
  return ups;
}

function printPlan(config: Config, plan: ShutdownPlan, learned: LearnedDurations, out: OutageReport): void {
  const takes = new Map(plan.steps.map((s) => [s.host, s.expectedDoneMs - s.startMs]));
  const guests = guestPolicies(config.hosts);
  const label = (id: string): string => {
    const h = config.hosts[id]?.outage;
    const guest = guests[id];
    const given = guest ? guest.stopTakes !== undefined : h?.shutdownTakes !== undefined;
    const source = given ? '' : learned.shutdownMs(id) !== null ? ' learned' : ' default';
    const what = guest ? `, ${guest.stop}` : h?.controller ? ', controller' : '';
    return `${id} (${formatDuration(takes.get(id) ?? 0)}${source}${what})`;
  };
  const nGuests = plan.steps.filter((st) => guests[st.host]).length;
  const nodes = nGuests ? `${count(plan.steps.length - nGuests, 'host')} and ${count(nGuests, 'guest')}` : count(plan.steps.length, 'host');
  out.lines.push(`  shutdown plan, first to last (${nodes} in ${count(plan.waves.length, 'wave')}):`);
  plan.waves.forEach((wave, i) => {
    const more = wave.length > SHOWN_PER_WAVE ? `, … ${wave.length - SHOWN_PER_WAVE} more` : '';
    out.lines.push(`    wave ${i + 1}: ${wave.slice(0, SHOWN_PER_WAVE).map(label).join(', ')}${more}`);
  });
  const kept = Object.entries(config.hosts).filter(([, h]) => h.outage.leaveRunning).map(([id]) => id);
  if (kept.length) out.lines.push(`    left running: ${kept.join(', ')}`);
  if (plan.steps.length === 0) return;
  out.lines.push(
    `    critical path: ${plan.criticalPath.join(' → ')}, ${formatDuration(plan.criticalPathMs)} expected; ` +
      `worst case ${formatDuration(plan.worstCaseMs)} (every host until its escalation)`,
  );
}

function checkBudget(config: Config, ups: string, plan: ShutdownPlan, out: OutageReport): void {
  const runtime = upsRuntime(config, ups);
  if (!runtime) {
    out.lines.push(`    budget: not checked (set outage.expected_runtime to the runtime UPS ${ups} reports at full charge)`);
    return;
  }
  const runtimeS = Math.round(runtime.ms / 1000);
  const reserveMs = config.outage.reserve;
  const fit = fitBudget(plan, { runtimeS, reserveMs });
  out.lines.push(
    `    budget: ${formatDuration(runtimeS * 1000)} runtime (${runtime.from}) − ${formatDuration(reserveMs)} reserve − ${formatDuration(plan.criticalPathMs)} plan: ` +
      (fit.fits ? `${formatDuration(fit.slackMs)} to spare` : `${formatDuration(-fit.slackMs)} over budget`),
  );
  const warning = budgetWarning(plan, runtimeS, config.outage);
  if (warning) out.warnings.push({ path: runtime.path, message: warning });
}

function checkMethods(config: Config, plan: ShutdownPlan, out: OutageReport): void {
  for (const { host: id } of plan.steps) {
    const h = config.hosts[id];
    if (h && !hostAbilities(h).shutdown) {
      out.warnings.push({
        path: `hosts.${id}`,
        message: 'in the shutdown plan, but nothing can shut it down (add shutdown: or ipmi:, or set outage.leave_running): the plan would report it failed and go on without it',
      });
    }
  }
  for (const [id, h] of Object.entries(config.hosts)) {
    const can = hostAbilities(h);
    if (can.start && !can.seenUp) {
      out.warnings.push({
        path: `hosts.${id}.wol`,
        message: 'Wake-on-LAN starts it after an outage, but nothing can tell that it came back (add probe: or ipmi:): the restore would wait boot_within on every attempt, then report it failed',
      });
    }
  }
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}
