import type { AddressInfo, Socket } from 'node:net';
import type { EngineLogger } from './logger.js';
import { createWireServer } from './server.js';
import { Storage } from './storage.js';
import { Store } from './store.js';
import { expireDocuments } from './ttl.js';

export interface EmbeddedMongoOptions {
  /**
   * Where the engine runs: 'worker' (default) = its own worker_threads Worker, so queries, TTL
   * sweeps and snapshots never block the caller's event loop; 'inline' = on the caller's thread.
   */
  thread?: 'worker' | 'inline';
  /** 0 = random free port. */
  port?: number;
  /** Defaults to 127.0.0.1 (loopback only). */
  host?: string;
  /**
   * Data directory: every acknowledged write is journaled there first (see README, durability).
   * Unset = memory only.
   */
  dataDir?: string;
  logger?: EngineLogger;
  /** Journal size that starts a background snapshot (default 32 MiB). */
  snapshotJournalBytes?: number;
  /** How often TTL indexes are swept (default 60 s, like MongoDB). */
  ttlIntervalMs?: number;
}

export interface EmbeddedMongo {
  /** mongodb://127.0.0.1:PORT */
  uri: string;
  port: number;
  /** Idempotent; waits for journal writes in flight and releases the data directory. */
  stop(): Promise<void>;
}

const CURSOR_SWEEP_MS = 60_000;

function timer(ms: number, fn: () => void): NodeJS.Timeout {
  const t = setInterval(fn, ms);
  t.unref();
  return t;
}

/** Options with defaults applied; plain data apart from the logger (see worker-host.ts). */
export interface EngineSettings {
  port: number;
  host: string;
  dataDir: string | undefined;
  snapshotJournalBytes: number;
  ttlIntervalMs: number;
}

/** Runs the engine on the calling thread: the TCP server, TTL sweeps, cursor expiry, storage. */
export async function startInlineEngine(
  settings: EngineSettings,
  logger: EngineLogger,
): Promise<EmbeddedMongo> {
  const { host, dataDir } = settings;
  const store = new Store();
  let storage: Storage | undefined;
  if (dataDir) {
    storage = await Storage.open(store, {
      dir: dataDir,
      logger,
      snapshotJournalBytes: settings.snapshotJournalBytes,
    });
  } else {
    logger.info(
      {},
      'embedded MongoDB is memory-only: data is lost on stop (give it a data directory to persist)',
    );
  }
  const server = createWireServer(store, logger, storage);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(settings.port, host, () => resolve());
    });
  } catch (err) {
    await storage?.close();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const sweep = (): void => {
    expireDocuments(store);
    storage
      ?.commit()
      ?.catch((err: unknown) =>
        logger.error({ err }, 'embedded MongoDB could not journal TTL deletions'),
      );
  };
  const timers = [
    timer(settings.ttlIntervalMs, sweep),
    timer(CURSOR_SWEEP_MS, () => store.cursors.expire()),
  ];
  const connections = new Set<Socket>();
  server.on('connection', (s) => {
    connections.add(s);
    s.on('close', () => connections.delete(s));
  });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      for (const t of timers) clearInterval(t);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of connections) s.destroy();
      await closed;
      await storage?.close();
      logger.info({ port }, 'embedded MongoDB stopped');
    })();
    return stopping;
  };
  logger.info({ port, host }, 'embedded MongoDB listening');
  return { uri: `mongodb://${host}:${port}`, port, stop };
}
