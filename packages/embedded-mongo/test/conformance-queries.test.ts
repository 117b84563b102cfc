import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongoServerError, ObjectId, type Document } from 'mongodb';
import { indexNames, openTarget, waitFor, type Target } from './support.js';

void describe('conformance: queries, aggregation, cursors, indexes', () => {
  let t: Target;
  before(async () => {
    t = await openTarget('conf_query');
  });
  after(async () => t.close());

  void it('pages message history by _id without gaps or overlaps', async () => {
    const messages = t.db.collection('messages');
    await messages.createIndex({ conversationId: 1, _id: -1 });
    const conv = new ObjectId();
    const other = new ObjectId();
    const docs = Array.from({ length: 237 }, (_, i) => ({
      _id: new ObjectId(),
      conversationId: i % 5 === 0 ? other : conv,
      i,
    }));
    await messages.insertMany(docs);
    const expected = docs
      .filter((d) => d.conversationId.equals(conv))
      .map((d) => d._id.toHexString())
      .reverse();
    const seen: string[] = [];
    let cursor: ObjectId | undefined;
    for (;;) {
      const filter = cursor
        ? { conversationId: conv, _id: { $lt: cursor } }
        : { conversationId: conv };
      const page = await messages.find(filter).sort({ _id: -1 }).limit(50).toArray();
      if (page.length === 0) break;
      assert.ok(page.length <= 50);
      seen.push(...page.map((d) => d._id.toHexString()));
      cursor = page[page.length - 1]?._id;
    }
    assert.deepEqual(seen, expected);
  });

  void it('$match + $group counts, $sort/$limit, countDocuments and distinct', async () => {
    const c = t.db.collection('events');
    await c.insertMany([
      { user: 'a', kind: 'msg', n: 3 },
      { user: 'a', kind: 'msg', n: 1 },
      { user: 'b', kind: 'msg', n: 2 },
      { user: 'b', kind: 'login', n: 9 },
      { user: 'c', kind: 'msg', n: 5 },
    ]);
    const grouped = await c
      .aggregate([
        { $match: { kind: 'msg' } },
        { $group: { _id: '$user', count: { $sum: 1 }, total: { $sum: '$n' } } },
        { $sort: { _id: 1 } },
      ])
      .toArray();
    assert.deepEqual(grouped, [
      { _id: 'a', count: 2, total: 4 },
      { _id: 'b', count: 1, total: 2 },
      { _id: 'c', count: 1, total: 5 },
    ]);
    const top = await c
      .aggregate([{ $sort: { n: -1 } }, { $limit: 2 }, { $project: { _id: 0, n: 1 } }])
      .toArray();
    assert.deepEqual(top, [{ n: 9 }, { n: 5 }]);
    assert.equal(await c.countDocuments({ kind: 'msg' }), 4);
    assert.equal(await c.countDocuments({ kind: 'msg' }, { skip: 1, limit: 2 }), 2);
    assert.deepEqual((await c.distinct('user', { kind: 'msg' })).sort(), ['a', 'b', 'c']);
    const counted = await c.aggregate([{ $match: { user: 'b' } }, { $count: 'n' }]).toArray();
    assert.deepEqual(counted, [{ n: 2 }]);
  });

  void it('$lookup joins another collection', async () => {
    const users = t.db.collection('lk_users');
    const posts = t.db.collection('lk_posts');
    const u = await users.insertOne({ name: 'ann' });
    await posts.insertMany([
      { author: u.insertedId, text: 'x' },
      { author: new ObjectId(), text: 'y' },
    ]);
    const rows = await posts
      .aggregate([
        {
          $lookup: { from: 'lk_users', localField: 'author', foreignField: '_id', as: 'authorDoc' },
        },
        { $project: { _id: 0, text: 1, names: '$authorDoc.name' } },
        { $sort: { text: 1 } },
      ])
      .toArray();
    assert.deepEqual(rows, [
      { text: 'x', names: ['ann'] },
      { text: 'y', names: [] },
    ]);
  });

  void it('iterates a cursor with a small batchSize and getMore, and kills cursors', async () => {
    const c = t.db.collection('many');
    await c.insertMany(Array.from({ length: 25 }, (_, i) => ({ i })));
    const all = await c.find({}, { batchSize: 4 }).sort({ i: 1 }).toArray();
    assert.deepEqual(
      all.map((d) => Number(d.i)),
      Array.from({ length: 25 }, (_, i) => i),
    );
    const cursor = c.find({}).batchSize(3);
    assert.ok(await cursor.next());
    await cursor.close();
    const reply = await t.db.command({ find: 'many', filter: {}, batchSize: 2 });
    const id = (reply.cursor as { id: unknown }).id;
    const killed = await t.db.command({ killCursors: 'many', cursors: [id] });
    assert.equal((killed.cursorsKilled as unknown[]).length, 1);
    await assert.rejects(t.db.command({ getMore: id, collection: 'many' }), { code: 43 });
  });

  void it('supports skip, limit, projection and multikey equality', async () => {
    const c = t.db.collection('conv');
    await c.createIndex({ participants: 1, lastMessageAt: -1 });
    const base = Date.UTC(2024, 0, 1);
    await c.insertMany(
      Array.from({ length: 10 }, (_, i) => ({
        participants: ['u1', `p${i}`],
        lastMessageAt: new Date(base + i),
        title: `t${i}`,
      })),
    );
    const page = await c
      .find({ participants: 'u1' }, { projection: { _id: 0, title: 1 } })
      .sort({ lastMessageAt: -1 })
      .skip(2)
      .limit(3)
      .toArray();
    assert.deepEqual(page, [{ title: 't7' }, { title: 't6' }, { title: 't5' }]);
    assert.equal(await c.countDocuments({ participants: 'p3' }), 1);
  });

  void it('applies plain inclusion and exclusion projections in document order', async () => {
    const c = t.db.collection('projections');
    const _id = new ObjectId();
    await c.insertOne({ _id, b: 1, a: { x: [1, 2] }, c: 'c' });
    const as = async (projection: Record<string, 0 | 1 | boolean>) =>
      JSON.stringify(await c.findOne({ _id }, { projection }));
    const id = JSON.stringify(_id);
    assert.equal(await as({ c: 1, a: 1 }), `{"_id":${id},"a":{"x":[1,2]},"c":"c"}`);
    assert.equal(await as({ _id: 0, c: true, missing: 1 }), '{"c":"c"}');
    assert.equal(await as({ a: 0 }), `{"_id":${id},"b":1,"c":"c"}`);
    assert.equal(await as({ _id: 0 }), '{"b":1,"a":{"x":[1,2]},"c":"c"}');
    assert.equal(await as({ _id: 1 }), `{"_id":${id}}`);
    assert.equal(await as({ _id: 0, a: false, b: 0 }), '{"c":"c"}');
    await assert.rejects(c.findOne({ _id }, { projection: { a: 1, b: 0 } }));
  });

  void it('top-level scalar filters: types, missing fields, arrays and null', async () => {
    const c = t.db.collection('scalar');
    const day = (d: number) => new Date(Date.UTC(2026, 0, d));
    const oid = new ObjectId();
    await c.insertMany([
      { k: 1, n: 1, s: 'b', at: day(2), ok: true, o: oid },
      { k: 2, n: 2.5, s: 'a', at: day(1), ok: false },
      { k: 3, n: '2', s: ['a', 'c'], at: null, ok: [true] },
      { k: 4, n: [0, 5], s: { x: 1 } },
      { k: 5 },
    ]);
    const ks = async (filter: Document) =>
      (await c.find(filter, { sort: { k: 1 } }).toArray()).map((d) => d.k as number);
    assert.deepEqual(await ks({ n: { $gt: 1 } }), [2, 4]);
    // Each bound may be met by a different element of an array (no $elemMatch).
    assert.deepEqual(await ks({ n: { $lte: 2.5, $gte: 1 } }), [1, 2, 4]);
    assert.deepEqual(await ks({ n: { $ne: 1 } }), [2, 3, 4, 5]);
    assert.deepEqual(await ks({ s: 'a' }), [2, 3]);
    assert.deepEqual(await ks({ s: { $lt: 'b' } }), [2, 3]);
    assert.deepEqual(await ks({ at: { $lte: day(1) } }), [2]);
    assert.deepEqual(await ks({ at: { $ne: day(1) } }), [1, 3, 4, 5]);
    assert.deepEqual(await ks({ ok: true }), [1, 3]);
    assert.deepEqual(await ks({ ok: { $ne: true } }), [2, 4, 5]);
    assert.deepEqual(await ks({ o: oid, k: { $in: [1, 2] } }), [1]);
    assert.deepEqual(await ks({ o: { $ne: oid }, n: { $in: [5, 2.5] } }), [2, 4]);
    assert.deepEqual(await ks({ k: { $gte: 2, $lt: 4 }, at: { $gt: day(0) } }), [2]);
  });

  void it('projects top-level fields in document order, including, excluding and hiding _id', async () => {
    const c = t.db.collection('proj');
    const { insertedId: _id } = await c.insertOne({ b: 2, a: { x: 1 }, c: [3], d: null });
    const one = (projection: Document) => c.findOne({ _id }, { projection });
    assert.deepEqual(Object.keys((await one({ c: 1, a: 1 })) ?? {}), ['_id', 'a', 'c']);
    assert.deepEqual(await one({ _id: 0, a: 1, missing: 1 }), { a: { x: 1 } });
    assert.deepEqual(await one({ a: 0, c: 0 }), { _id, b: 2, d: null });
    assert.deepEqual(await one({ _id: 0, b: 0 }), { a: { x: 1 }, c: [3], d: null });
    assert.deepEqual(await one({ _id: 1 }), { _id });
    assert.deepEqual(await one({ 'a.x': 1, _id: 0 }), { a: { x: 1 } });
  });

  void it('lists and drops indexes; identical createIndex is a no-op, conflicting is an error', async () => {
    const c = t.db.collection('idx');
    assert.equal(await c.createIndex({ a: 1 }, { unique: true }), 'a_1');
    assert.equal(await c.createIndex({ a: 1 }, { unique: true }), 'a_1');
    await c.createIndex({ b: 1, c: -1 });
    const names = await indexNames(c);
    assert.deepEqual(names, ['_id_', 'a_1', 'b_1_c_-1']);
    const err = await c.createIndex({ a: 1 }, { name: 'other' }).catch((e: unknown) => e);
    assert.ok(err instanceof MongoServerError && (err.code === 85 || err.code === 86), String(err));
    await c.dropIndex('a_1');
    assert.deepEqual(await indexNames(c), ['_id_', 'b_1_c_-1']);
    await c.dropIndexes();
    assert.deepEqual(await indexNames(c), ['_id_']);
  });

  void it('answers an unknown command with CommandNotFound and bad types with ok:0', async () => {
    const unknown = await t.db.command({ definitelyNotACommand: 1 }).catch((e: unknown) => e);
    assert.ok(unknown instanceof MongoServerError);
    assert.equal(unknown.code, 59);
    assert.equal(unknown.codeName, 'CommandNotFound');
    const bad = await t.db
      .command({ find: 'many', filter: 'not a document' })
      .catch((e: unknown) => e);
    assert.ok(bad instanceof MongoServerError);
    assert.equal(bad.code, 14);
    assert.ok(bad.message.length > 0);
    const badLimit = await t.db.command({ find: 'many', limit: 'x' }).catch((e: unknown) => e);
    assert.ok(badLimit instanceof MongoServerError && typeof badLimit.code === 'number');
  });

  void it('lists collections by name', async () => {
    await t.db.createCollection('listed');
    const names = (
      await t.db.listCollections({ name: 'listed' }, { nameOnly: true }).toArray()
    ).map((c) => c.name);
    assert.deepEqual(names, ['listed']);
    await t.db.collection('listed').drop();
    assert.equal((await t.db.listCollections({ name: 'listed' }).toArray()).length, 0);
  });

  void it('expires documents through a TTL index', async () => {
    const c = t.db.collection('ttl');
    await c.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 });
    await c.insertMany([
      { expiresAt: new Date(Date.now() - 1000), k: 'old' },
      { expiresAt: new Date(Date.now() + 3_600_000), k: 'new' },
      { k: 'no-date' },
    ]);
    // A real mongod sweeps every 60 s; the embedded engine is configured to sweep often.
    const deadline = t.embedded ? 5_000 : 120_000;
    await waitFor(
      async () => (await c.countDocuments({ k: 'old' })) === 0,
      deadline,
      'TTL removal',
    );
    assert.deepEqual(
      (
        await c
          .find({}, { projection: { _id: 0, k: 1 } })
          .sort({ k: 1 })
          .toArray()
      ).map((d) => String(d.k)),
      ['new', 'no-date'],
    );
  });
});
