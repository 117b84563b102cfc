import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { MongoClient, ObjectId, type Collection } from 'mongodb';
import { startEmbeddedMongo } from '../src/infra/embedded-mongo/index.js';

/**
 * Embedded MongoDB benchmark through the official driver, in-process: the driver runs on this
 * thread like the app's, the engine in its worker thread (default) or, with `--inline`, here too.
 * Targets: insertOne and findOne-by-_id >= 10,000 ops/s; indexed history query >= 2,000 q/s
 * over 100,000 documents and >= 20x the same query on an unindexed field.
 */
const CONCURRENCY = 8;

async function opsPerSecond(total: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (next < total) await op(next++);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return Math.round(total / seconds);
}

interface Message {
  _id: ObjectId;
  conversationId: number;
  unindexedConversationId: number;
  body: string;
}

async function seedHistory(
  messages: Collection<Message>,
  total: number,
  conversations: number,
): Promise<void> {
  await messages.createIndex({ conversationId: 1, _id: -1 });
  const batch = 1_000;
  for (let start = 0; start < total; start += batch) {
    const docs = Array.from({ length: Math.min(batch, total - start) }, (_, j) => {
      const c = (start + j) % conversations;
      return {
        _id: new ObjectId(),
        conversationId: c,
        unindexedConversationId: c,
        body: `message ${start + j}`,
      };
    });
    await messages.insertMany(docs);
  }
}

export async function runEmbeddedMongoBench(opts: {
  quick: boolean;
  thread?: 'worker' | 'inline';
}): Promise<Record<string, number | string>> {
  const thread = opts.thread ?? 'worker';
  const mongo = await startEmbeddedMongo({ thread });
  const client = await new MongoClient(mongo.uri, { maxPoolSize: CONCURRENCY * 2 }).connect();
  try {
    const db = client.db('bench_embedded_mongo');
    const ops = opts.quick ? 3_000 : 30_000;
    const kv = db.collection<{ _id: ObjectId; n: number; text: string }>('kv');
    // Warm up the JIT (driver and engine) so the figures reflect steady state.
    await opsPerSecond(2_000, async (i) => db.collection('warmup').insertOne({ i }));
    await opsPerSecond(2_000, async (i) => db.collection('warmup').findOne({ i }));
    const ids: ObjectId[] = [];
    const insertOnePerSec = await opsPerSecond(ops, async (i) => {
      const _id = new ObjectId();
      ids.push(_id);
      await kv.insertOne({ _id, n: i, text: 'hello world' });
    });
    const findOneByIdPerSec = await opsPerSecond(ops, async (i) =>
      kv.findOne({ _id: ids[i % ids.length] }),
    );

    const historyDocs = opts.quick ? 20_000 : 100_000;
    const conversations = 1_000;
    const messages = db.collection<Message>('messages');
    await seedHistory(messages, historyDocs, conversations);
    const page = (field: 'conversationId' | 'unindexedConversationId') => async (i: number) =>
      messages
        .find({ [field]: i % conversations })
        .sort({ _id: -1 })
        .limit(50)
        .toArray();
    const indexedHistoryQps = await opsPerSecond(
      opts.quick ? 1_000 : 5_000,
      page('conversationId'),
    );
    // How long the caller's event loop (the app's, in production) is stalled during full scans.
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    const unindexedHistoryQps = await opsPerSecond(
      opts.quick ? 20 : 50,
      page('unindexedConversationId'),
    );
    delay.disable();
    return {
      thread,
      insertOnePerSec,
      findOneByIdPerSec,
      historyDocs,
      indexedHistoryQps,
      unindexedHistoryQps,
      indexedSpeedup: Math.round((indexedHistoryQps / unindexedHistoryQps) * 10) / 10,
      callerLoopMaxStallMsDuringScans: Math.round(delay.max / 1e6),
    };
  } finally {
    await client.close();
    await mongo.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  const thread = process.argv.includes('--inline') ? 'inline' : 'worker';
  runEmbeddedMongoBench({ quick, thread }).then(
    (result) => process.stdout.write(JSON.stringify(result, null, 2) + '\n'),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
