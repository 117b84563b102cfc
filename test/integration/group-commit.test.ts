import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MongoClient, ObjectId, type Db } from 'mongodb';
import {
  MessagesRepository,
  type NewMessage,
  type Stored,
} from '../../src/modules/messages/messages.repository.js';
import { mongoUri, uniqueId } from '../support/app.js';

/** Group commit (MessagesRepository.insertManyOnce) against the real engine. */
describe('messages group commit', () => {
  let client: MongoClient;
  let db: Db;
  let messages: MessagesRepository;
  let wakes = 0;
  const conversationId = new ObjectId().toHexString();
  const alice = new ObjectId().toHexString();
  const bob = new ObjectId().toHexString();
  const text = (senderId: string, content: string, clientMessageId?: string): NewMessage => ({
    conversationId,
    senderId,
    content,
    type: 'text',
    ...(clientMessageId ? { clientMessageId } : {}),
  });
  const stored = (outcome: Stored | Error | undefined): Stored => {
    if (!outcome || outcome instanceof Error) assert.fail(`expected a message, got ${outcome}`);
    return outcome;
  };
  const count = (filter: object) => db.collection('messages').countDocuments(filter);

  before(async () => {
    client = await new MongoClient(await mongoUri()).connect();
    db = client.db(`t_group_commit_${uniqueId()}`);
    messages = new MessagesRepository(db, () => (wakes += 1));
    await messages.ensureIndexes();
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  test('one insert for the batch: one outcome per send, in order, duplicates within the batch found', async () => {
    const outcomes = await messages.insertManyOnce([
      text(alice, 'first', 'gc-1'),
      text(bob, 'no key'),
      text(alice, 'retry of first', 'gc-1'),
      text(bob, 'same key, other sender', 'gc-1'),
    ]);
    const [first, plain, retry, other] = outcomes.map(stored);
    assert.deepEqual(
      outcomes.map((o) => stored(o).created),
      [true, true, false, true],
    );
    assert.equal(retry?.message.id, first?.message.id, 'the retry gets the original');
    assert.equal(retry?.message.content, 'first');
    assert.equal(plain?.message.content, 'no key');
    assert.notEqual(other?.message.id, first?.message.id);
    assert.equal(await count({ clientMessageId: 'gc-1' }), 2);
    assert.equal(await count({ _id: new ObjectId(plain?.message.id) }), 1);
  });

  test('a retry in a later batch gets the message an earlier batch stored', async () => {
    const [original] = (await messages.insertManyOnce([text(alice, 'x', 'gc-2')])).map(stored);
    const [again, fresh] = (
      await messages.insertManyOnce([text(alice, 'x again', 'gc-2'), text(alice, 'y', 'gc-3')])
    ).map(stored);
    assert.equal(again?.created, false);
    assert.equal(again?.message.id, original?.message.id);
    assert.equal(fresh?.created, true);
    assert.equal(await count({ clientMessageId: 'gc-2' }), 1);
  });

  test('one document the write refuses fails alone; the others are stored once', async () => {
    const before = wakes;
    // Over the 16 MiB document limit: the whole insertMany is refused before anything is sent,
    // so each document is retried on its own.
    const huge = text(bob, 'x'.repeat(17 * 1024 * 1024));
    const outcomes = await messages.insertManyOnce([
      text(alice, 'kept 1', 'gc-4'),
      huge,
      text(bob, 'kept 2'),
    ]);
    assert.ok(outcomes[1] instanceof Error, 'the oversized document has its own error');
    const [kept1, , kept2] = outcomes;
    assert.equal(stored(kept1).created, true);
    assert.equal(stored(kept2).created, true);
    assert.equal(await count({ clientMessageId: 'gc-4' }), 1);
    assert.equal(await count({ content: 'kept 2' }), 1);
    assert.ok(wakes > before, 'the outbox relay is woken for the stored ones');
  });
});
