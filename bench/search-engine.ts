import { ObjectId, MongoClient } from 'mongodb';
import { startEmbeddedMongo } from '@parley/embedded-mongo';
import { queryWords, searchText } from '../src/lib/fold.js';
import { ConversationsRepository } from '../src/modules/conversations/conversations.repository.js';
import { MessagesRepository } from '../src/modules/messages/messages.repository.js';
import { MongoSearchBackend } from '../src/modules/search/mongo-search.backend.js';
import { random, sentence } from './lib/corpus.js';

/**
 * `node dist/bench/search-engine.js [--messages=N] [--conversations=N] [--queries=N]`: the
 * default search backend through the driver against the embedded engine (no HTTP, Redis or
 * RabbitMQ), next to the history page read of the same run: corpus load, text index build,
 * and per-query latency for a user in 50 and in half of the
 * conversations. Prints JSON.
 */
const arg = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const MESSAGES = arg('messages', 1_000_000);
const CONVERSATIONS = arg('conversations', 10_000);
const QUERIES = arg('queries', 200);

const rnd = random(7);
const QUERY_TEXTS = ['coffee', 'meeting tomorrow', 'gunaydin', 'w2sing', 'wfa0ing'];

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return (
    Math.round((s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN) * 100) / 100
  );
};

async function main() {
  const mongo = await startEmbeddedMongo();
  // A text index build or a slow query on a loaded machine blocks the engine longer than the
  // driver's default monitor timeout allows.
  const client = await new MongoClient(mongo.uri, { connectTimeoutMS: 300_000 }).connect();
  const db = client.db('search_bench');
  const messages = new MessagesRepository(db);
  const conversations = new ConversationsRepository(db);
  await Promise.all([messages.ensureIndexes(), conversations.ensureIndexes()]);
  const heavy = new ObjectId();
  const light = new ObjectId();
  const filler = [new ObjectId(), new ObjectId()];
  const ids: ObjectId[] = [];
  const now = new Date();
  const convDocs = [];
  for (let i = 0; i < CONVERSATIONS; i += 1) {
    const participants = [...filler];
    if (i % 2 === 0) participants.push(heavy);
    if (i % Math.floor(CONVERSATIONS / 50) === 1) participants.push(light);
    const _id = new ObjectId();
    ids.push(_id);
    convDocs.push({
      _id,
      type: 'group',
      participants,
      name: `g${i}`,
      createdBy: filler[0],
      lastMessageAt: now,
      createdAt: now,
      updatedAt: now,
    });
  }
  await db.collection('conversations').insertMany(convDocs);
  let t = performance.now();
  const start = Date.now() - MESSAGES * 1000;
  for (let from = 0; from < MESSAGES; from += 10_000) {
    const docs = [];
    for (let i = from; i < Math.min(MESSAGES, from + 10_000); i += 1) {
      const content = sentence(rnd);
      const at = new Date(start + i * 1000);
      docs.push({
        _id: ObjectId.createFromTime(at.getTime() / 1000),
        conversationId: ids[i % ids.length],
        senderId: filler[i % 2],
        content,
        type: 'text',
        searchText: searchText(content),
        createdAt: at,
        updatedAt: at,
      });
    }
    await db.collection('messages').insertMany(docs, { ordered: false });
  }
  const loadS = (performance.now() - t) / 1000;
  t = performance.now();
  const backend = new MongoSearchBackend(db);
  await backend.ensureReady();
  const buildS = (performance.now() - t) / 1000;
  const result: Record<string, unknown> = {
    messages: MESSAGES,
    conversations: CONVERSATIONS,
    loadS,
    textIndexBuildS: buildS,
  };
  const history = ids[0]?.toHexString() as string;
  for (const [name, user] of [
    ['few', light],
    ['many', heavy],
  ] as const) {
    const timeIds: number[] = [];
    const search: number[] = [];
    const base: number[] = [];
    let convs = 0;
    let hits = 0;
    for (let i = 0; i < QUERIES; i += 1) {
      let t0 = performance.now();
      const conversationIds = await conversations.idsForMember(user.toHexString());
      timeIds.push(performance.now() - t0);
      convs = conversationIds.length;
      t0 = performance.now();
      const found = await backend.searchMessages({
        words: queryWords(QUERY_TEXTS[i % QUERY_TEXTS.length] as string),
        conversationIds,
        limit: 21,
      });
      search.push(performance.now() - t0);
      hits += found.length;
      t0 = performance.now();
      await messages.pageBefore(history, 21);
      base.push(performance.now() - t0);
    }
    result[name] = {
      conversations: convs,
      membershipIdsMs: { p50: pct(timeIds, 50), p99: pct(timeIds, 99) },
      searchMs: { p50: pct(search, 50), p99: pct(search, 99) },
      historyPageMs: { p50: pct(base, 50), p99: pct(base, 99) },
      perQuery: Object.fromEntries(
        QUERY_TEXTS.map((q, k) => [
          q,
          pct(
            search.filter((_, i) => i % QUERY_TEXTS.length === k),
            50,
          ),
        ]),
      ),
      hitsPerQuery: hits / QUERIES,
    };
    process.stderr.write(`${JSON.stringify(result[name])}\n`);
  }
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  await client.close();
  await mongo.stop();
}

await main();
