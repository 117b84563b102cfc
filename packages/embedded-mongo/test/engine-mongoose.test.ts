import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mongoose, { Schema, type Connection } from 'mongoose';
import { startEmbeddedMongo, type EmbeddedMongo } from '../src/index.js';

interface Message {
  conversationId: mongoose.Types.ObjectId;
  author: string;
  body: string;
  seq: number;
}

const messageSchema = new Schema<Message>({
  conversationId: { type: Schema.Types.ObjectId, required: true },
  author: { type: String, required: true },
  body: String,
  seq: { type: Number, required: true },
});
messageSchema.index({ conversationId: 1, _id: -1 });
messageSchema.index({ conversationId: 1, seq: 1 }, { unique: true });

void describe('engine: Mongoose 8', () => {
  let mongo: EmbeddedMongo;
  let conn: Connection;

  before(async () => {
    mongo = await startEmbeddedMongo();
    conn = await mongoose.createConnection(mongo.uri, { dbName: 'mongoose_test' }).asPromise();
  });
  after(async () => {
    await conn.close();
    await mongo.stop();
  });

  void it('creates indexes and runs the queries the app uses', async () => {
    const Messages = conn.model<Message>('Message', messageSchema);
    await Messages.init();
    await Messages.syncIndexes();
    const indexes = await Messages.listIndexes();
    assert.deepEqual(indexes.map((i: { name?: string }) => i.name).sort(), [
      '_id_',
      'conversationId_1__id_-1',
      'conversationId_1_seq_1',
    ]);

    const conversationId = new mongoose.Types.ObjectId();
    await Messages.create(
      Array.from({ length: 5 }, (_, seq) => ({
        conversationId,
        author: 'ann',
        body: `m${seq}`,
        seq,
      })),
    );
    const latest = await Messages.find({ conversationId }).sort({ _id: -1 }).limit(2).lean();
    assert.deepEqual(
      latest.map((m) => m.seq),
      [4, 3],
    );
    assert.equal(await Messages.countDocuments({ conversationId }), 5);

    const upd = await Messages.updateOne({ conversationId, seq: 0 }, { $set: { body: 'edited' } });
    assert.equal(upd.modifiedCount, 1);
    const after = await Messages.findOneAndUpdate(
      { conversationId, seq: 1 },
      { $set: { body: 'x' } },
      { new: true },
    ).lean();
    assert.equal(after?.body, 'x');

    const err = await Messages.create({ conversationId, author: 'bob', seq: 2 }).catch(
      (e: unknown) => e,
    );
    assert.ok(err instanceof Error);
    assert.equal((err as Error & { code?: number }).code, 11000);
    assert.match(err.message, /E11000 duplicate key error/);
  });

  void it('syncs a text index and searches with textScore', async () => {
    const postSchema = new Schema({ title: String, body: String });
    postSchema.index({ title: 'text', body: 'text' }, { weights: { title: 5 }, name: 'search' });
    const Posts = conn.model('Post', postSchema);
    await Posts.init();
    assert.deepEqual(await Posts.syncIndexes(), [], 'nothing to drop');
    assert.deepEqual(await Posts.diffIndexes(), { toDrop: [], toCreate: [] });
    await Posts.create([
      { title: 'Coffee brewing', body: 'beans and water' },
      { title: 'Tea', body: 'brewing tea is not coffee' },
      { title: 'Cake', body: 'flour' },
    ]);
    const found = await Posts.find(
      { $text: { $search: 'coffee' } },
      { score: { $meta: 'textScore' } },
    )
      .sort({ score: { $meta: 'textScore' } })
      .lean();
    assert.deepEqual(
      found.map((p) => p.title),
      ['Coffee brewing', 'Tea'],
    );

    const reweighted = new Schema({ title: String, body: String });
    reweighted.index({ title: 'text', body: 'text' }, { weights: { title: 1 }, name: 'search' });
    const Again = conn.model('PostAgain', reweighted, Posts.collection.name);
    assert.deepEqual(await Again.syncIndexes(), ['search'], 'a changed weight is re-created');
    const infos = (await Again.listIndexes()) as Array<{ name?: string; weights?: unknown }>;
    const info = infos.find((i) => i.name === 'search');
    assert.deepEqual(info?.weights, { body: 1, title: 1 });
  });
});
