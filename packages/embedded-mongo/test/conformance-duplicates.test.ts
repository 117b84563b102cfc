import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongoBulkWriteError, MongoServerError, type WriteError } from 'mongodb';
import { indexNames, openTarget, type Target } from './support.js';

function dupError(err: unknown): MongoServerError {
  assert.ok(err instanceof MongoServerError, `expected MongoServerError, got ${String(err)}`);
  assert.equal(err.code, 11000);
  return err;
}

void describe('conformance: duplicate keys', () => {
  let t: Target;
  before(async () => {
    t = await openTarget('conf_dup');
  });
  after(async () => t.close());

  void it('rejects a duplicate on a single-field unique index with keyPattern and keyValue', async () => {
    const users = t.db.collection('users');
    await users.createIndex({ email: 1 }, { unique: true });
    await users.insertOne({ email: 'a@x.io' });
    const err = dupError(await users.insertOne({ email: 'a@x.io' }).catch((e: unknown) => e));
    assert.deepEqual(err.keyPattern, { email: 1 });
    assert.deepEqual(err.keyValue, { email: 'a@x.io' });
    assert.match(
      err.message,
      /^E11000 duplicate key error collection: \S+\.users index: email_1 dup key: \{ email: "a@x\.io" \}$/,
    );
    assert.equal(await users.countDocuments(), 1);
  });

  void it('rejects a duplicate _id', async () => {
    const c = t.db.collection<{ _id: string }>('ids');
    await c.insertOne({ _id: 'k' });
    const err = dupError(await c.insertOne({ _id: 'k' }).catch((e: unknown) => e));
    assert.deepEqual(err.keyValue, { _id: 'k' });
  });

  void it('enforces compound unique indexes on the whole key only', async () => {
    const c = t.db.collection('members');
    await c.createIndex({ conversationId: 1, userId: 1 }, { unique: true });
    await c.insertMany([
      { conversationId: 1, userId: 1 },
      { conversationId: 1, userId: 2 },
      { conversationId: 2, userId: 1 },
    ]);
    const err = dupError(
      await c.insertOne({ conversationId: 1, userId: 2 }).catch((e: unknown) => e),
    );
    assert.deepEqual(err.keyValue, { conversationId: 1, userId: 2 });
  });

  void it('lets a sparse unique index hold many documents without the field', async () => {
    const c = t.db.collection('sparse');
    await c.createIndex({ phone: 1 }, { unique: true, sparse: true });
    await c.insertMany([{ n: 1 }, { n: 2 }, { phone: '1' }]);
    dupError(await c.insertOne({ phone: '1' }).catch((e: unknown) => e));
    assert.equal(await c.countDocuments(), 3);
  });

  void it('applies a partial unique index only to matching documents', async () => {
    const c = t.db.collection('partial');
    await c.createIndex({ slot: 1 }, { unique: true, partialFilterExpression: { active: true } });
    await c.insertMany([
      { slot: 1, active: false },
      { slot: 1, active: false },
      { slot: 1, active: true },
    ]);
    dupError(await c.insertOne({ slot: 1, active: true }).catch((e: unknown) => e));
  });

  void it('reports every duplicate of an unordered insertMany while inserting the rest', async () => {
    const c = t.db.collection('bulk');
    await c.createIndex({ k: 1 }, { unique: true });
    await c.insertOne({ k: 1 });
    const err = await c
      .insertMany([{ k: 1 }, { k: 2 }, { k: 2 }, { k: 3 }, { k: 1 }], { ordered: false })
      .catch((e: unknown) => e);
    assert.ok(err instanceof MongoBulkWriteError);
    assert.equal(err.code, 11000);
    const errors: WriteError[] = ([] as WriteError[]).concat(err.writeErrors);
    assert.deepEqual(
      errors.map((e) => e.index),
      [0, 2, 4],
    );
    assert.equal(err.result.insertedCount, 2);
    assert.deepEqual(
      (
        await c
          .find({}, { projection: { _id: 0 } })
          .sort({ k: 1 })
          .toArray()
      ).map((d) => Number(d.k)),
      [1, 2, 3],
    );
  });

  void it('stops an ordered insertMany at the first duplicate', async () => {
    const c = t.db.collection('ordered');
    await c.createIndex({ k: 1 }, { unique: true });
    const err = await c.insertMany([{ k: 1 }, { k: 1 }, { k: 2 }]).catch((e: unknown) => e);
    assert.ok(err instanceof MongoBulkWriteError);
    assert.equal(await c.countDocuments(), 1);
  });

  void it('fails an update that would violate a unique index and changes nothing', async () => {
    const c = t.db.collection('upd');
    await c.createIndex({ name: 1 }, { unique: true });
    await c.insertMany([
      { name: 'a', v: 1 },
      { name: 'b', v: 1 },
    ]);
    dupError(
      await c.updateOne({ name: 'b' }, { $set: { name: 'a', v: 2 } }).catch((e: unknown) => e),
    );
    const b = await c.findOne({ name: 'b' });
    assert.equal(b?.v, 1);
  });

  void it('lets exactly one of many concurrent upserts insert', async () => {
    const c = t.db.collection('race');
    await c.createIndex({ key: 1 }, { unique: true });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        c.updateOne({ key: 'x' }, { $setOnInsert: { by: i }, $inc: { hits: 1 } }, { upsert: true }),
      ),
    );
    const upserts = results.filter(
      (r) => r.status === 'fulfilled' && r.value.upsertedCount === 1,
    ).length;
    const failed = results.filter((r) => r.status === 'rejected');
    for (const f of failed) if (f.status === 'rejected') dupError(f.reason);
    assert.equal(upserts, 1);
    const doc = await c.findOne({ key: 'x' });
    assert.equal(doc?.hits, 20 - failed.length);
    assert.equal(await c.countDocuments({ key: 'x' }), 1);
  });

  void it('refuses to build a unique index over existing duplicates', async () => {
    const c = t.db.collection('late');
    await c.insertMany([{ k: 1 }, { k: 1 }]);
    dupError(await c.createIndex({ k: 1 }, { unique: true }).catch((e: unknown) => e));
    assert.deepEqual(await indexNames(c), ['_id_']);
  });
});
