import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongoClient, ObjectId, type Collection, type Db } from 'mongodb';
import { startEmbeddedMongo, type EmbeddedMongo } from '../src/index.js';

interface Msg {
  _id: ObjectId;
  conversationId: number;
  other: number;
  at: number;
}

const TOTAL = 10_000;
const CONVERSATIONS = 100;

void describe('engine: secondary indexes are used', () => {
  let mongo: EmbeddedMongo;
  let client: MongoClient;
  let db: Db;
  let messages: Collection<Msg>;

  before(async () => {
    mongo = await startEmbeddedMongo();
    client = await new MongoClient(mongo.uri).connect();
    db = client.db('index_use');
    messages = db.collection<Msg>('messages');
    await messages.createIndex({ conversationId: 1, _id: -1 });
    const docs = Array.from({ length: TOTAL }, (_, i) => ({
      _id: new ObjectId(),
      conversationId: i % CONVERSATIONS,
      other: i % CONVERSATIONS,
      at: i,
    }));
    await messages.insertMany(docs);
  });
  after(async () => {
    await client.close();
    await mongo.stop();
  });

  async function examined(run: () => Promise<unknown>): Promise<number> {
    const read = async () => {
      const status = await db.admin().command({ serverStatus: 1 });
      const qe = (status.metrics as { queryExecutor: { scannedObjects: unknown } }).queryExecutor;
      return Number(qe.scannedObjects);
    };
    const before = await read();
    await run();
    return (await read()) - before;
  }

  void it('walks only ~limit documents for equality + sort on the index', async () => {
    let page: Msg[] = [];
    const n = await examined(async () => {
      page = await messages.find({ conversationId: 7 }).sort({ _id: -1 }).limit(20).toArray();
    });
    assert.equal(page.length, 20);
    assert.ok(page.every((m) => m.conversationId === 7));
    assert.ok(n <= 25, `indexed query examined ${n} documents`);
  });

  void it('uses a range on the next index field', async () => {
    const all = await messages.find({ conversationId: 3 }).sort({ _id: -1 }).toArray();
    const cursor = all[49]?._id as ObjectId;
    let page: Msg[] = [];
    const n = await examined(async () => {
      page = await messages
        .find({ conversationId: 3, _id: { $lt: cursor } })
        .sort({ _id: -1 })
        .limit(10)
        .toArray();
    });
    assert.deepEqual(
      page.map((m) => m._id.toHexString()),
      all.slice(50, 60).map((m) => m._id.toHexString()),
    );
    assert.ok(n <= 15, `range query examined ${n} documents`);
  });

  void it('uses $in on the leading field', async () => {
    const n = await examined(async () => {
      assert.equal(
        await messages.countDocuments({ conversationId: { $in: [1, 2] } }),
        2 * (TOTAL / CONVERSATIONS),
      );
    });
    assert.ok(n <= 2 * (TOTAL / CONVERSATIONS), `$in examined ${n} documents`);
  });

  void it('scans the whole collection for an unindexed field', async () => {
    const n = await examined(async () => {
      const page = await messages.find({ other: 7 }).sort({ at: -1 }).limit(20).toArray();
      assert.equal(page.length, 20);
    });
    assert.equal(n, TOTAL);
  });

  void it('walks a multikey index for an $elemMatch range, each document once', async () => {
    const people = db.collection<{ _id: number; keys: string[] }>('people');
    await people.createIndex({ keys: 1 });
    await people.insertMany(
      Array.from({ length: 2000 }, (_, i) => ({
        _id: i,
        keys: i === 7 ? ['ozge', 'ozge isik', 'isik'] : [`user${i}`, `zz${i}`],
      })),
    );
    let found: { _id: number }[] = [];
    const n = await examined(async () => {
      found = await people
        .find({ keys: { $elemMatch: { $gte: 'ozge', $lt: 'ozge\uffff' } } })
        .toArray();
    });
    assert.deepEqual(
      found.map((p) => p._id),
      [7],
    );
    assert.equal(n, 1);
    // Without $elemMatch, two different keys may satisfy the two bounds (MongoDB's rule).
    const loose = await people.find({ keys: { $gte: 'isik', $lt: 'isik\uffff' } }).toArray();
    assert.deepEqual(
      loose.map((p) => p._id),
      [7],
    );
  });
});
