import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MongoClient, type Db, type Document } from 'mongodb';
import { startEmbeddedMongo, type EmbeddedMongo } from '../src/index.js';

interface Note {
  _id: number;
  content: string;
}

const TOTAL = 5_000;

/** Engine behaviour beyond MongoDB's own (conformance-text.test.ts covers the shared part). */
void describe('engine: text indexes', () => {
  let mongo: EmbeddedMongo;
  let client: MongoClient;
  let db: Db;

  before(async () => {
    mongo = await startEmbeddedMongo();
    client = await new MongoClient(mongo.uri).connect();
    db = client.db('text_engine');
  });
  after(async () => {
    await client.close();
    await mongo.stop();
  });

  async function scanned(): Promise<number> {
    const status = await db.admin().command({ serverStatus: 1 });
    const qe = (status.metrics as { queryExecutor: { scannedObjects: unknown } }).queryExecutor;
    return Number(qe.scannedObjects);
  }

  void it('answers $text from the index: only documents holding a term are examined', async () => {
    const notes = db.collection<Note>('notes');
    await notes.createIndex({ content: 'text' });
    await notes.insertMany(
      Array.from({ length: TOTAL }, (_, i) => ({
        _id: i,
        content: i % 500 === 0 ? `rare zebra sighting ${i}` : `common message number ${i}`,
      })),
    );
    const before = await scanned();
    const found = await notes.find({ $text: { $search: 'zebras' } }).toArray();
    const examined = (await scanned()) - before;
    assert.equal(found.length, TOTAL / 500);
    assert.equal(examined, TOTAL / 500, `examined ${examined} documents`);
  });

  void it('narrows phrases with separators at their ends to documents holding every word (language none)', async () => {
    const words = db.collection<Note>('spaced');
    await words.createIndex({ content: 'text' }, { default_language: 'none' });
    await words.insertMany(
      Array.from({ length: TOTAL }, (_, i) => ({
        _id: i,
        content: i % 1000 === 0 ? ` common zebra ${i} ` : ` common words ${i} concatenated `,
      })),
    );
    const ids = async (search: string) =>
      (await words.find({ $text: { $search: search } }).toArray()).map((d) => d._id).sort();
    const before = await scanned();
    assert.deepEqual(await ids('" common " " zebra "'), [0, 1000, 2000, 3000, 4000]);
    const examined = (await scanned()) - before;
    assert.equal(examined, TOTAL / 1000, `examined ${examined} documents`);
    // Without the separators a phrase is still a substring, as in MongoDB.
    assert.equal((await ids('"common" "cat"')).length, TOTAL - TOTAL / 1000);
    assert.deepEqual(await ids('"common" " cat "'), []);
  });

  void it('answers a ranked, keyset-paged text aggregation like the general pipeline does', async () => {
    const posts = db.collection<{ _id: number; content: string; at: number; extra: string }>(
      'ranked',
    );
    await posts.createIndex({ content: 'text' });
    await posts.insertMany(
      Array.from({ length: 3000 }, (_, i) => ({
        _id: i,
        content: ['apple', 'apple apple pear', 'pear plum apple', 'plum'][i % 4] as string,
        at: i % 7,
        extra: 'x'.repeat(i % 3),
      })),
    );
    const sort = { score: -1, at: -1, _id: -1 } as const;
    const cursor = { $or: [{ score: { $lt: 1.1 } }, { score: 1.1, at: { $lt: 3 } }] };
    const match = { $match: { $text: { $search: 'apple' }, at: { $ne: 5 } } };
    const projectScore = { $project: { at: 1, score: { $meta: 'textScore' } } };
    const fast: Document[] = [
      match,
      projectScore,
      { $match: cursor },
      { $sort: sort },
      { $limit: 25 },
    ];
    // The same question in a shape the fast path does not take: the general way (mingo).
    const addScore = { $addFields: { score: { $meta: 'textScore' } } };
    const projectBack = { $project: { at: 1, score: 1 } };
    const general: Document[] = [
      match,
      addScore,
      { $match: cursor },
      { $sort: sort },
      { $limit: 25 },
      projectBack,
    ];
    const a = await posts.aggregate(fast).toArray();
    const b = await posts.aggregate(general).toArray();
    assert.equal(a.length, 25);
    assert.deepEqual(a, b);
    // First page (no cursor): the best scores, ties by `at` then `_id`, both descending.
    const first = await posts
      .aggregate([match, projectScore, { $sort: sort }, { $limit: 5 }])
      .toArray();
    const firstGeneral = await posts
      .aggregate([match, addScore, { $sort: sort }, { $limit: 5 }, projectBack])
      .toArray();
    assert.deepEqual(first, firstGeneral);
    assert.ok(
      first.every((d, k) => k === 0 || (first[k - 1]?.score as number) >= (d.score as number)),
    );
  });

  void it('treats dotless ı and dotted İ as i in any language', async () => {
    const places = db.collection<Note>('places');
    await places.createIndex({ content: 'text' });
    await places.insertMany([
      { _id: 1, content: 'Işık sokağı' },
      { _id: 2, content: 'ıstanbul' },
      { _id: 3, content: 'İZMİR' },
    ]);
    const ids = async (search: string) =>
      (await places.find({ $text: { $search: search } }).toArray()).map((d) => d._id).sort();
    assert.deepEqual(await ids('isik'), [1]);
    assert.deepEqual(await ids('istanbul İstanbul'), [2]);
    assert.deepEqual(await ids('izmir'), [3]);
  });

  void it('rebuilds the text index when it loads a data directory', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'embedded-text-'));
    try {
      const first = await startEmbeddedMongo({ dataDir });
      const c1 = await new MongoClient(first.uri).connect();
      const posts = c1.db('persist_text').collection<Note>('posts');
      await posts.createIndex({ content: 'text' }, { default_language: 'turkish' });
      await posts.insertMany([
        { _id: 1, content: 'kitaplar' },
        { _id: 2, content: 'defterler' },
      ]);
      await c1.close();
      await first.stop();

      const second = await startEmbeddedMongo({ dataDir });
      const c2 = await new MongoClient(second.uri).connect();
      const again = c2.db('persist_text').collection<Note>('posts');
      const found = await again.find({ $text: { $search: 'kitap' } }).toArray();
      assert.deepEqual(
        found.map((d) => d._id),
        [1],
      );
      await c2.close();
      await second.stop();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
