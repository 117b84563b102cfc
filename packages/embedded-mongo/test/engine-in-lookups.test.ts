import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongoClient, ObjectId, type Collection, type Db } from 'mongodb';
import { startEmbeddedMongo, type EmbeddedMongo } from '../src/index.js';

type Id = ObjectId | string;

interface Item {
  _id: Id;
  n: number;
  group: string;
  tag?: string | null;
  flag?: boolean;
}

const OBJECT_IDS = 15_000;
const STRING_IDS = 5_000;
const GROUPS = 10_000;

/** Engine-specific: `$in` is planned as point lookups and checked in O(1) per document. */
void describe('engine: $in lookups on a 20,000-document collection', () => {
  let mongo: EmbeddedMongo;
  let client: MongoClient;
  let db: Db;
  let items: Collection<Item>;
  const oids: ObjectId[] = [];
  const sids: string[] = [];

  before(async () => {
    mongo = await startEmbeddedMongo();
    client = await new MongoClient(mongo.uri).connect();
    db = client.db('in_lookups');
    items = db.collection<Item>('items');
    await items.createIndex({ group: 1 });
    const docs: Item[] = [];
    for (let i = 0; i < OBJECT_IDS; i++) {
      const _id = new ObjectId();
      oids.push(_id);
      docs.push({ _id, n: i, group: `g${i % GROUPS}`, ...(i % 3 === 0 ? { tag: 't' } : {}) });
    }
    for (let i = 0; i < STRING_IDS; i++) {
      const _id = `s-${i}`;
      sids.push(_id);
      docs.push({
        _id,
        n: OBJECT_IDS + i,
        group: `g${i % GROUPS}`,
        ...(i % 2 ? { tag: null } : {}),
      });
    }
    for (let i = 0; i < docs.length; i += 5_000) await items.insertMany(docs.slice(i, i + 5_000));
  });
  after(async () => {
    await client.close();
    await mongo.stop();
  });

  async function examined<T>(run: () => Promise<T>): Promise<{ n: number; result: T }> {
    const read = async () => {
      const status = await db.admin().command({ serverStatus: 1 });
      const qe = (status.metrics as { queryExecutor: { scannedObjects: unknown } }).queryExecutor;
      return Number(qe.scannedObjects);
    };
    const start = await read();
    const result = await run();
    return { n: (await read()) - start, result };
  }

  /** 5,000 ids: 2,000 present ObjectIds, 1,000 absent, 1,000 present strings, 1,000 absent. */
  function mixedIds(): { ids: Id[]; present: Set<string> } {
    const ids: Id[] = [];
    const present = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      const id = oids[i * 7] as ObjectId;
      ids.push(id);
      present.add(id.toHexString());
    }
    for (let i = 0; i < 1_000; i++) ids.push(new ObjectId());
    for (let i = 0; i < 1_000; i++) {
      const id = sids[i * 5] as string;
      ids.push(id);
      present.add(id);
    }
    for (let i = 0; i < 1_000; i++) ids.push(`absent-${i}`);
    // Interleave so neither kind comes first.
    ids.sort(() => 0.5 - Math.random());
    return { ids, present };
  }

  const key = (id: Id): string => (typeof id === 'string' ? id : id.toHexString());

  void it('find by _id $in 5,000 mixed ids examines only the documents found', async () => {
    const { ids, present } = mixedIds();
    const { n, result } = await examined(() =>
      items
        .find({ _id: { $in: ids } })
        .batchSize(10_000)
        .toArray(),
    );
    assert.equal(result.length, 3_000);
    assert.deepEqual(new Set(result.map((d) => key(d._id))), present);
    assert.ok(n <= 5_000, `examined ${n} documents`);
  });

  void it('updateMany and countDocuments by _id $in with a residual filter', async () => {
    const { ids, present } = mixedIds();
    const { n, result } = await examined(() =>
      items.updateMany({ _id: { $in: ids }, n: { $gte: 0 } }, { $set: { flag: true } }),
    );
    assert.equal(result.matchedCount, 3_000);
    assert.equal(result.modifiedCount, 3_000);
    assert.ok(n <= 5_000, `examined ${n} documents`);
    assert.equal(await items.countDocuments({ _id: { $in: ids }, flag: true }), 3_000);
    const flagged = await items.find({ flag: true }).toArray();
    assert.deepEqual(new Set(flagged.map((d) => key(d._id))), present);
    const reset = await items.updateMany({ _id: { $in: ids } }, { $unset: { flag: '' } });
    assert.equal(reset.modifiedCount, 3_000);
    assert.equal(await items.countDocuments({ flag: { $exists: true } }), 0);
  });

  void it('$in on an index-leading field seeks each value (5,000 values)', async () => {
    const groups = Array.from({ length: 5_000 }, (_, i) => `g${i * 2}`);
    groups.push('g0', 'g2', 'missing-group');
    const { n, result } = await examined(() =>
      items
        .find({ group: { $in: groups } })
        .batchSize(20_000)
        .toArray(),
    );
    // Even groups below g5000 hold 3 documents each (2 ObjectId, 1 string _id), the others 1.
    assert.equal(result.length, 10_000);
    assert.equal(new Set(result.map((d) => key(d._id))).size, 10_000, 'no duplicates');
    assert.ok(
      result.every((d) => Number(d.group.slice(1)) % 2 === 0),
      'only the listed groups',
    );
    assert.ok(n <= 10_000, `examined ${n} documents`);
    // A repeated value is looked up once (it used to return its documents twice).
    assert.equal(await items.countDocuments({ group: { $in: ['g1', 'g1', 'g1'] } }), 3);
  });

  void it('$in and $nin on an unindexed field keep mingo semantics', async () => {
    const ns = Array.from({ length: 3_000 }, (_, i) => i * 5);
    const { n, result } = await examined(() =>
      items
        .find({ n: { $in: ns } })
        .batchSize(20_000)
        .toArray(),
    );
    assert.equal(result.length, 3_000);
    assert.equal(n, OBJECT_IDS + STRING_IDS, 'a full scan, each document checked once');
    // null matches a missing field as well as an explicit null.
    const tagNull = await items.countDocuments({ tag: { $in: [null] } });
    const tagged = await items.countDocuments({ tag: 't' });
    assert.equal(tagNull, OBJECT_IDS + STRING_IDS - tagged);
    assert.equal(await items.countDocuments({ tag: { $nin: [null, 't'] } }), 0);
    assert.equal(await items.countDocuments({ tag: { $nin: ['t'] } }), tagNull);
    // Regular expressions in the list still match strings.
    assert.equal(await items.countDocuments({ _id: { $in: [/^s-1\d$/, 'nope'] } }), 10);
  });
});
