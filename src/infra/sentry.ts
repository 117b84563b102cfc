import type { Logger } from '../logger.js';

export type ErrorReporter = (error: unknown) => void;

/**
 * Sentry is loaded and initialised only when SENTRY_DSN is set; otherwise unexpected errors are
 * only logged. Returns the reporter the error edges call.
 */
export async function initSentry(
  dsn: string | undefined,
  environment: string,
  logger: Logger,
): Promise<ErrorReporter | undefined> {
  if (!dsn) return undefined;
  const Sentry = await import('@sentry/node');
  Sentry.init({ dsn, environment });
  logger.info('Sentry error reporting enabled');
  return (error) => {
    Sentry.captureException(error);
  };
}
