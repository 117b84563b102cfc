import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, test } from 'node:test';
import type { DomainEvent } from '../../src/contracts/events.js';
import { MongoClient, ObjectId, type Db } from 'mongodb';
import {
  domainEvent,
  outboxEntry,
  outboxOnInsert,
  outboxPush,
  type OutboxFields,
} from '../../src/modules/events/outbox.js';
import {
  OutboxRepository,
  RelayLeaseRepository,
} from '../../src/modules/events/outbox.repository.js';
import {
  atEnd,
  isolatedEnv,
  mongoUri,
  startTestApp,
  uniqueId,
  type TestApp,
} from '../support/app.js';
import { tapEvents, typesOf, type EventTap } from '../support/events.js';
import { directConversation, http, registerUser, type Registered } from '../support/http.js';
import { callAs, createGroup, messagePath, reactionPath, sendText } from '../support/messaging.js';

describe('domain events: each committed change publishes exactly its events (SPEC §10)', () => {
  let app: TestApp;
  let tap: EventTap;
  let alice: Registered;
  let bob: Registered;
  let carol: Registered;
  let dave: Registered;

  const call = (who: Registered, method: string, path: string, body?: unknown) =>
    callAs(app.url, who, method, path, body);

  before(async () => {
    const env = await isolatedEnv();
    app = await startTestApp(env);
    tap = await tapEvents(env);
  });

  test('registration: user.registered with the envelope of SPEC §10', async () => {
    alice = await registerUser(app.url);
    bob = await registerUser(app.url);
    carol = await registerUser(app.url);
    dave = await registerUser(app.url);
    const events = await tap.take();
    assert.deepEqual(typesOf(events), Array(4).fill('user.registered'));
    const first = events.find((e) => e.key === alice.user.id);
    assert.ok(first, 'keyed by the new user');
    assert.equal(first.v, 1);
    assert.equal(first.actorId, alice.user.id);
    assert.match(first.id, /^[0-9a-f-]{36}$/);
    assert.ok(Date.parse(first.occurredAt) <= Date.now());
    assert.deepEqual(first.data, {
      userId: alice.user.id,
      username: alice.user.username,
      displayName: alice.user.username,
    });
    assert.equal(new Set(events.map((e) => e.id)).size, 4, 'every event has its own id');
    // The relay counts what it published (SPEC §13).
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    assert.match(
      metrics,
      /^parley_events_published_total\{[^}]*type="user\.registered"[^}]*\} 4$/m,
    );
  });

  test('a direct conversation, a message, and what happens to it', async () => {
    const direct = await directConversation(app.url, alice, bob);
    assert.deepEqual(typesOf(await tap.take()), ['conversation.created']);
    await directConversation(app.url, bob, alice);
    assert.deepEqual(typesOf(await tap.take()), [], 'an existing conversation is no change');

    const body = { content: 'hello', clientMessageId: 'c-1' };
    const sent = await call(alice, 'POST', `/api/conversations/${direct}/messages`, body);
    assert.equal(sent.status, 201);
    const messageId = (sent.body.message as { id: string }).id;
    const [created] = await tap.take();
    assert.equal(created?.type, 'message.created');
    assert.equal(created.key, messageId);
    assert.equal(created.actorId, alice.user.id);
    assert.equal(created.data.content, 'hello');
    assert.equal(created.data.conversationId, direct);
    await call(alice, 'POST', `/api/conversations/${direct}/messages`, body);
    assert.deepEqual(typesOf(await tap.take()), [], 'a retried send is no change');

    const path = messagePath(direct, messageId);
    await call(alice, 'PATCH', path, { content: 'hello!' });
    assert.deepEqual(typesOf(await tap.take()), ['message.edited']);
    await call(alice, 'PATCH', path, { content: 'hello!' });
    assert.deepEqual(typesOf(await tap.take()), [], 'the same content again is no change');

    const reaction = reactionPath(direct, messageId, '👍');
    assert.equal((await call(bob, 'PUT', reaction)).status, 204);
    const [added] = await tap.take();
    assert.equal(added?.type, 'reaction.added');
    assert.deepEqual(added.data, {
      conversationId: direct,
      messageId,
      emoji: '👍',
      userId: bob.user.id,
    });
    await call(bob, 'PUT', reaction);
    assert.deepEqual(typesOf(await tap.take()), [], 'idempotent PUT');
    await call(bob, 'DELETE', reaction);
    assert.deepEqual(typesOf(await tap.take()), ['reaction.removed']);
    await call(bob, 'DELETE', reaction);
    assert.deepEqual(typesOf(await tap.take()), [], 'idempotent DELETE');

    const read = { messageId };
    assert.equal((await call(bob, 'POST', `/api/conversations/${direct}/read`, read)).status, 204);
    const [readEvent] = await tap.take();
    assert.equal(readEvent?.type, 'message.read');
    assert.equal(readEvent.actorId, bob.user.id);
    await call(bob, 'POST', `/api/conversations/${direct}/read`, read);
    assert.deepEqual(typesOf(await tap.take()), [], 'the pointer did not move');

    assert.equal((await call(alice, 'DELETE', path)).status, 204);
    const [deleted] = await tap.take();
    assert.equal(deleted?.type, 'message.deleted');
    assert.equal(JSON.stringify(deleted.data).includes('hello'), false, 'no content left');
    await call(alice, 'DELETE', path);
    assert.deepEqual(typesOf(await tap.take()), [], 'already deleted');
  });

  test('group changes: one event each, plus the system message it posts', async () => {
    const group = await createGroup(app.url, alice, [bob, carol], 'team');
    const [created] = await tap.take();
    assert.equal(created?.type, 'conversation.created');
    assert.deepEqual(created.data, {
      conversationId: group,
      type: 'group',
      participantIds: [alice.user.id, bob.user.id, carol.user.id],
      name: 'team',
      createdBy: alice.user.id,
    });

    const members = `/api/conversations/${group}/members`;
    await call(alice, 'POST', members, { userIds: [dave.user.id] });
    const added = await tap.take();
    assert.deepEqual(typesOf(added), ['conversation.member_added', 'message.created']);
    assert.deepEqual(find(added, 'conversation.member_added').data.userIds, [dave.user.id]);

    await call(alice, 'PATCH', `/api/conversations/${group}`, { name: 'renamed' });
    assert.deepEqual(typesOf(await tap.take()), ['conversation.updated', 'message.created']);
    await call(alice, 'PATCH', `/api/conversations/${group}`, { name: 'renamed' });
    assert.deepEqual(typesOf(await tap.take()), [], 'the same name is no change');

    await call(alice, 'PATCH', `${members}/${bob.user.id}`, { role: 'admin' });
    const role = await tap.take();
    assert.deepEqual(typesOf(role), ['conversation.updated', 'message.created']);
    assert.deepEqual(find(role, 'conversation.updated').data, {
      conversationId: group,
      change: 'role_changed',
      userId: bob.user.id,
      role: 'admin',
    });

    await call(bob, 'DELETE', `${members}/${carol.user.id}`);
    const removed = await tap.take();
    assert.deepEqual(typesOf(removed), ['conversation.member_removed', 'message.created']);
    assert.equal(find(removed, 'conversation.member_removed').data.left, false);

    // The owner leaves: ownership goes to the admin, said by the same event.
    await call(alice, 'DELETE', `${members}/${alice.user.id}`);
    const left = await tap.take();
    assert.deepEqual(typesOf(left), [
      'conversation.member_removed',
      'message.created',
      'message.created',
    ]);
    const gone = find(left, 'conversation.member_removed').data;
    assert.equal(gone.left, true);
    assert.equal(gone.newOwnerId, bob.user.id);
  });

  test('refused input changes nothing and publishes nothing', async () => {
    const group = await createGroup(app.url, alice, [bob, carol]);
    await tap.take();
    const res = await http(app.url, 'POST', `/api/conversations/${group}/messages`, {
      token: alice.accessToken,
      body: { content: { $gt: '' } },
    });
    assert.equal(res.status, 400);
    await sendText(app.url, alice, group, 'after the refusal');
    assert.deepEqual(typesOf(await tap.take()), ['message.created']);
  });
});

function find<T extends DomainEvent['type']>(
  events: readonly DomainEvent[],
  type: T,
): Extract<DomainEvent, { type: T }> {
  const event = events.find((e) => e.type === type);
  assert.ok(event, `no ${type} among ${typesOf(events).join(', ')}`);
  return event as Extract<DomainEvent, { type: T }>;
}

/** A database of its own, dropped when the test ends. */
async function scratchDb(): Promise<Db> {
  const client = new MongoClient(await mongoUri());
  await client.connect();
  const db = client.db(`t_${uniqueId()}`);
  atEnd(async () => {
    await db.dropDatabase();
    await client.close();
  });
  return db;
}

describe("the relay's read and clear (outbox.repository.ts)", () => {
  test('removes what was published and keeps what was written after the read', async () => {
    const db = await scratchDb();
    const outbox = new OutboxRepository(db);
    const tasks = db.collection<{ _id: ObjectId } & OutboxFields>('tasks');
    const event = (key: string) => domainEvent('user.registered', key, null, {} as never);
    const [a, b, late] = [event('a'), event('b'), event('late')];
    const now = new Date();
    const [idA, idB] = [new ObjectId(), new ObjectId()];
    await tasks.insertMany([
      { _id: idA, ...outboxOnInsert([a], now) },
      { _id: idB, ...outboxOnInsert([b], now) },
    ]);
    const read = await outbox.pending(10);
    assert.equal(read.length, 2);
    // A change to b after the read stores one more event (outboxSeq 2).
    await tasks.updateOne({ _id: idB }, outboxPush([late]));
    await outbox.clear(read);
    const docA = await tasks.findOne({ _id: idA });
    const docB = await tasks.findOne({ _id: idB });
    assert.deepEqual(
      [docA?.outbox, docA?.outboxAt, docA?.outboxSeq],
      [undefined, undefined, undefined],
    );
    assert.deepEqual(
      (docB?.outbox ?? []).map((e) => e.id),
      [late.id],
    );
    assert.ok(docB?.outboxAt, 'b still waits for the relay');
    assert.deepEqual(
      (await outbox.pending(10)).map((d) => d.events.map((e) => e.id)),
      [[late.id]],
    );
  });

  test('publishes events stored before entries were encoded, as the same JSON', async () => {
    const db = await scratchDb();
    const outbox = new OutboxRepository(db);
    const event = domainEvent('user.registered', 'old', null, {
      userId: new ObjectId().toHexString(),
      username: 'old',
      displayName: 'Old',
    });
    // The outbox of a document written by an earlier version: the event object itself.
    await db
      .collection('users')
      .insertOne({ _id: new ObjectId(), outbox: [event], outboxAt: new Date(), outboxSeq: 1 });
    const [doc] = await outbox.pending(10);
    assert.deepEqual(doc?.events, [outboxEntry(event)]);
    assert.deepEqual(JSON.parse(doc?.events[0]?.json ?? ''), event);
    await outbox.clear(doc ? [doc] : []);
    assert.deepEqual(await outbox.pending(10), []);
  });
});

describe("the relay's lease (outbox.repository.ts)", () => {
  test('a successor inherits the in-flight ids its predecessor recorded', async () => {
    const leases = new RelayLeaseRepository(await scratchDb());
    const ids = Array.from({ length: 2000 }, () => randomUUID());
    assert.deepEqual(await leases.acquire('first', 60_000), { inflight: null });
    const began = await leases.begin('first', 60_000, ids);
    assert.ok(began);
    assert.equal(await leases.acquire('second', 60_000), null, 'held while unexpired');
    assert.equal(await leases.begin('second', 60_000, ['x']), null, 'only the owner records');
    // The first relay dies; its lease expires (a negative ttl is already past).
    await leases.begin('first', -1, ids, began);
    assert.deepEqual(await leases.acquire('second', 60_000), { inflight: { since: began, ids } });
    await leases.settled('second');
    assert.deepEqual(await leases.acquire('second', 60_000), { inflight: null });
  });

  test('reads in-flight ids recorded by an earlier version (an array)', async () => {
    const db = await scratchDb();
    const since = new Date(Date.now() - 5_000);
    await db.collection<{ _id: string } & Record<string, unknown>>('event_relay').insertOne({
      _id: 'relay',
      owner: 'old',
      until: new Date(0),
      inflight: { since, ids: ['a', 'b'] },
    });
    const state = await new RelayLeaseRepository(db).acquire('new', 60_000);
    assert.deepEqual(state, { inflight: { since, ids: ['a', 'b'] } });
  });
});
