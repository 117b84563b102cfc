import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MongoClient, ObjectId, type Db } from 'mongodb';
import { queryWords } from '../../src/lib/fold.js';
import { MessageChangesRepository } from '../../src/modules/messages/message-changes.repository.js';
import {
  MessagesRepository,
  type Message,
} from '../../src/modules/messages/messages.repository.js';
import {
  ElasticSearchBackend,
  versionedDocumentOf,
} from '../../src/modules/search/elastic-search.backend.js';
import { MongoSearchBackend } from '../../src/modules/search/mongo-search.backend.js';
import type { SearchBackend, SearchPosition } from '../../src/modules/search/search.backend.js';
import { createSearchBackend } from '../../src/modules/search/search.module.js';
import { isolatedEnv, mongoUri, startTestApp, uniqueId } from '../support/app.js';
import { fakeElastic, type FakeElastic } from '../support/elastic.js';

/**
 * One behaviour suite for both backends (SPEC §11), at the backend's interface: messages are
 * stored through the real repositories, then `sync` tells the backend (a no-op for MongoDB,
 * whose searchText is written with the message; the search-indexer's call for Elasticsearch).
 * Elasticsearch runs on test/support/elastic.ts: the official client over the official mock,
 * never a live cluster.
 */
interface Harness {
  backend: SearchBackend;
  sync(message: Message): Promise<void>;
}

const backends: Record<string, (db: Db) => Promise<Harness>> = {
  mongodb: async (db) => {
    const backend = new MongoSearchBackend(db);
    await backend.ensureReady();
    return { backend, sync: () => Promise.resolve() };
  },
  elasticsearch: async (db) => {
    const backend = new ElasticSearchBackend(fakeElastic().client, db);
    await backend.ensureReady();
    return {
      backend,
      sync: async (m) => {
        const versioned = versionedDocumentOf(m);
        if (versioned) await backend.write(versioned);
      },
    };
  },
};

for (const [name, make] of Object.entries(backends)) {
  describe(`search backend: ${name}`, () => {
    let client: MongoClient;
    let db: Db;
    let harness: Harness;
    let messages: MessagesRepository;
    let changes: MessageChangesRepository;
    const sender = new ObjectId().toHexString();
    const [mine, other, third] = [1, 2, 3].map(() => new ObjectId().toHexString()) as [
      string,
      string,
      string,
    ];

    const send = async (conversationId: string, content: string) => {
      const { message } = await messages.insertOnce({
        conversationId,
        senderId: sender,
        content,
        type: 'text',
      });
      await harness.sync(message);
      return message.id;
    };
    const find = async (q: string, conversationIds = [mine, other], after?: SearchPosition) =>
      harness.backend.searchMessages({
        words: queryWords(q),
        conversationIds,
        limit: 100,
        ...(after ? { after } : {}),
      });
    const ids = async (q: string, conversationIds?: string[]) =>
      (await find(q, conversationIds)).map((h) => h.id);

    before(async () => {
      client = await new MongoClient(await mongoUri()).connect();
      db = client.db(`t_search_${uniqueId()}`);
      messages = new MessagesRepository(db);
      changes = new MessageChangesRepository(db);
      await messages.ensureIndexes();
      harness = await make(db);
    });
    after(async () => {
      await db.dropDatabase();
      await client.close();
    });

    test('every word, whole words, case and diacritics folded', async () => {
      const a = await send(mine, "İstanbul'da güzel bir gün");
      const b = await send(other, 'Günaydın herkese, ISTANBUL bekliyor');
      const c = await send(mine, 'ıstanbul café');
      assert.deepEqual(new Set(await ids('istanbul')), new Set([a, b, c]));
      assert.deepEqual(await ids('gunaydin ıstanbul'), [b]);
      assert.deepEqual(await ids('istanbul gun'), [a]);
      assert.deepEqual(await ids('CAFE'), [c]);
      assert.deepEqual(await ids('istan'), []);
    });

    test('only the conversations asked for', async () => {
      const a = await send(mine, 'lemur sighting');
      await send(third, 'lemur sighting');
      assert.deepEqual(await ids('lemur'), [a]);
      assert.deepEqual(await ids('lemur', [other]), []);
    });

    test('edits are reflected, deleted messages never match', async () => {
      const id = await send(mine, 'papaya smoothie');
      const edited = await changes.edit(mine, id, sender, 'mango smoothie');
      assert.ok(edited);
      await harness.sync(edited);
      assert.deepEqual(await ids('papaya'), []);
      assert.deepEqual(await ids('mango'), [id]);
      const deleted = await changes.tombstone(mine, id, { actorId: sender, senderId: sender });
      assert.ok(deleted);
      await harness.sync(deleted);
      assert.deepEqual(await ids('smoothie'), []);
    });

    test('best match first, ties newest first; positions page without repeats or gaps', async () => {
      const once = await send(mine, 'walrus and other animals here');
      const thrice = await send(other, 'walrus walrus walrus');
      const older = await send(mine, 'a walrus tie');
      const newer = await send(mine, 'a walrus tie');
      const all = await find('walrus');
      assert.deepEqual(
        all.map((h) => h.id),
        [thrice, newer, older, once],
      );
      assert.equal(all[0]?.conversationId, other);
      const paged: string[] = [];
      let position: SearchPosition | undefined;
      for (;;) {
        const page = await harness.backend.searchMessages({
          words: ['walrus'],
          conversationIds: [mine, other],
          limit: 3,
          ...(position ? { after: position } : {}),
        });
        paged.push(...page.map((h) => h.id));
        position = page.at(-1);
        if (page.length < 3) break;
      }
      assert.deepEqual(
        paged,
        all.map((h) => h.id),
      );
    });

    test('reindex brings in messages the index never saw', async () => {
      const now = new Date();
      const { insertedId } = await db.collection('messages').insertOne({
        conversationId: new ObjectId(mine),
        senderId: new ObjectId(sender),
        content: 'Kırmızı elma, stored before search',
        type: 'text',
        createdAt: now,
        updatedAt: now,
      });
      assert.deepEqual(await ids('kirmizi elma'), []);
      const seen: number[] = [];
      const result = await harness.backend.reindex((p) => seen.push(p.done));
      assert.equal(result.done, result.total);
      assert.equal(seen.at(-1), result.done);
      assert.deepEqual(await ids('kirmizi elma'), [insertedId.toHexString()]);
      assert.deepEqual(await ids('smoothie'), [], 'deleted messages stay out');
    });
  });
}

describe('Elasticsearch adapter requests (mock only: never run against a live cluster)', () => {
  let client: MongoClient;
  let db: Db;
  let es: FakeElastic;
  let backend: ElasticSearchBackend;
  let suffix = 0;

  before(async () => {
    client = await new MongoClient(await mongoUri()).connect();
    db = client.db(`t_search_${uniqueId()}`);
    es = fakeElastic();
    backend = new ElasticSearchBackend(es.client, db, { indexSuffix: () => `v${++suffix}` });
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  test('creates parley-messages-* behind the alias with the folding analyzer, once', async () => {
    await backend.ensureReady();
    await backend.ensureReady();
    assert.deepEqual(es.aliases.get('parley-messages'), ['parley-messages-v1']);
    const created = es.indices.get('parley-messages-v1')?.created as {
      settings: { analysis: { analyzer: { folded: { filter: string[] } } } };
      mappings: { properties: Record<string, { type: string; analyzer?: string }> };
    };
    assert.deepEqual(created.settings.analysis.analyzer.folded.filter, [
      'turkish_lowercase',
      'asciifolding',
    ]);
    assert.deepEqual(created.mappings.properties.content, { type: 'text', analyzer: 'folded' });
    assert.equal(created.mappings.properties.conversationId?.type, 'keyword');
    assert.equal(es.requests.filter((r) => r.method === 'PUT').length, 1);
  });

  test('a search filters by the conversations and sorts by score, time and id', async () => {
    const conversationIds = [new ObjectId().toHexString()];
    es.requests.length = 0;
    const after = { score: 0.5, createdAt: new Date(1000), id: 'f'.repeat(24) };
    await backend.searchMessages({ words: ['istanbul', 'gun'], conversationIds, limit: 21, after });
    const [request] = es.requests;
    assert.equal(request?.path, '/parley-messages/_search');
    assert.deepEqual(request?.body, {
      size: 21,
      track_total_hits: false,
      _source: ['conversationId'],
      query: {
        bool: {
          must: [{ match: { content: { query: 'istanbul gun', operator: 'and' } } }],
          filter: [{ terms: { conversationId: conversationIds } }],
        },
      },
      sort: [
        { _score: { order: 'desc' } },
        { createdAt: { order: 'desc' } },
        { messageId: { order: 'desc' } },
      ],
      search_after: [0.5, 1000, 'f'.repeat(24)],
    });
  });

  test('reindex fills a new index, then moves the alias in one _aliases call and drops the old', async () => {
    es.requests.length = 0;
    await backend.reindex(() => undefined);
    const aliasCalls = es.requests.filter((r) => r.path === '/_aliases');
    assert.deepEqual(
      aliasCalls.map((r) => r.body),
      [
        {
          actions: [
            { remove: { index: 'parley-messages-v1', alias: 'parley-messages' } },
            { add: { index: 'parley-messages-v2', alias: 'parley-messages' } },
          ],
        },
      ],
    );
    assert.deepEqual(es.aliases.get('parley-messages'), ['parley-messages-v2']);
    assert.deepEqual([...es.indices.keys()], ['parley-messages-v2']);
    const order = es.requests.map((r) => r.path);
    assert.ok(
      order.indexOf('/parley-messages-v2/_refresh') < order.indexOf('/_aliases'),
      'refreshed before searches see it',
    );
  });

  test('ELASTICSEARCH_URL picks this backend; an unreachable one stops start-up with one clear line', async () => {
    assert.equal(createSearchBackend({}, db).name, 'mongodb');
    const configured = createSearchBackend({ ELASTICSEARCH_URL: 'http://127.0.0.1:1' }, db);
    assert.equal(configured.name, 'elasticsearch');
    await configured.close();
    await assert.rejects(
      startTestApp(await isolatedEnv({ ELASTICSEARCH_URL: 'http://127.0.0.1:1' })),
      (error: Error) =>
        error.name === 'StartupError' &&
        error.message.startsWith('Cannot reach Elasticsearch at http://127.0.0.1:1'),
    );
  });
});
