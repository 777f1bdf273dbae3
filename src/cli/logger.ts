/**
 * Logger setup for the server process. One root logger writes pino's JSON lines to stdout
 * (a file when `tszk start` runs us as a daemon); every component takes a child tagged with its
 * name. No pretty-printer: it would be a dependency and cost start-up time; pipe the output
 * through `pino-pretty` when reading it by eye.
 */
import { pino } from 'pino';
import { ConfigError } from '../util/errors.js';
import { TSZK_VERSION } from '../version.js';

const LEVELS: readonly pino.LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** TSZK_LOG_LEVEL, `info` when unset or empty. */
export function logLevelFromEnv(env: NodeJS.ProcessEnv): pino.LevelWithSilent {
  const raw = env['TSZK_LOG_LEVEL']?.trim().toLowerCase() ?? '';
  if (raw === '') return 'info';
  const level = LEVELS.find((l) => l === raw);
  if (level === undefined) {
    throw new ConfigError(`TSZK_LOG_LEVEL: unknown level '${raw}' (expected one of ${LEVELS.join(', ')})`);
  }
  return level;
}

/**
 * The root logger. `destination` defaults to pino's own synchronous stdout writer, so lines
 * logged just before process.exit() are not lost.
 */
export function createLogger(env: NodeJS.ProcessEnv, destination?: pino.DestinationStream): pino.Logger {
  const options: pino.LoggerOptions = {
    level: logLevelFromEnv(env),
    base: { pid: process.pid, version: TSZK_VERSION },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}

/** A child logger for one component: `cli`, `server`, `quorum`, ... */
export function componentLogger(parent: pino.Logger, component: string): pino.Logger {
  return parent.child({ component });
}
