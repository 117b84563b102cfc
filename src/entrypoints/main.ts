import { ConfigError, loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { StartupError } from '../infra/startup-error.js';
import { startParley } from '../app.js';
import { initSentry } from '../infra/sentry.js';

/** `npm start`: ROLE=all|api|worker|scheduler picks what this process runs. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL);
  const reportError = await initSentry(config.SENTRY_DSN, config.NODE_ENV, logger);
  // A promise nobody awaited failed (a library's fire-and-forget call during an outage): log
  // and report it, and keep serving — the process is still sound, and readiness says whether
  // its dependencies are. Exiting here would turn a Redis blip into a crash of every api.
  process.on('unhandledRejection', (reason: unknown) => {
    logger.error({ err: reason }, 'unhandled promise rejection');
    reportError?.(reason);
  });
  const parley = await startParley(config, logger, { reportError });
  logger.info({ role: config.ROLE }, 'Parley started');
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    deadline.unref();
    parley.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Under a supervisor with an IPC channel (`npm run cluster`): say when ready, and stop when
  // the supervisor goes away so no process outlives it.
  if (process.send) {
    process.send({ type: 'parley:ready', role: config.ROLE, url: parley.url });
    process.on('disconnect', () => stop('supervisor gone'));
  }
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof StartupError) {
    process.stderr.write(`parley: ${error.message}\n`);
  } else {
    process.stderr.write(
      `parley: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  }
  process.exit(1);
});
