import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { DomainEvent } from '../../src/contracts/events.js';
import { queryWords } from '../../src/lib/fold.js';
import { silentLogger } from '../../src/logger.js';
import { consumerQueue, type EventConsumer } from '../../src/modules/events/consumers.js';
import { replay } from '../../src/modules/events/event-log.js';
import {
  changeVersion,
  ElasticSearchBackend,
  SEARCH_ALIAS,
} from '../../src/modules/search/elastic-search.backend.js';
import { MongoSearchBackend } from '../../src/modules/search/mongo-search.backend.js';
import { searchIndexer } from '../../src/modules/search/search.module.js';
import { startEventConsumers } from '../../src/roles/event-consumers.js';
import { Shutdown } from '../../src/shutdown.js';
import { atEnd, isolatedEnv, startTestApp, type TestApp } from '../support/app.js';
import { fakeElastic, type FakeElastic } from '../support/elastic.js';
import { tapEvents, type EventTap } from '../support/events.js';
import { directConversation, registerUser, type Registered } from '../support/http.js';
import { callAs, messagePath, sendText } from '../support/messaging.js';
import { eventually } from '../support/sockets.js';

/**
 * The `search-indexer` consumer through real RabbitMQ events: the app publishes the message
 * events, the consumer runs on its own queue and writes to Elasticsearch — the official client
 * over the official mock (test/support/elastic.ts), never a live cluster.
 */
describe('search-indexer: Elasticsearch kept current from the message events', () => {
  let env: Record<string, string>;
  let app: TestApp;
  let es: FakeElastic;
  let backend: ElasticSearchBackend;
  let indexer: EventConsumer;
  let tap: EventTap;
  let alice: Registered;
  let direct: string;
  const started = new Date();

  const found = async (q: string) =>
    (
      await backend.searchMessages({ words: queryWords(q), conversationIds: [direct], limit: 50 })
    ).map((h) => h.id);
  const index = () => {
    const [name] = es.aliases.get(SEARCH_ALIAS) ?? [];
    const found = name === undefined ? undefined : es.indices.get(name);
    assert.ok(found, 'the index behind the alias');
    return found;
  };
  /** Every document with its version, to compare before and after. */
  const snapshot = () =>
    [...index().docs].map(([id, doc]) => ({ id, doc, version: index().versions.get(id) }));
  /** Document writes the consumer has sent so far (accepted or refused). */
  const writes = () => es.requests.filter((r) => r.method === 'PUT' && r.path.includes('/_doc/'));
  const queue = () => `${env.AMQP_QUEUE_PREFIX}${consumerQueue('search-indexer')}`;
  /** Puts events straight into the consumer's queue, in the order given. */
  const deliver = async (events: DomainEvent[]) => {
    const outcomes = await app.infra.rabbit.publishToExchange(
      '',
      events.map((event) => ({
        routingKey: queue(),
        content: Buffer.from(JSON.stringify(event)),
        messageId: event.id,
        type: event.type,
      })),
    );
    assert.deepEqual(
      outcomes,
      events.map(() => null),
    );
  };

  before(async () => {
    env = await isolatedEnv({ RATE_LIMIT_MESSAGES_PER_MINUTE: '100000' });
    app = await startTestApp(env);
    es = fakeElastic();
    backend = new ElasticSearchBackend(es.client, app.mongo.db);
    await backend.ensureReady();
    const consumer = searchIndexer(backend, app.services.repos.messages);
    assert.ok(consumer);
    indexer = consumer;
    const shutdown = new Shutdown(silentLogger);
    atEnd(() => shutdown.run());
    await startEventConsumers(
      app.config,
      app.infra.events.names,
      [indexer],
      shutdown,
      silentLogger,
    );
    tap = await tapEvents(env, 'message.*');
    alice = await registerUser(app.url);
    direct = await directConversation(app.url, alice, await registerUser(app.url));
  });

  test('only with Elasticsearch: the default backend needs no indexer', () => {
    assert.equal(
      searchIndexer(new MongoSearchBackend(app.mongo.db), app.services.repos.messages),
      null,
    );
    assert.equal(app.services.eventConsumers.get('search-indexer'), undefined);
    assert.deepEqual(indexer.keys, ['message.created', 'message.edited', 'message.deleted']);
  });

  test('a message is findable once created, as edited, and not once deleted', async () => {
    const sent = await sendText(app.url, alice, direct, 'Şimşek çaktı');
    await eventually(async () => (await found('simsek')).includes(sent.id), 5000, 'created');
    const edit = await callAs(app.url, alice, 'PATCH', messagePath(direct, sent.id), {
      content: 'Yıldırım düştü',
    });
    assert.equal(edit.status, 200);
    await eventually(async () => (await found('yildirim')).includes(sent.id), 5000, 'edited');
    assert.deepEqual(await found('simsek'), []);
    const removed = await callAs(app.url, alice, 'DELETE', messagePath(direct, sent.id));
    assert.equal(removed.status, 204);
    await eventually(async () => (await found('yildirim')).length === 0, 5000, 'deleted');
    assert.equal(index().docs.get(sent.id)?.content, '', 'a tombstone keeps its version');
  });

  test('replaying the log into the consumer twice changes nothing', async () => {
    await sendText(app.url, alice, direct, 'replay fence');
    await eventually(async () => (await found('fence')).length === 1, 5000, 'the fence indexed');
    const before = snapshot();
    const sentBefore = writes().length;
    const from = new Date(started.getTime() - 1000);
    const first = await replay(app.infra.events, app.infra.rabbit, queue(), from, indexer.keys);
    const second = await replay(app.infra.events, app.infra.rabbit, queue(), from, indexer.keys);
    assert.ok(first >= 4 && second === first, `replayed ${first} then ${second}`);
    // Every replayed event is a message event of this test's direct conversation: one write each.
    await eventually(
      () => writes().length === sentBefore + first + second,
      10_000,
      () => Promise.resolve(`${writes().length - sentBefore} of ${first + second} replayed writes`),
    );
    assert.deepEqual(snapshot(), before);
    assert.deepEqual(await found('simsek'), [], 'a deleted message stays deleted');
  });

  test('events delivered out of order never bring a document back to an older state', async () => {
    await tap.take();
    const sent = await sendText(app.url, alice, direct, 'kasırga geldi');
    for (const content of ['fırtına dindi', 'güneş açtı']) {
      const res = await callAs(app.url, alice, 'PATCH', messagePath(direct, sent.id), { content });
      assert.equal(res.status, 200);
    }
    await eventually(async () => (await found('gunes')).includes(sent.id), 5000, 'indexed');
    const events = (await tap.take()).filter((e) => e.key === sent.id);
    assert.deepEqual(
      events.map((e) => e.type),
      ['message.created', 'message.edited', 'message.edited'],
    );
    // An index that has not seen this message yet, then its events newest first.
    index().docs.delete(sent.id);
    index().versions.delete(sent.id);
    const sentBefore = writes().length;
    await deliver([...events].reverse());
    await eventually(() => writes().length === sentBefore + 3, 10_000, 'three writes');
    const newest = events[2];
    assert.equal(newest?.type, 'message.edited');
    assert.equal(index().docs.get(sent.id)?.content, 'güneş açtı');
    assert.equal(index().versions.get(sent.id), changeVersion('edited', newest.data.editedAt));
    assert.deepEqual(await found('kasirga'), []);
    assert.deepEqual(await found('firtina'), []);
    assert.deepEqual(await found('gunes acti'), [sent.id]);
  });
});
