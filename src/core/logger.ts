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

/** Where a host application (Homebridge, Node-RED) wants log lines, by level. */
export interface LogSink {
  error(text: string): void;
  warn(text: string): void;
  info(text: string): void;
  debug(text: string): void;
}

const HEADER_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v']);

/**
 * A logger whose lines go to a host application's log at the same level, as one line of text with
 * the structured fields after the message. Secrets are redacted before a line is formatted.
 */
export function forwardingLogger(sink: LogSink, level: LogLevel = 'info'): Logger {
  return createLogger({
    level,
    destination: {
      write(line: string): void {
        let rec: Record<string, unknown>;
        try {
          rec = JSON.parse(line) as Record<string, unknown>;
        } catch {
          sink.info(line.trim());
          return;
        }
        const extra = Object.entries(rec)
          .filter(([k]) => !HEADER_KEYS.has(k))
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ');
        const text = `${String(rec.msg ?? '')}${extra ? ` (${extra})` : ''}`;
        const n = typeof rec.level === 'number' ? rec.level : 30;
        if (n >= 50) sink.error(text);
        else if (n >= 40) sink.warn(text);
        else if (n >= 30) sink.info(text);
        else sink.debug(text);
      },
    },
  });
}
