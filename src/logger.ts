import { pino, type Logger } from 'pino';

export type { Logger };

/** The root logger. Child loggers carry requestId / socketId / jobId. */
export function createLogger(level: string = 'info', name = 'parley'): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}

/** For tests and tools that must stay quiet unless LOG_LEVEL asks otherwise. */
export const silentLogger: Logger = pino({ level: 'silent' });
