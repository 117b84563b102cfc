import type { AddressInfo, Socket } from 'node:net';
import type { EngineLogger } from './logger.js';
import { loadStore, Persister } from './persistence.js';
import { createWireServer } from './server.js';
import { Store } from './store.js';
import { expireDocuments } from './ttl.js';

export interface EmbeddedMongoOptions {
  /**
   * Where the engine runs: 'worker' (default) = its own worker_threads Worker, so queries, TTL
   * sweeps and flushes never block the caller's event loop; 'inline' = on the caller's thread.
   */
  thread?: 'worker' | 'inline';
  /** 0 = random free port. */
  port?: number;
  /** Defaults to 127.0.0.1. */
  host?: string;
  /** Persistence directory; unset = memory only. */
  dataDir?: string;
  logger?: EngineLogger;
  /** How often changed collections are written to disk (default 5 s). */
  flushIntervalMs?: number;
  /** How often TTL indexes are swept (default 60 s, like MongoDB). */
  ttlIntervalMs?: number;
}

export interface EmbeddedMongo {
  /** mongodb://127.0.0.1:PORT */
  uri: string;
  port: number;
  /** Idempotent; flushes to disk when persistent. */
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
  flushIntervalMs: number;
  ttlIntervalMs: number;
}

/** Runs the engine on the calling thread: the TCP server, TTL sweeps, cursor expiry, flushes. */
export async function startInlineEngine(
  settings: EngineSettings,
  logger: EngineLogger,
): Promise<EmbeddedMongo> {
  const { host, dataDir } = settings;
  const store = new Store();
  let persister: Persister | undefined;
  if (dataDir) {
    await loadStore(store, dataDir, logger);
    persister = new Persister(store, dataDir);
    logger.info({ dataDir }, 'embedded MongoDB persists to disk');
  } else {
    logger.info(
      {},
      'embedded MongoDB is memory-only: data is lost on stop (give it a data directory to persist)',
    );
  }
  const server = createWireServer(store, logger);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const flush = (): void => {
    persister
      ?.flush()
      .catch((err: unknown) => logger.error({ err }, 'embedded MongoDB flush failed'));
  };
  const timers = [
    timer(settings.ttlIntervalMs, () => expireDocuments(store)),
    timer(CURSOR_SWEEP_MS, () => store.cursors.expire()),
    ...(persister ? [timer(settings.flushIntervalMs, flush)] : []),
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
      await persister?.flush();
      logger.info({ port }, 'embedded MongoDB stopped');
    })();
    return stopping;
  };
  logger.info({ port }, 'embedded MongoDB listening');
  return { uri: `mongodb://${host}:${port}`, port, stop };
}
