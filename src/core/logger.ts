import pino from 'pino';
import pretty from 'pino-pretty';

export type Logger = pino.Logger;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Keys whose values never reach a log line, wherever they sit in a logged object. */
const SECRET_KEYS = ['password', 'passphrase', 'token', 'secret', 'key', 'private_key', 'privateKey', 'authorization'];
const REDACT_PATHS = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export interface LoggerOptions {
  level?: LogLevel;
  /** Pretty, coloured lines; default: when stdout is a terminal. */
  pretty?: boolean;
  destination?: pino.DestinationStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const options: pino.LoggerOptions = {
    name: 'blackstart',
    level: opts.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[secret]' },
  };
  if (opts.destination) return pino(options, opts.destination);
  const usePretty = opts.pretty ?? Boolean(process.stdout.isTTY);
  if (usePretty) {
    return pino(options, pretty({ colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,name' }));
  }
  return pino(options);
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
