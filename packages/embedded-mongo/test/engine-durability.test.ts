import assert from 'node:assert/strict';
import {
  appendFile,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { MongoClient, MongoServerError, type Document } from 'mongodb';
import { startEmbeddedMongo, type EmbeddedMongo } from '../src/index.js';
import { indexNames, startEngineProcess, waitFor } from './support.js';

/** Test documents with string ids. */
type Named = { _id: string } & Document;

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'embedded-mongo-durability-'));
  dirs.push(dir);
  return dir;
}

/** Starts the engine on `dataDir`, runs `fn` with a connected client, then stops both. */
async function withEngine<T>(
  dataDir: string,
  fn: (client: MongoClient, engine: EmbeddedMongo) => Promise<T>,
  snapshotJournalBytes?: number,
): Promise<T> {
  const engine = await startEmbeddedMongo({ dataDir, thread: 'inline', snapshotJournalBytes });
  const client = await new MongoClient(engine.uri).connect();
  try {
    return await fn(client, engine);
  } finally {
    await client.close();
    await engine.stop();
  }
}

async function files(dir: string, pattern: RegExp): Promise<string[]> {
  return (await readdir(dir)).filter((f) => pattern.test(f)).sort();
}

/** The newest journal that holds data: where the last run's records are. */
async function lastJournal(dir: string): Promise<string> {
  const journals = await files(dir, /^journal-\d+\.wal$/);
  for (const f of journals.reverse()) {
    const file = path.join(dir, f);
    if ((await stat(file)).size > 0) return file;
  }
  throw new Error('no journal holds data');
}

async function ids(client: MongoClient): Promise<unknown[]> {
  const docs = await client.db('d').collection('docs').find().sort({ _id: 1 }).toArray();
  return docs.map((d) => d._id);
}

void describe('engine: durability (journal and snapshots)', () => {
  void it(
    'keeps every acknowledged write across a SIGKILL during concurrent writes, and no half-applied one',
    { timeout: 120_000 },
    async (t) => {
      // Where the test is, reported if it ever runs out of time.
      let phase = 'starting the engine process';
      t.after(() => {
        if (phase !== 'done') process.stderr.write(`SIGKILL test stopped while ${phase}\n`);
      });
      const dataDir = await tempDir();
      // Small snapshots, so the kill lands among background snapshots and journal switches.
      const { child, uri, exited, stderr } = await startEngineProcess(dataDir, 65536);

      const WRITERS = 16;
      const KILL_AFTER = 1_500;
      const clients = await Promise.all(
        Array.from({ length: 4 }, () =>
          new MongoClient(uri, { retryWrites: false, serverSelectionTimeoutMS: 5_000 }).connect(),
        ),
      );
      const setup = clients[0]?.db('d') as ReturnType<MongoClient['db']>;
      await setup.collection('docs').createIndex({ w: 1, k: 1 }, { unique: true, sparse: true });

      const acked = new Map<string, Document>();
      const attempted = new Map<string, Document>();
      const batchesAcked = new Set<string>();
      const batchesAttempted = new Set<string>();
      const counterAcked = new Array<number>(WRITERS).fill(0);
      const counterAttempted = new Array<number>(WRITERS).fill(0);
      let ackCount = 0;
      let killed = false;
      let looking = false;
      // The kill must land after a background snapshot, among later ones: from KILL_AFTER acks on,
      // each ack looks for a snapshot file and the first that finds one kills (a busy machine
      // needed more than KILL_AFTER writes for its first snapshot).
      const kill = async (): Promise<void> => {
        if (killed || looking) return;
        looking = true;
        const snapshots = await files(dataDir, /^snapshot-\d+\.snap$/);
        looking = false;
        if (killed || snapshots.length === 0) return;
        killed = true;
        child.kill('SIGKILL');
      };
      const acknowledged = (): void => {
        if (++ackCount >= KILL_AFTER) void kill();
      };

      const writer = async (w: number): Promise<void> => {
        const db = (clients[w % clients.length] as MongoClient).db('d');
        const docs = db.collection<Named>('docs');
        for (let k = 0; !killed; k++) {
          try {
            const doc = { _id: `w${w}-${k}`, w, k, text: 'x'.repeat(100 + (k % 7) * 50) };
            attempted.set(doc._id, doc);
            await docs.insertOne(doc);
            acked.set(doc._id, doc);
            acknowledged();
            if (k % 5 === 0) {
              const batch = `w${w}-${k}`;
              batchesAttempted.add(batch);
              await docs.insertMany(
                Array.from({ length: 5 }, (_, j) => ({ _id: `${batch}-b${j}`, batch })),
              );
              batchesAcked.add(batch);
              acknowledged();
            }
            if (k % 3 === 0) {
              counterAttempted[w] = (counterAttempted[w] as number) + 1;
              await db
                .collection<{ _id: string; n: number; seen: number[] }>('counters')
                .updateOne(
                  { _id: `c${w}` },
                  { $inc: { n: 1 }, $push: { seen: k } },
                  { upsert: true },
                );
              counterAcked[w] = (counterAcked[w] as number) + 1;
              acknowledged();
            }
          } catch (err) {
            if (!killed) throw err;
          }
        }
      };
      phase = 'writing';
      try {
        await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
      } catch (err) {
        throw new Error(`a write failed before the kill (engine stderr: ${stderr.join('')})`, {
          cause: err,
        });
      } finally {
        killed = true;
        child.kill('SIGKILL');
        phase = 'waiting for the engine process to exit';
        await exited;
        phase = 'closing the clients';
        await Promise.all(clients.map((c) => c.close(true)));
      }
      phase = "restarting on the killed engine's directory";
      await withEngine(dataDir, async (client) => {
        phase = 'checking the data';
        const db = client.db('d');
        const docs = db.collection<Named>('docs');
        const stored = new Map<string, Document>();
        for (const d of await docs.find({ batch: { $exists: false } }).toArray()) {
          stored.set(d._id, d);
        }
        for (const [id, doc] of acked) assert.deepEqual(stored.get(id), doc, `acknowledged ${id}`);
        for (const [id, doc] of stored) {
          assert.deepEqual(doc, attempted.get(id), `${id} is whole and was written by a writer`);
        }
        const batchCounts = new Map<string, number>();
        for (const d of await docs.find({ batch: { $exists: true } }).toArray()) {
          batchCounts.set(d.batch as string, (batchCounts.get(d.batch as string) ?? 0) + 1);
        }
        for (const batch of batchesAttempted) {
          const n = batchCounts.get(batch) ?? 0;
          assert.ok(n === 0 || n === 5, `insertMany ${batch} is all or nothing (found ${n} of 5)`);
          if (batchesAcked.has(batch)) assert.equal(n, 5, `acknowledged insertMany ${batch}`);
        }
        const counters = await db.collection('counters').find().toArray();
        for (let w = 0; w < WRITERS; w++) {
          const c = counters.find((d) => d._id === (`c${w}` as unknown));
          const n = (c?.n as number | undefined) ?? 0;
          assert.ok(n >= (counterAcked[w] as number), `counter ${w}: every acknowledged $inc`);
          assert.ok(n <= (counterAttempted[w] as number), `counter ${w}: no invented $inc`);
          assert.equal(
            (c?.seen as number[] | undefined)?.length ?? 0,
            n,
            `counter ${w}: $inc and $push together`,
          );
        }
        // The unique index came back with the data.
        const first = [...acked.values()][0] as Document;
        const dup = await docs
          .insertOne({ _id: 'dup', w: first.w, k: first.k })
          .catch((e: unknown) => e);
        assert.ok(dup instanceof MongoServerError && dup.code === 11000, 'unique index enforced');
      });
      phase = 'done';
    },
  );

  void it('drops a torn journal tail whole, cuts it off, and keeps journaling after it', async () => {
    const dataDir = await tempDir();
    await withEngine(dataDir, async (client) => {
      await client
        .db('d')
        .collection('docs')
        .insertMany([{ _id: 'a' }, { _id: 'b' } as Document]);
    });
    await withEngine(dataDir, async (client) => {
      await client
        .db('d')
        .collection('docs')
        .insertOne({ _id: 'c', text: 'y'.repeat(500) } as Document);
    });
    const journal = await lastJournal(dataDir);
    await truncate(journal, (await stat(journal)).size - 100);

    await withEngine(dataDir, async (client) => {
      assert.deepEqual(await ids(client), ['a', 'b']);
      await client
        .db('d')
        .collection('docs')
        .insertOne({ _id: 'd' } as Document);
    });
    await withEngine(dataDir, async (client) => {
      assert.deepEqual(await ids(client), ['a', 'b', 'd']);
    });
  });

  void it('drops a record whose checksum does not match, and zeroes after the last record', async () => {
    const dataDir = await tempDir();
    await withEngine(dataDir, async (client) => {
      const docs = client.db('d').collection('docs');
      await docs.insertOne({ _id: 'a' } as Document);
      await docs.updateOne({ _id: 'a' } as Document, { $set: { v: 1 } });
    });
    await withEngine(dataDir, async (client) => {
      const docs = client.db('d').collection('docs');
      // One record: both changes of this ordered insert, applied together or not at all.
      await docs.insertMany([{ _id: 'b' }, { _id: 'c', text: 'z'.repeat(300) }] as Document[]);
    });
    const journal = await lastJournal(dataDir);
    const bytes = await readFile(journal);
    const at = bytes.length - 150;
    bytes[at] = (bytes[at] as number) ^ 0xff;
    await writeFile(journal, bytes);
    await appendFile(journal, Buffer.alloc(64));

    await withEngine(dataDir, async (client) => {
      assert.deepEqual(await ids(client), ['a']);
      assert.deepEqual(await client.db('d').collection('docs').findOne(), { _id: 'a', v: 1 });
    });
  });

  void it('restarts from a snapshot plus the journal after it, indexes and all', async () => {
    const dataDir = await tempDir();
    const read = async (client: MongoClient): Promise<Document> => {
      const db = client.db('app');
      const users = db.collection('users');
      return {
        collections: (await db.listCollections({}, { nameOnly: true }).toArray())
          .map((c) => c.name)
          .sort(),
        users: await users.find().sort({ _id: 1 }).toArray(),
        posts: await db.collection('posts').find().sort({ _id: 1 }).toArray(),
        indexes: await indexNames(users),
        byAge: await users
          .find({ age: { $gte: 40 } })
          .sort({ age: 1, _id: 1 })
          .toArray(),
        tagged: await db.collection('posts').find({ tags: 't3' }).sort({ _id: 1 }).toArray(),
        bigCount: await db.collection('big').countDocuments(),
        bigSample: await db
          .collection('big')
          .find({ i: { $in: [0, 1_234, 2_999] } })
          .toArray(),
      };
    };
    const before = await withEngine(
      dataDir,
      async (client, engine) => {
        const db = client.db('app');
        const users = db.collection('users');
        await users.createIndex({ email: 1 }, { unique: true });
        for (let i = 0; i < 200; i += 20) {
          await users.insertMany(
            Array.from({ length: 20 }, (_, j) => ({
              _id: i + j,
              email: `u${i + j}@x`,
              age: (i + j) % 60,
            })) as Document[],
          );
        }
        await users.updateMany({ age: { $lt: 10 } }, { $set: { young: true }, $inc: { age: 100 } });
        await users.deleteMany({ age: 30 });
        await users.createIndex({ age: 1 });
        const posts = db.collection('posts');
        await posts.createIndex({ tags: 1 });
        await posts.insertMany(
          Array.from({ length: 50 }, (_, i) => ({
            _id: i,
            tags: [`t${i % 5}`, `t${(i + 1) % 5}`],
          })) as Document[],
        );
        // Over a megabyte of documents: the snapshot holds them in several frames.
        await db
          .collection('big')
          .insertMany(
            Array.from({ length: 3_000 }, (_, i) => ({ i, text: `${i}`.padEnd(600, '.') })),
          );
        await db.collection('temp').insertOne({ x: 1 });
        await db.collection('temp').drop();
        // Compaction: a snapshot exists and the journals it covers are gone.
        await waitFor(
          async () => {
            const snaps = await files(dataDir, /^snapshot-\d+\.snap$/);
            const journals = await files(dataDir, /^journal-\d+\.wal$/);
            const snap = Number(/\d+/.exec(snaps.at(-1) ?? '')?.[0] ?? 0);
            return snap > 0 && journals.every((j) => Number(/\d+/.exec(j)?.[0]) >= snap);
          },
          30_000,
          'a snapshot and the removal of the journals it covers',
        );
        // Changes after the snapshot, replayed on top of it at the next start.
        await users.updateOne({ _id: 5 } as Document, { $set: { email: 'renamed@x', age: 41 } });
        await users.deleteOne({ _id: 7 } as Document);
        await users.insertOne({ _id: 1000, email: 'late@x', age: 45 } as Document);
        await posts.updateOne({ _id: 3 } as Document, { $set: { tags: ['t3', 'new'] } });
        assert.ok(engine.port > 0);
        return read(client);
      },
      2048,
    );
    await withEngine(dataDir, async (client) => {
      assert.deepEqual(await read(client), before);
      const dup = await client
        .db('app')
        .collection('users')
        .insertOne({ email: 'late@x' })
        .catch((e: unknown) => e);
      assert.ok(dup instanceof MongoServerError && dup.code === 11000, 'unique index enforced');
    });
  });

  void it('merges a large journal replay into the indexes loaded from the snapshot', async () => {
    const dataDir = await tempDir();
    // Run 1: 100 documents, then a snapshot of them (the small threshold starts it).
    await withEngine(
      dataDir,
      async (client) => {
        const items = client.db('m').collection('items');
        await items.createIndex({ code: 1 }, { unique: true });
        await items.createIndex({ tags: 1, n: -1 });
        await items.insertMany(
          Array.from({ length: 100 }, (_, i) => ({
            _id: i,
            code: `c${String(i).padStart(3, '0')}`,
            n: i,
            tags: [`t${i % 3}`, `t${i % 7}`],
          })) as Document[],
        );
        await waitFor(
          async () => (await files(dataDir, /^snapshot-\d+\.snap$/)).length > 0,
          30_000,
          'a snapshot',
        );
      },
      1024,
    );
    // Run 2: no snapshot; over an eighth of the documents change, so replay merges in bulk.
    const read = async (client: MongoClient): Promise<Document> => {
      const items = client.db('m').collection('items');
      return {
        // No sort: the engine returns these in the order of the index that answers them.
        byCode: await items.find({ code: { $gte: '' } }).toArray(),
        byTag: await items.find({ tags: 't2' }).toArray(),
        byId: await items.find().toArray(),
      };
    };
    const before = await withEngine(
      dataDir,
      async (client) => {
        const items = client.db('m').collection('items');
        await items.updateMany({ n: { $lt: 40 } }, [
          { $set: { code: { $concat: ['z', '$code'] }, n: { $add: ['$n', 1000] } } },
        ]);
        await items.updateMany(
          { n: { $gte: 90, $lt: 100 } },
          {
            $set: { tags: ['t2', 'new'] },
          },
        );
        await items.deleteMany({ n: { $gte: 40, $lt: 50 } });
        await items.insertMany(
          Array.from({ length: 30 }, (_, i) => ({
            _id: 200 + i,
            code: `b${i}`,
            n: -i,
            tags: ['t2'],
          })) as Document[],
        );
        return read(client);
      },
      Number.MAX_SAFE_INTEGER,
    );
    assert.equal((before.byId as Document[]).length, 120);
    await withEngine(dataDir, async (client) => {
      assert.deepEqual(await read(client), before);
      const dup = await client
        .db('m')
        .collection('items')
        .insertOne({ code: 'zc005' })
        .catch((e: unknown) => e);
      assert.ok(dup instanceof MongoServerError && dup.code === 11000, 'unique index enforced');
    });
  });

  void it('refuses a data directory another live process holds', async () => {
    const dataDir = await tempDir();
    await withEngine(dataDir, async () => {
      await assert.rejects(
        startEmbeddedMongo({ dataDir, thread: 'inline' }),
        /data directory .* is in use by process/,
      );
    });
  });
});
