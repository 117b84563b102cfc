import { ConfigError, loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { StartupError } from '../infra/startup-error.js';
import { startParley } from '../app.js';
import { initSentry } from '../infra/sentry.js';
import { exitOnSignals } from '../shutdown.js';

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
  // Under a supervisor with an IPC channel (`npm run cluster`): say when ready, and stop when
  // the supervisor goes away so no process outlives it.
  exitOnSignals(() => parley.stop(), {
    logger,
    message: 'shutting down',
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    withParent: process.send !== undefined,
  });
  process.send?.({ type: 'parley:ready', role: config.ROLE, url: parley.url });
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof StartupError) {
    process.stderr.write(`parley: ${error.message}\n`);
  } else {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`parley: failed to start: ${detail}\n`);
  }
  process.exit(1);
});
