import { MongoClient, type Db } from 'mongodb';
import type { Logger } from '../logger.js';
import { startEmbeddedMongo, type EmbeddedMongo } from '@parley/embedded-mongo';
import { errorMessage } from '../errors.js';
import { StartupError, redactUrl } from './startup-error.js';

export interface MongoHandles {
  client: MongoClient;
  db: Db;
  /** Set when no MONGODB_URI was given and Parley runs its own engine in-process. */
  embedded: EmbeddedMongo | null;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface MongoOptions {
  uri: string | undefined;
  dbName: string | undefined;
  embeddedDir: string | undefined;
  logger: Logger;
}

/** Connects to MONGODB_URI, or starts the embedded engine when it is unset. */
export async function connectMongo(options: MongoOptions): Promise<MongoHandles> {
  const { logger } = options;
  let embedded: EmbeddedMongo | null = null;
  if (!options.uri) {
    embedded = await startEmbeddedMongo({ port: 0, dataDir: options.embeddedDir, logger });
    logger.info(
      { uri: embedded.uri },
      'MONGODB_URI not set: using the embedded MongoDB-compatible engine',
    );
  }
  const uri = options.uri ?? (embedded as EmbeddedMongo).uri;
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000, maxPoolSize: 20 });
  try {
    await client.connect();
  } catch (error) {
    await embedded?.stop();
    throw new StartupError(`Cannot reach MongoDB at ${redactUrl(uri)}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  const db = client.db(options.dbName ?? databaseNameIn(uri) ?? 'parley');
  return {
    client,
    db,
    embedded,
    async ping() {
      const reply = await db.command({ ping: 1 });
      return reply.ok === 1;
    },
    async close() {
      await client.close();
      await embedded?.stop();
    },
  };
}

/** The database named in the URI's path, if any (`mongodb://host/parley?x=y` → `parley`). */
function databaseNameIn(uri: string): string | undefined {
  const match = /^mongodb(?:\+srv)?:\/\/[^/]+\/([^?]+)/.exec(uri);
  return match?.[1] ? decodeURIComponent(match[1]) : undefined;
}
