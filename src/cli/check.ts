import { snakeCase } from '../core/case';
import { formatDuration } from '../core/duration';
import { ConfigError, formatIssue, loadConfig } from '../config/loader';
import { outageReport } from './check-plan';

/** Prints a summary and warnings (exit 0), or every error with its path and line (exit 1). */
export function checkCommand(file: string): number {
  try {
    const { config, warnings } = loadConfig(file);
    const out: string[] = [`${file}: OK`];
    const m = config.mqtt;
    out.push(
      m.url
        ? `  MQTT: ${m.url} (MQTT ${m.protocolVersion === 5 ? '5' : '3.1.1'}${m.username ? `, user ${m.username}` : ''}), base topic "${m.baseTopic}"`
        : `  MQTT: embedded broker on ${m.embedded.host}:${m.embedded.port}, base topic "${m.baseTopic}"`,
    );
    const ups = Object.entries(config.ups);
    out.push(`  UPS (${ups.length}): ${ups.map(([id, u]) => `${id} [${Object.keys(u).filter((k) => k !== 'name' && u[k as keyof typeof u] !== undefined).map(snakeCase).join(', ')}]`).join(', ') || 'none'}`);
    const hosts = Object.entries(config.hosts);
    out.push(
      `  hosts (${hosts.length}): ${
        hosts
          .map(([id, h]) => `${id}${h.simulated ? ` [simulated: shutdown ${formatDuration(h.simulated.shutdownTakes)}, wake ${formatDuration(h.simulated.wakeTakes)}]` : ''}`)
          .join(', ') || 'none'
      }`,
    );
    const outage = outageReport(config);
    out.push(...outage.lines);
    const all = [...warnings, ...outage.warnings];
    if (all.length) out.push(`warnings (${all.length}):`, ...all.map(formatIssue));
    process.stdout.write(out.join('\n') + '\n');
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
