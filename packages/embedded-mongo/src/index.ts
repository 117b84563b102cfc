import { silentLogger } from './logger.js';
import {
  startInlineEngine,
  type EmbeddedMongo,
  type EmbeddedMongoOptions,
  type EngineSettings,
} from './engine.js';
import { advertiseAddress } from './storage.js';
import { startWorkerEngine, workerEntryLoadable } from './worker-host.js';

export type { EmbeddedMongo, EmbeddedMongoOptions };
export { silentLogger, type EngineLogger } from './logger.js';
export { runningEngineAddress } from './storage.js';

/**
 * Starts a MongoDB-compatible server speaking the wire protocol on TCP, in this process.
 * By default it runs in its own worker thread (`thread: 'worker'`), so the engine and the
 * caller's event loop (Express, Socket.IO, the driver) use separate cores and a long scan in
 * the engine never stalls the app; `thread: 'inline'` runs it on the calling thread.
 * Log records from the worker are re-emitted on `options.logger`. With `dataDir`, its address
 * is written to `<dataDir>/ADDRESS` once it listens and removed at stop, so a tool can reach the
 * engine of a running process (`runningEngineAddress`).
 */
export async function startEmbeddedMongo(
  options: EmbeddedMongoOptions = {},
): Promise<EmbeddedMongo> {
  const engine = await startEngine(options);
  const dir = options.dataDir;
  if (!dir) return engine;
  const withdraw = await advertiseAddress(dir, engine.uri);
  return { ...engine, stop: () => withdraw().then(() => engine.stop()) };
}

/** The engine on the thread `options.thread` asks for. */
async function startEngine(options: EmbeddedMongoOptions): Promise<EmbeddedMongo> {
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
