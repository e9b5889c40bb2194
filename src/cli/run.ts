import { startBlackstart, type Blackstart } from '../app';
import { ConfigError, formatIssue, loadConfig } from '../config/loader';
import { exitCodeFor, toBlackstartError } from '../core/errors';
import { createLogger, type LogLevel } from '../core/logger';
import { untilSignal } from './signals';
import { outageSimulator } from './simulate';

/** Runs until SIGINT/SIGTERM; resolves with the exit code. */
export async function runCommand(file: string, global: { logLevel?: string }): Promise<number> {
  let loaded;
  try {
    loaded = loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const { config, warnings } = loaded;
  const log = createLogger({ level: (global.logLevel as LogLevel | undefined) ?? config.log.level });
  for (const w of warnings) log.warn({ path: w.path, line: w.line }, `config: ${formatIssue(w).trim()}`);

  // The last line of defence: a bug in one handler must not take the UPS watch down silently.
  process.on('unhandledRejection', (reason) => {
    log.error({ err: toBlackstartError(reason).message }, 'unhandled promise rejection');
  });
  process.on('uncaughtException', (err) => {
    log.fatal({ err: err.message, stack: err.stack }, 'uncaught exception; exiting so a supervisor restarts a clean process');
    process.exit(70);
  });

  let app: Blackstart;
  try {
    app = await startBlackstart(config, { log, simulate: outageSimulator(config) });
  } catch (err) {
    const e = toBlackstartError(err);
    log.fatal({ code: e.code, err: e.message }, 'cannot start');
    return exitCodeFor(e);
  }
  log.info(
    { mqtt: app.mqttUrl, baseTopic: config.mqtt.baseTopic, ups: Object.keys(config.ups), hosts: Object.keys(config.hosts) },
    'blackstart running',
  );
  void app.bridge.ready().then(() => log.info('ready: state published on MQTT'));

  return untilSignal(log, () => app.stop());
}
