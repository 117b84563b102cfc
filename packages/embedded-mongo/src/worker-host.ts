import { Worker } from 'node:worker_threads';
import { lowestLevel, type EngineLogger } from './logger.js';
import type { EmbeddedMongo, EngineSettings } from './engine.js';
import {
  deserializeError,
  type FromWorker,
  type SerializedError,
  type ToWorker,
  type WorkerConfig,
} from './worker-protocol.js';

/** Resolved next to this file, so it works from the compiled dist/ layout. */
const DEFAULT_ENTRY = new URL('./worker.js', import.meta.url);

/**
 * False when this module is TypeScript source run through tsx (`npm run dev`): tsx's loader is
 * not active inside worker threads there, so neither worker.js (absent) nor worker.ts can load.
 */
export const workerEntryLoadable = !import.meta.url.endsWith('.ts');

/** After confirming stop, the worker has no handles left; if it still lingers it is terminated. */
const EXIT_GRACE_MS = 5_000;

/**
 * Re-emits one of the worker's log records on the host's logger. Its `err` arrives serialized;
 * the revived Error keeps the original type name, so a pino-style err serializer reports the
 * worker's type rather than `Error` (it falls back to `name` when `constructor` is not a function).
 */
function forwardLog(logger: EngineLogger, msg: Extract<FromWorker, { type: 'log' }>): void {
  const fields = { ...msg.fields };
  if (fields.err !== undefined) {
    const err = deserializeError(fields.err as SerializedError);
    Object.defineProperty(err, 'constructor', { value: { name: err.name }, enumerable: false });
    fields.err = err;
  }
  logger[msg.level](fields, msg.msg);
}

/**
 * Runs the engine in a worker_threads Worker and returns the same handle as the inline engine.
 * - start: resolves on the worker's `ready`; rejects (with the worker's own error, e.g.
 *   EADDRINUSE) only once the worker has exited, so a failed start leaves no thread behind.
 * - crash: an uncaught error in the worker is logged at error level on the host logger, and
 *   stop() then rejects with it (the data was not flushed).
 * - stop(): idempotent; asks the worker to close and flush, then waits for the thread to end.
 * `entry` is only overridden by tests.
 */
export function startWorkerEngine(
  settings: EngineSettings,
  logger: EngineLogger,
  entry: URL = DEFAULT_ENTRY,
): Promise<EmbeddedMongo> {
  const config: WorkerConfig = { ...settings, logLevel: lowestLevel(logger.level) };
  const worker = new Worker(entry, { workerData: config });

  let started = false;
  let stopRequested = false;
  let startError: Error | undefined;
  let crash: Error | undefined;
  let confirm: { resolve: () => void; reject: (err: Error) => void } | undefined;
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));

  const waitForExit = async (): Promise<void> => {
    let timeout: NodeJS.Timeout | undefined;
    const lingering = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((resolve) => {
        timeout = setTimeout(() => resolve(true), EXIT_GRACE_MS);
      }),
    ]);
    clearTimeout(timeout);
    if (lingering) {
      logger.warn({}, 'embedded MongoDB worker did not exit after stopping; terminating it');
      await worker.terminate();
    }
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      stopRequested = true;
      if (crash) throw crash;
      const confirmed = new Promise<void>((resolve, reject) => {
        confirm = { resolve, reject };
      });
      worker.postMessage({ type: 'stop' } satisfies ToWorker);
      try {
        await confirmed;
      } finally {
        await waitForExit();
      }
    })();
    return stopping;
  };

  return new Promise<EmbeddedMongo>((resolveStart, rejectStart) => {
    worker.on('message', (msg: FromWorker) => {
      switch (msg.type) {
        case 'log':
          forwardLog(logger, msg);
          break;
        case 'ready':
          started = true;
          resolveStart({ uri: msg.uri, port: msg.port, stop });
          break;
        case 'start-failed':
          startError = deserializeError(msg.error);
          break;
        case 'stopped':
          confirm?.resolve();
          break;
        case 'stop-failed':
          confirm?.reject(deserializeError(msg.error));
          break;
      }
    });
    worker.on('error', (err: Error) => {
      crash ??= err;
      logger.error({ err }, 'embedded MongoDB worker crashed: the engine is no longer serving');
      confirm?.reject(err);
    });
    worker.on('exit', (code: number) => {
      if (!started) {
        rejectStart(
          startError ??
            crash ??
            new Error(`embedded MongoDB worker exited (code ${code}) before listening`),
        );
        return;
      }
      if (!stopRequested && !crash) {
        crash = new Error(`embedded MongoDB worker exited unexpectedly (code ${code})`);
        logger.error(
          { code },
          'embedded MongoDB worker exited unexpectedly: the engine is no longer serving',
        );
      }
      confirm?.reject(
        crash ?? new Error(`embedded MongoDB worker exited (code ${code}) before confirming stop`),
      );
    });
  });
}
