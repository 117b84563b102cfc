import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { MongoClient, type Collection, type Db } from 'mongodb';
import { startEmbeddedMongo, type EmbeddedMongo } from '../src/index.js';

/** A database to run conformance tests in: a real server when MONGODB_URI is set, else the engine. */
export interface Target {
  client: MongoClient;
  db: Db;
  uri: string;
  embedded: EmbeddedMongo | undefined;
  close(): Promise<void>;
}

export const usingRealMongo = Boolean(process.env.MONGODB_URI);

export async function openTarget(prefix: string): Promise<Target> {
  const embedded = usingRealMongo ? undefined : await startEmbeddedMongo({ ttlIntervalMs: 50 });
  const uri = process.env.MONGODB_URI ?? (embedded as EmbeddedMongo).uri;
  const client = await new MongoClient(uri, { serverSelectionTimeoutMS: 5_000 }).connect();
  const db = client.db(`${prefix}_${randomBytes(4).toString('hex')}`);
  return {
    client,
    db,
    uri,
    embedded,
    async close() {
      await db.dropDatabase();
      await client.close();
      await embedded?.stop();
    },
  };
}

/** Polls `check` until it returns true or the deadline passes (no fixed sleeps in tests). */
export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Names of a collection's indexes, sorted. */
export async function indexNames(coll: Collection): Promise<string[]> {
  const infos = (await coll.listIndexes().toArray()) as Array<{ name: string }>;
  return infos.map((i) => i.name).sort();
}

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '../src/cli.js');

/** The engine's CLI in a separate process (so a test can SIGKILL it), listening on `uri`. */
export interface EngineProcess {
  child: ChildProcess;
  uri: string;
  /** Resolves when the process has exited. */
  exited: Promise<unknown>;
  /** Everything it wrote on stderr (its logs). */
  stderr: string[];
}

export async function startEngineProcess(
  dataDir: string,
  snapshotJournalBytes: number,
): Promise<EngineProcess> {
  const child = spawn(
    process.execPath,
    [
      cli,
      '--port',
      '0',
      '--dir',
      dataDir,
      '--snapshot-journal-bytes',
      String(snapshotJournalBytes),
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stderr: string[] = [];
  child.stderr?.on('data', (c: Buffer) => stderr.push(c.toString()));
  const exited = once(child, 'exit');
  const [uri] = (await once(
    createInterface({ input: child.stdout as NodeJS.ReadableStream }),
    'line',
  )) as [string];
  return { child, uri, exited, stderr };
}
