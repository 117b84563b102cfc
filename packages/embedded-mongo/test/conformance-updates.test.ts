import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ObjectId, type Collection, type Document } from 'mongodb';
import { openTarget, type Target } from './support.js';

void describe('conformance: update operators', () => {
  let t: Target;
  let c: Collection<Document>;
  before(async () => {
    t = await openTarget('conf_upd');
    c = t.db.collection('docs');
  });
  after(async () => t.close());

  async function updated(
    doc: Document,
    update: Document,
    arrayFilters?: Document[],
  ): Promise<Document | null> {
    const { insertedId } = await c.insertOne(doc);
    await c.updateOne({ _id: insertedId }, update, arrayFilters ? { arrayFilters } : {});
    return c.findOne({ _id: insertedId }, { projection: { _id: 0 } });
  }

  void it('$set, $unset, $inc, $min, $max', async () => {
    const doc = await updated(
      { a: 1, b: 2, n: 5, lo: 5, hi: 5 },
      {
        $set: { a: 9, 'x.y': 1 },
        $unset: { b: '' },
        $inc: { n: 2 },
        $min: { lo: 3 },
        $max: { hi: 4 },
      },
    );
    assert.deepEqual(doc, { a: 9, n: 7, lo: 3, hi: 5, x: { y: 1 } });
  });

  void it('$push (with $each/$slice), $pull, $addToSet', async () => {
    const doc = await updated(
      { list: [1, 2, 3], tags: ['a'], ids: [1, 2, 3, 2] },
      {
        $push: { list: { $each: [4, 5], $slice: -3 } },
        $addToSet: { tags: { $each: ['a', 'b'] } },
        $pull: { ids: 2 },
      },
    );
    assert.deepEqual(doc, { list: [3, 4, 5], tags: ['a', 'b'], ids: [1, 3] });
  });

  void it('$push, $min, $max and $inc together on nested and missing fields', async () => {
    const at = new Date('2026-01-02T00:00:00Z');
    const earlier = new Date('2026-01-01T00:00:00Z');
    const event = { id: 'e1', data: { n: 1 } };
    const fresh = await updated(
      { s: { name: 'x' } },
      {
        $push: { outbox: { $each: [event] }, 's.tags': 'a' },
        $min: { at },
        $max: { 's.hi': 3 },
        $inc: { seq: 1 },
        $set: { done: true },
        $unset: { gone: '' },
      },
    );
    assert.deepEqual(fresh, {
      s: { name: 'x', tags: ['a'], hi: 3 },
      outbox: [event],
      at,
      seq: 1,
      done: true,
    });
    const more = await updated(
      { outbox: [event], at: earlier, hi: 'b', lo: 'b', list: [[1]] },
      {
        $push: { outbox: { $each: [{ id: 'e2' }, { id: 'e3' }] }, list: [2, 3] },
        $min: { at, lo: 'a' },
        $max: { hi: 'a' },
      },
    );
    assert.deepEqual(more, {
      outbox: [event, { id: 'e2' }, { id: 'e3' }],
      at: earlier,
      hi: 'b',
      lo: 'a',
      list: [[1], [2, 3]],
    });
  });

  void it('$min/$max that change nothing leave the document unmodified', async () => {
    const { insertedId } = await c.insertOne({ lo: 1, hi: 9 });
    const result = await c.updateOne({ _id: insertedId }, { $min: { lo: 2 }, $max: { hi: 8 } });
    assert.equal(result.modifiedCount, 0);
  });

  void it('$pull with a condition and ObjectId values', async () => {
    const u1 = new ObjectId();
    const u2 = new ObjectId();
    const doc = await updated(
      {
        members: [
          { u: u1, r: 'a' },
          { u: u2, r: 'b' },
        ],
        ids: [u1, u2],
      },
      { $pull: { members: { u: u1 }, ids: new ObjectId(u2.toHexString()) } },
    );
    assert.deepEqual(doc, { members: [{ u: u2, r: 'b' }], ids: [u1] });
  });

  void it('positional $ and $[<id>] with arrayFilters', async () => {
    const { insertedId } = await c.insertOne({
      items: [
        { k: 1, v: 0 },
        { k: 2, v: 0 },
        { k: 3, v: 0 },
      ],
    });
    await c.updateOne({ _id: insertedId, 'items.k': 2 }, { $set: { 'items.$.v': 'pos' } });
    await c.updateOne(
      { _id: insertedId },
      { $set: { 'items.$[e].v': 'af' } },
      { arrayFilters: [{ 'e.k': { $gte: 3 } }] },
    );
    const doc = await c.findOne({ _id: insertedId });
    assert.deepEqual(doc?.items, [
      { k: 1, v: 0 },
      { k: 2, v: 'pos' },
      { k: 3, v: 'af' },
    ]);
  });

  void it('upsert with $setOnInsert only sets on insert', async () => {
    const r1 = await c.updateOne(
      { slug: 's1' },
      { $set: { seen: 1 }, $setOnInsert: { created: 'first' } },
      { upsert: true },
    );
    assert.equal(r1.upsertedCount, 1);
    const r2 = await c.updateOne(
      { slug: 's1' },
      { $set: { seen: 2 }, $setOnInsert: { created: 'second' } },
      { upsert: true },
    );
    assert.equal(r2.matchedCount, 1);
    assert.equal(r2.upsertedCount, 0);
    assert.deepEqual(await c.findOne({ slug: 's1' }, { projection: { _id: 0 } }), {
      slug: 's1',
      seen: 2,
      created: 'first',
    });
  });

  void it('updateMany counts matched and modified', async () => {
    await c.insertMany([
      { grp: 'm', v: 1 },
      { grp: 'm', v: 2 },
      { grp: 'm', v: 2 },
    ]);
    const r = await c.updateMany({ grp: 'm' }, { $set: { v: 2 } });
    assert.equal(r.matchedCount, 3);
    assert.equal(r.modifiedCount, 1);
  });

  void it('replaceOne keeps _id and replaces the rest', async () => {
    const { insertedId } = await c.insertOne({ r: 1, old: true });
    await c.replaceOne({ _id: insertedId }, { r: 2 });
    assert.deepEqual(await c.findOne({ _id: insertedId }), { _id: insertedId, r: 2 });
  });

  void it('findOneAndUpdate returns the document before or after', async () => {
    await c.insertOne({ job: 'j1', state: 'queued', attempts: 0 });
    const before = await c.findOneAndUpdate(
      { job: 'j1', state: 'queued' },
      { $set: { state: 'claimed' }, $inc: { attempts: 1 } },
      { returnDocument: 'before' },
    );
    assert.equal(before?.state, 'queued');
    const again = await c.findOneAndUpdate(
      { job: 'j1', state: 'queued' },
      { $set: { state: 'claimed' } },
    );
    assert.equal(again, null, 'a claimed job cannot be claimed twice');
    const afterDoc = await c.findOneAndUpdate(
      { job: 'j1' },
      { $inc: { attempts: 1 } },
      { returnDocument: 'after', projection: { _id: 0, attempts: 1 } },
    );
    assert.deepEqual(afterDoc, { attempts: 2 });
  });

  void it('findOneAndUpdate honours sort and upsert; findOneAndDelete removes', async () => {
    await c.insertMany([
      { q: 'z', p: 2 },
      { q: 'z', p: 1 },
    ]);
    const first = await c.findOneAndUpdate(
      { q: 'z' },
      { $set: { took: true } },
      { sort: { p: 1 }, returnDocument: 'after' },
    );
    assert.equal(first?.p, 1);
    const up = await c.findOneAndUpdate(
      { q: 'new' },
      { $set: { made: 1 } },
      { upsert: true, returnDocument: 'after' },
    );
    assert.equal(up?.made, 1);
    const del = await c.findOneAndDelete({ q: 'z', p: 2 });
    assert.equal(del?.p, 2);
    assert.equal(await c.countDocuments({ q: 'z' }), 1);
  });

  void it('deleteOne removes one, deleteMany removes all matches', async () => {
    await c.insertMany([{ d: 1 }, { d: 1 }, { d: 1 }]);
    assert.equal((await c.deleteOne({ d: 1 })).deletedCount, 1);
    assert.equal((await c.deleteMany({ d: 1 })).deletedCount, 2);
  });

  void it('rejects changing _id and unknown operators', async () => {
    const { insertedId } = await c.insertOne({ im: 1 });
    await assert.rejects(c.updateOne({ _id: insertedId }, { $set: { _id: new ObjectId() } }), {
      code: 66,
    });
    await assert.rejects(
      c.updateOne({ _id: insertedId }, { $frobnicate: { a: 1 } }),
      (e: { code?: number }) => typeof e.code === 'number',
    );
  });
});
