import type { Logger } from './logger.js';

/**
 * Cleanups run in reverse order of registration (stop accepting first, close stores last).
 * Idempotent, and every step runs even when an earlier one fails.
 */
export class Shutdown {
  private readonly steps: { name: string; run: () => Promise<void> }[] = [];
  private running: Promise<void> | null = null;

  constructor(private readonly logger: Logger) {}

  add(name: string, run: () => Promise<void>): void {
    this.steps.push({ name, run });
  }

  run(): Promise<void> {
    this.running ??= this.runAll();
    return this.running;
  }

  private async runAll(): Promise<void> {
    for (const step of [...this.steps].reverse()) {
      try {
        await step.run();
      } catch (error) {
        this.logger.error({ err: error, step: step.name }, 'shutdown step failed');
      }
    }
  }
}

export interface ExitOnSignalsOptions {
  logger: Logger;
  /** What the log line says is stopping, e.g. 'shutting down'. */
  message: string;
  /** Exit 1 when stopping takes longer than this (unset: as long as it takes). */
  timeoutMs?: number;
  /** Also stop when the parent's IPC channel closes: no process outlives its supervisor. */
  withParent?: boolean;
}

/**
 * The one way an entry point ends: on SIGTERM or SIGINT (or its parent going away) run `stop`
 * once, then exit 0, or 1 if it failed or overran `timeoutMs`.
 */
export function exitOnSignals(stop: () => Promise<void>, options: ExitOnSignalsOptions): void {
  const { logger } = options;
  let stopping = false;
  const onSignal = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, options.message);
    if (options.timeoutMs !== undefined) {
      setTimeout(() => {
        logger.error('shutdown timed out; exiting');
        process.exit(1);
      }, options.timeoutMs).unref();
    }
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  if (options.withParent) process.on('disconnect', () => onSignal('parent gone'));
}
