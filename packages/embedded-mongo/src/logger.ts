/**
 * The only thing the engine needs from a logger: four levels, each taking structured fields and
 * a message. pino, bunyan and similar loggers fit as they are; `level` (optional) lets the
 * worker thread skip records the caller would drop anyway.
 */
export interface EngineLogger {
  readonly level?: string;
  debug(fields: Record<string, unknown>, msg: string): void;
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Drops everything. */
export const silentLogger: EngineLogger = {
  level: 'silent',
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/**
 * The lowest level a logger with this `level` name still emits: pino-style names map onto the
 * engine's four (`trace` → debug, `fatal` → error), `silent` → none, unknown or absent → debug.
 */
export function lowestLevel(level: string | undefined): LogLevel | 'silent' {
  switch (level) {
    case 'silent':
      return 'silent';
    case 'fatal':
    case 'error':
      return 'error';
    case 'warn':
    case 'info':
      return level;
    default:
      return 'debug';
  }
}

export function enabled(threshold: LogLevel | 'silent', level: LogLevel): boolean {
  return threshold !== 'silent' && LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(threshold);
}

/** One JSON line per record on a writable (the CLI logs to stderr this way). */
export function jsonLineLogger(
  write: (line: string) => void,
  level: string | undefined,
): EngineLogger {
  return levelledLogger(lowestLevel(level), (lvl, fields, msg) => {
    const record: Record<string, unknown> = { level: lvl, time: Date.now(), msg, ...fields };
    if (fields.err instanceof Error) {
      const { name, message, stack } = fields.err;
      record.err = { type: name, message, stack };
    }
    write(`${JSON.stringify(record)}\n`);
  });
}

/** A logger with the four levels that hands each record at or above `threshold` to `sink`. */
export function levelledLogger(
  threshold: LogLevel | 'silent',
  sink: (level: LogLevel, fields: Record<string, unknown>, msg: string) => void,
): EngineLogger {
  const emit =
    (level: LogLevel) =>
    (fields: Record<string, unknown>, msg: string): void => {
      if (enabled(threshold, level)) sink(level, fields, msg);
    };
  return {
    level: threshold,
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
  };
}

/** A logger that adds `base` to every record (like pino's `child`). */
export function withFields(logger: EngineLogger, base: Record<string, unknown>): EngineLogger {
  return {
    level: logger.level,
    debug: (fields, msg) => logger.debug({ ...base, ...fields }, msg),
    info: (fields, msg) => logger.info({ ...base, ...fields }, msg),
    warn: (fields, msg) => logger.warn({ ...base, ...fields }, msg),
    error: (fields, msg) => logger.error({ ...base, ...fields }, msg),
  };
}
