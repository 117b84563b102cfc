import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  MongoServerError,
  ObjectId,
  type Collection,
  type Document,
  type Filter,
  type WithId,
} from 'mongodb';
import { openTarget, type Target } from './support.js';

function isDup(err: unknown): boolean {
  return err instanceof MongoServerError && err.code === 11000;
}

/**
 * Index-served results must equal a collection scan's. `$or` with one clause is not planned by
 * the engine (a full scan checked by the matcher), so it is the reference for the same filter.
 */
async function sameAsScan<T extends Document>(
  c: Collection<T>,
  filter: Filter<T>,
): Promise<Array<WithId<T>>> {
  const viaIndex = await c.find(filter).sort({ _id: 1 }).toArray();
  const viaScan = await c
    .find({ $or: [filter] } as Filter<T>)
    .sort({ _id: 1 })
    .toArray();
  assert.deepEqual(viaIndex, viaScan, `index and scan disagree for ${JSON.stringify(filter)}`);
  return viaIndex;
}

interface Auto {
  _id: ObjectId;
  n: number;
  isQueued: boolean;
  sendDate: Date;
  tags: string[];
  claimToken?: string;
  meta?: { claimedAt: Date };
  ref?: string | number;
}

interface Loose {
  _id: number;
  a: { b?: number; c: { d: number; e?: number } };
  list: Array<{ x: number }>;
  n: number;
  fresh?: number;
  new?: { deep: { f: string } };
}

/** Updates must move index keys exactly: old keys gone, new keys present, uniqueness kept. */
void describe('conformance: indexes stay consistent across updates', () => {
  let t: Target;
  before(async () => {
    t = await openTarget('conf_idx_upd');
  });
  after(async () => t.close());

  void it('a unique key moved by an update is free for others and enforced at its new value', async () => {
    const users = t.db.collection<{ _id: number; username: string; n?: number }>('users');
    await users.createIndex({ username: 1 }, { unique: true });
    await users.insertMany([
      { _id: 1, username: 'a' },
      { _id: 2, username: 'b' },
      { _id: 3, username: 'c' },
    ]);
    const moved = await users.updateOne({ _id: 1 }, { $set: { username: 'z' } });
    assert.equal(moved.modifiedCount, 1);
    // The old key is free again, the new one is taken.
    await users.insertOne({ _id: 4, username: 'a' });
    assert.ok(isDup(await users.insertOne({ _id: 5, username: 'z' }).catch((e: unknown) => e)));
    // An update onto a taken key fails and changes nothing (the other indexes neither).
    const err = await users
      .updateOne({ _id: 2 }, { $set: { username: 'z', n: 1 } })
      .catch((e: unknown) => e);
    assert.ok(isDup(err));
    assert.deepEqual(await users.findOne({ _id: 2 }), { _id: 2, username: 'b' });
    // Swapping through a free value works; updates that leave the key alone are not duplicates.
    await users.updateOne({ _id: 2 }, { $set: { username: 'tmp' } });
    await users.updateOne({ _id: 3 }, { $set: { username: 'b' } });
    await users.updateOne({ _id: 2 }, { $set: { username: 'c' } });
    const same = await users.updateMany({}, { $inc: { n: 1 } });
    assert.equal(same.modifiedCount, 4);
    for (const username of ['a', 'b', 'c', 'z', 'tmp']) await sameAsScan(users, { username });
    assert.deepEqual(
      (await users.find().sort({ username: 1 }).toArray()).map((u) => [u._id, u.username]),
      [
        [4, 'a'],
        [3, 'b'],
        [2, 'c'],
        [1, 'z'],
      ],
    );
  });

  void it('updateMany by _id $in moves keys in every index (compound, multikey, partial unique)', async () => {
    const c = t.db.collection<Auto>('autos');
    await c.createIndexes([
      { key: { isQueued: 1, sendDate: 1 }, name: 'due' },
      { key: { claimToken: 1 }, name: 'by_claim' },
      { key: { tags: 1, n: -1 }, name: 'tags' },
      {
        key: { ref: 1 },
        name: 'ref_unique',
        unique: true,
        partialFilterExpression: { ref: { $type: 'string' } },
      },
    ]);
    const ids = Array.from({ length: 300 }, () => new ObjectId());
    await c.insertMany(
      ids.map((_id, i) => ({
        _id,
        n: i,
        isQueued: false,
        sendDate: new Date(1_700_000_000_000 + i * 1_000),
        tags: [`t${i % 3}`, `u${i % 5}`],
      })),
    );
    const claimed = ids.filter((_, i) => i % 2 === 0);
    const r1 = await c.updateMany(
      { _id: { $in: claimed }, isQueued: false },
      { $set: { claimToken: 'tok', 'meta.claimedAt': new Date() }, $push: { tags: 'claimed' } },
    );
    assert.equal(r1.modifiedCount, 150);
    assert.equal((await sameAsScan(c, { claimToken: 'tok' })).length, 150);
    assert.equal((await sameAsScan(c, { tags: 'claimed' })).length, 150);
    const r2 = await c.updateMany(
      { _id: { $in: claimed }, claimToken: 'tok' },
      { $set: { isQueued: true }, $unset: { claimToken: '' }, $pull: { tags: 't0' } },
    );
    assert.equal(r2.modifiedCount, 150);
    assert.equal((await sameAsScan(c, { claimToken: 'tok' })).length, 0);
    assert.equal((await sameAsScan(c, { isQueued: true })).length, 150);
    assert.equal(
      (await sameAsScan(c, { isQueued: false, sendDate: { $gte: new Date(0) } })).length,
      150,
    );
    assert.equal((await sameAsScan(c, { tags: 't0' })).length, 50);
    assert.equal((await sameAsScan(c, { tags: { $in: ['t1', 'claimed'] } })).length, 200);

    // Into and out of a partial unique index.
    await c.updateOne({ _id: ids[0] }, { $set: { ref: 'r1' } });
    assert.ok(
      isDup(await c.updateOne({ _id: ids[1] }, { $set: { ref: 'r1' } }).catch((e: unknown) => e)),
    );
    await c.updateOne({ _id: ids[1] }, { $set: { ref: 7 } }); // not a string: outside the index
    await c.updateOne({ _id: ids[0] }, { $unset: { ref: '' } });
    await c.updateOne({ _id: ids[2] }, { $set: { ref: 'r1' } });
    assert.equal((await sameAsScan(c, { ref: 'r1' })).length, 1);
    assert.ok(
      isDup(
        await c
          .insertOne({
            _id: new ObjectId(),
            n: -1,
            isQueued: false,
            sendDate: new Date(),
            tags: [],
            ref: 'r1',
          })
          .catch((e: unknown) => e),
      ),
    );
  });

  void it('a multikey compound index follows its array field (conversation shape)', async () => {
    const convs = t.db.collection<Document>('conversations');
    await convs.createIndexes([
      { key: { participants: 1, lastMessageAt: -1, _id: -1 }, name: 'by_participant_activity' },
      { key: { directKey: 1 }, name: 'direct_pair_unique', unique: true, sparse: true },
    ]);
    const [a, b, c] = [new ObjectId(), new ObjectId(), new ObjectId()];
    const _id = new ObjectId();
    await convs.insertOne({
      _id,
      participants: [a, b],
      directKey: 'a:b',
      lastMessageAt: new Date(1_000),
    });
    const at = new Date(2_000);
    const r = await convs.updateOne(
      { _id, lastMessageAt: { $lte: at } },
      {
        $set: {
          lastMessage: { id: new ObjectId(), senderId: a, preview: 'hi', createdAt: at },
          lastMessageAt: at,
          [`reads.${a.toHexString()}`]: { messageId: new ObjectId(), readAt: at },
        },
      },
    );
    assert.equal(r.modifiedCount, 1);
    const page = await convs
      .find({ participants: a })
      .sort({ lastMessageAt: -1, _id: -1 })
      .toArray();
    assert.equal(page.length, 1);
    assert.deepEqual(page[0]?.lastMessageAt, at);
    assert.equal(
      (await sameAsScan(convs, { participants: a, lastMessageAt: { $lt: new Date(1_500) } }))
        .length,
      0,
    );
    await convs.updateOne({ _id }, { $set: { participants: [a, c] } });
    assert.equal((await sameAsScan(convs, { participants: b })).length, 0);
    assert.equal((await sameAsScan(convs, { participants: c })).length, 1);
    // The sparse unique key was never touched by these updates and is still enforced.
    assert.ok(
      isDup(
        await convs.insertOne({ participants: [b, c], directKey: 'a:b' }).catch((e: unknown) => e),
      ),
    );
  });

  void it('$set/$unset/$inc report modifications exactly', async () => {
    const c = t.db.collection<Loose>('docs');
    await c.insertOne({ _id: 1, a: { b: 1, c: { d: 2 } }, list: [{ x: 1 }], n: 5 });
    // Same value: matched but not modified. Missing field unset: not modified.
    let r = await c.updateOne({ _id: 1 }, { $set: { 'a.b': 1 }, $unset: { missing: '' } });
    assert.equal(r.matchedCount, 1);
    assert.equal(r.modifiedCount, 0);
    r = await c.updateOne(
      { _id: 1 },
      { $set: { 'a.c.e': 3, 'new.deep.f': 'v' }, $inc: { n: 2, fresh: 1 }, $unset: { 'a.b': '' } },
    );
    assert.equal(r.modifiedCount, 1);
    // Paths through arrays still follow MongoDB's rules.
    await c.updateOne({ _id: 1 }, { $set: { 'list.0.x': 9 } });
    assert.deepEqual(await c.findOne({ _id: 1 }), {
      _id: 1,
      a: { c: { d: 2, e: 3 } },
      list: [{ x: 9 }],
      n: 7,
      new: { deep: { f: 'v' } },
      fresh: 1,
    });
  });
});

/**
 * Updates that name only some paths (the common shape) must still move every index that reads
 * one of them: through a parent, a sub-path, or a partial filter's field; and leave the others
 * consistent.
 */
void describe('conformance: updates of some paths keep every index right', () => {
  let t: Target;
  before(async () => {
    t = await openTarget('conf_idx_paths');
  });
  after(async () => t.close());

  const idsOf = (docs: Array<{ _id: number }>) => docs.map((d) => d._id);

  void it('moves keys when a sub-path or a parent of an indexed field changes', async () => {
    const c = t.db.collection<{ _id: number } & Document>('paths');
    await c.createIndexes([
      { key: { a: 1 }, name: 'by_a' },
      { key: { 'p.q': 1, n: 1 }, name: 'by_pq' },
    ]);
    await c.insertMany([
      { _id: 1, a: { b: 1, c: 1 }, p: { q: 1 }, n: 1 },
      { _id: 2, a: { b: 2, c: 1 }, p: { q: 2 }, n: 2 },
    ]);
    // A sub-path of the indexed subdocument `a`.
    await c.updateOne({ _id: 1 }, { $set: { 'a.b': 5 } });
    assert.deepEqual(idsOf(await sameAsScan(c, { a: { b: 5, c: 1 } })), [1]);
    assert.deepEqual(idsOf(await sameAsScan(c, { a: { b: 1, c: 1 } })), []);
    await c.updateOne({ _id: 1 }, { $unset: { 'a.c': '' } });
    assert.deepEqual(idsOf(await sameAsScan(c, { a: { b: 5 } })), [1]);
    const found = await c.findOneAndUpdate(
      { _id: 2 },
      { $inc: { 'a.b': 1 } },
      { returnDocument: 'after' },
    );
    assert.deepEqual(found?.a, { b: 3, c: 1 });
    assert.deepEqual(idsOf(await sameAsScan(c, { a: { b: 3, c: 1 } })), [2]);
    assert.deepEqual(idsOf(await sameAsScan(c, { a: { b: 2, c: 1 } })), []);
    // A parent of the indexed dotted field `p.q`.
    await c.updateMany({}, { $set: { p: { q: 7 } } });
    assert.deepEqual(idsOf(await sameAsScan(c, { 'p.q': 7 })), [1, 2]);
    assert.deepEqual(idsOf(await sameAsScan(c, { 'p.q': { $in: [1, 2] } })), []);
    await c.updateOne({ _id: 2 }, { $unset: { p: '' } });
    assert.deepEqual(idsOf(await sameAsScan(c, { 'p.q': 7 })), [1]);
    assert.deepEqual(idsOf(await sameAsScan(c, { 'p.q': null })), [2]);
    await c.updateOne({ _id: 1 }, { $max: { 'p.q': 9 } });
    assert.deepEqual(idsOf(await sameAsScan(c, { 'p.q': 9, n: 1 })), [1]);
    // Fields no index reads: lookups return the updated documents.
    const r = await c.updateMany({}, { $set: { other: 'x', 'a2.b': 1 }, $inc: { m: 1 } });
    assert.equal(r.modifiedCount, 2);
    assert.deepEqual(await c.find({ 'p.q': 9 }).toArray(), [
      { _id: 1, a: { b: 5 }, p: { q: 9 }, n: 1, other: 'x', a2: { b: 1 }, m: 1 },
    ]);
    assert.deepEqual(await c.find({ a: { b: 3, c: 1 } }).toArray(), [
      { _id: 2, a: { b: 3, c: 1 }, n: 2, other: 'x', a2: { b: 1 }, m: 1 },
    ]);
    assert.deepEqual(
      idsOf(
        await c
          .find({ 'p.q': { $gte: 0 } })
          .sort({ 'p.q': -1 })
          .toArray(),
      ),
      [1],
    );
  });

  void it('moves a document into and out of a partial index when a filter field changes', async () => {
    const c = t.db.collection<{ _id: number } & Document>('partial');
    await c.createIndexes([
      {
        key: { email: 1 },
        name: 'active_email_unique',
        unique: true,
        partialFilterExpression: { 'state.active': true },
      },
      {
        key: { code: 1 },
        name: 'vip_code_unique',
        unique: true,
        partialFilterExpression: { $and: [{ kind: 'vip' }, { code: { $exists: true } }] },
      },
    ]);
    await c.insertMany([
      { _id: 1, email: 'x', state: { active: false }, kind: 'vip', code: 'c' },
      { _id: 2, email: 'x', state: { active: true }, kind: 'std', code: 'c' },
    ]);
    // Only the filter field changes, by its own path and by its parent.
    const dup1 = await c
      .updateOne({ _id: 1 }, { $set: { 'state.active': true } })
      .catch((e: unknown) => e);
    assert.ok(isDup(dup1), 'joining the partial index collides');
    const dup2 = await c
      .updateOne({ _id: 1 }, { $set: { state: { active: true } } })
      .catch((e: unknown) => e);
    assert.ok(isDup(dup2), 'joining the partial index through a parent collides');
    const dup3 = await c.updateOne({ _id: 2 }, { $set: { kind: 'vip' } }).catch((e: unknown) => e);
    assert.ok(isDup(dup3), 'a field of an $and filter decides membership too');
    assert.deepEqual(await c.findOne({ _id: 1 }), {
      _id: 1,
      email: 'x',
      state: { active: false },
      kind: 'vip',
      code: 'c',
    });
    // Leaving the index frees the key; joining takes it.
    await c.updateOne({ _id: 2 }, { $unset: { state: '' } });
    await c.updateOne({ _id: 1 }, { $set: { 'state.active': true } });
    const dup4 = await c
      .insertOne({ _id: 3, email: 'x', state: { active: true } })
      .catch((e: unknown) => e);
    assert.ok(isDup(dup4), 'the key moved in with the document');
    await c.updateOne({ _id: 1 }, { $set: { kind: 'std' } });
    await c.updateOne({ _id: 2 }, { $set: { kind: 'vip' } });
    const dup5 = await c.insertOne({ _id: 4, kind: 'vip', code: 'c' }).catch((e: unknown) => e);
    assert.ok(isDup(dup5), 'the vip code moved to document 2');
    await c.updateOne({ _id: 2 }, { $unset: { code: '' } });
    await c.insertOne({ _id: 4, kind: 'vip', code: 'c' });
    assert.deepEqual(idsOf(await sameAsScan(c, { email: 'x' })), [1, 2]);
  });

  void it('a sparse unique index follows $set and $unset of its field', async () => {
    const c = t.db.collection<{ _id: number } & Document>('sparse');
    await c.createIndex({ nick: 1 }, { unique: true, sparse: true, name: 'nick_unique' });
    await c.insertMany([
      { _id: 1, nick: 'n', n: 1 },
      { _id: 2, n: 2 },
    ]);
    await c.updateMany({}, { $inc: { n: 1 } });
    assert.ok(
      isDup(await c.updateOne({ _id: 2 }, { $set: { nick: 'n' } }).catch((e: unknown) => e)),
    );
    await c.updateOne({ _id: 1 }, { $unset: { nick: '' } });
    await c.updateOne({ _id: 2 }, { $set: { nick: 'n' } });
    assert.deepEqual(await c.find({ nick: 'n' }).toArray(), [{ _id: 2, n: 3, nick: 'n' }]);
    assert.ok(
      isDup(await c.updateOne({ _id: 1 }, { $set: { nick: 'n' } }).catch((e: unknown) => e)),
    );
  });
});
