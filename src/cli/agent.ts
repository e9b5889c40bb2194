import { Agent } from '../agent/agent';
import { agentConfigSchema, type AgentConfig } from '../agent/config';
import { ConfigError, formatIssue, loadConfigWith } from '../config/loader';
import { exitCodeFor, toBlackstartError } from '../core/errors';
import { createLogger, type LogLevel } from '../core/logger';
import { untilSignal } from './signals';
import { version } from './version';

/** `blackstart agent -c FILE`: runs until SIGINT/SIGTERM (then says `offline`); resolves with the exit code. */
export async function agentCommand(file: string, global: { logLevel?: string }): Promise<number> {
  let loaded;
  try {
    loaded = loadConfigWith(agentConfigSchema, file);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const config: AgentConfig = loaded.config;
  const log = createLogger({ level: (global.logLevel as LogLevel | undefined) ?? config.log.level }).child({ agent: config.id });
  for (const w of loaded.warnings) log.warn({ path: w.path, line: w.line }, `config: ${formatIssue(w).trim()}`);

  process.on('unhandledRejection', (reason) => {
    log.error({ err: toBlackstartError(reason).message }, 'unhandled promise rejection');
  });
  process.on('uncaughtException', (err) => {
    log.fatal({ err: err.message, stack: err.stack }, 'uncaught exception; exiting so a supervisor restarts a clean process');
    process.exit(70);
  });

  let agent: Agent;
  try {
    agent = new Agent(config, { log, version: version() });
    agent.start();
  } catch (err) {
    const e = toBlackstartError(err);
    log.fatal({ code: e.code, err: e.message }, 'cannot start');
    return exitCodeFor(e);
  }
  void agent.ready().then(() => log.info({ topic: agent.topics.agentSet(config.id) }, 'ready: online, taking commands'));

  return untilSignal(log, () => agent.stop());
}
