import { silentLogger } from './logger.js';
import {
  startInlineEngine,
  type EmbeddedMongo,
  type EmbeddedMongoOptions,
  type EngineSettings,
} from './engine.js';
import { startWorkerEngine, workerEntryLoadable } from './worker-host.js';

export type { EmbeddedMongo, EmbeddedMongoOptions };
export { silentLogger, type EngineLogger } from './logger.js';

/**
 * Starts a MongoDB-compatible server speaking the wire protocol on TCP, in this process.
 * By default it runs in its own worker thread (`thread: 'worker'`), so the engine and the
 * caller's event loop (Express, Socket.IO, the driver) use separate cores and a long scan in
 * the engine never stalls the app; `thread: 'inline'` runs it on the calling thread.
 * Log records from the worker are re-emitted on `options.logger`.
 */
export async function startEmbeddedMongo(
  options: EmbeddedMongoOptions = {},
): Promise<EmbeddedMongo> {
  const logger = options.logger ?? silentLogger;
  const settings: EngineSettings = {
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    dataDir: options.dataDir,
    snapshotJournalBytes: options.snapshotJournalBytes ?? 32 * 1024 * 1024,
    ttlIntervalMs: options.ttlIntervalMs ?? 60_000,
  };
  const thread = options.thread ?? 'worker';
  if (thread === 'inline') return startInlineEngine(settings, logger);
  if (thread !== 'worker')
    throw new TypeError(`thread must be 'worker' or 'inline', got ${String(thread)}`);
  if (!workerEntryLoadable) {
    logger.info(
      {},
      'embedded MongoDB runs inline: worker threads need the compiled build (running from TypeScript source)',
    );
    return startInlineEngine(settings, logger);
  }
  return startWorkerEngine(settings, logger);
}
