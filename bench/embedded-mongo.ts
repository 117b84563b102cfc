import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { MongoClient, ObjectId, type Collection, type Db, type Document as Doc } from 'mongodb';
import { BSON } from 'bson';
import { startEmbeddedMongo } from '@parley/embedded-mongo';
import { executeCommand, Store } from '@parley/embedded-mongo/internals';
import { silentLogger } from '../src/logger.js';
import { AUTO_MESSAGE_INDEXES } from '../src/modules/automessages/automessages.repository.js';
import { CONVERSATION_INDEXES } from '../src/modules/conversations/conversations.repository.js';
import { MESSAGE_INDEXES } from '../src/modules/messages/messages.repository.js';
import { textSearchBench } from './text-search.js';

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

/**
 * The app's own write shapes (see the repositories under src/modules/): the queue stage's
 * `updateMany` by `_id $in` 1,000 ids on `automessages`, `recordMessage`'s `updateOne` on a
 * conversation (multikey compound index), `markSent`'s `updateOne` on an auto message, and
 * `insertOnce` into `messages` with its three indexes (two partial unique).
 */
async function appShapes(db: Db, quick: boolean): Promise<Record<string, number>> {
  const autos = db.collection<Doc>('automessages');
  await autos.createIndexes(AUTO_MESSAGE_INDEXES);
  const autoCount = 20_000;
  const autoIds = Array.from({ length: autoCount }, () => new ObjectId());
  const now = new Date();
  for (let start = 0; start < autoCount; start += 1_000) {
    await autos.insertMany(
      autoIds.slice(start, start + 1_000).map((_id, j) => autoDoc(_id, start + j, now)),
    );
  }
  // Claim then mark queued, alternating, so every updateMany really changes 1,000 documents.
  const batches = autoCount / 1_000;
  const inRounds = quick ? 20 : 60;
  const inStarted = process.hrtime.bigint();
  for (let r = 0; r < inRounds; r++) {
    const ids = autoIds.slice((r % batches) * 1_000, (r % batches) * 1_000 + 1_000);
    const token = `claim-${r}`;
    await autos.updateMany(
      { _id: { $in: ids } },
      { $set: { claimToken: token, claimedAt: new Date(), isQueued: false } },
    );
    await autos.updateMany(
      { _id: { $in: ids }, claimToken: token },
      { $set: { isQueued: true, queuedAt: new Date() }, $unset: { claimToken: '', claimedAt: '' } },
    );
  }
  const inSeconds = Number(process.hrtime.bigint() - inStarted) / 1e9;
  const updateManyIn1000PerSec = Math.round(((inRounds * 2) / inSeconds) * 10) / 10;

  const ops = quick ? 3_000 : 20_000;
  const autoUpdateOnePerSec = await opsPerSecond(ops, async (i) =>
    autos.updateOne({ _id: autoIds[i % autoCount] }, markSentUpdate()),
  );

  const conversations = db.collection<Doc>('conversations');
  await conversations.createIndexes(CONVERSATION_INDEXES);
  const users = Array.from({ length: 200 }, () => new ObjectId());
  const convDocs: Doc[] = [];
  for (let i = 0; i < 2_000; i++) {
    const a = users[i % users.length] as ObjectId;
    const b = users[(i * 7 + 1) % users.length] as ObjectId;
    const _id = new ObjectId();
    convDocs.push({
      _id,
      type: 'direct',
      participants: [a, b],
      directKey: `${a.toHexString()}:${b.toHexString()}:${i}`,
      createdBy: a,
      lastMessageAt: new Date(0),
      createdAt: now,
      updatedAt: now,
    });
  }
  await conversations.insertMany(convDocs);
  const conversationUpdateOnePerSec = await opsPerSecond(ops, async (i) => {
    const conv = convDocs[i % convDocs.length] as Doc;
    const sender = (conv.participants as ObjectId[])[i % 2] as ObjectId;
    const at = new Date(Date.now() + i);
    const messageId = new ObjectId();
    return conversations.updateOne(
      { _id: conv._id as ObjectId, lastMessageAt: { $lte: at } },
      {
        $set: {
          lastMessage: { id: messageId, senderId: sender, preview: `hi ${i}`, createdAt: at },
          lastMessageAt: at,
          updatedAt: new Date(),
          [`reads.${sender.toHexString()}`]: { messageId, readAt: at },
        },
      },
    );
  });

  const messages = db.collection<Doc>('app_messages');
  await messages.createIndexes(MESSAGE_INDEXES);
  const messageInsertOnePerSec = await opsPerSecond(ops, async (i) => {
    const conv = convDocs[i % convDocs.length] as Doc;
    const at = new Date();
    return messages.insertOne(
      messageDoc(conv._id as ObjectId, (conv.participants as ObjectId[])[i % 2] as ObjectId, i, at),
    );
  });
  return {
    updateManyIn1000PerSec,
    autoUpdateOnePerSec,
    conversationUpdateOnePerSec,
    messageInsertOnePerSec,
  };
}

/**
 * Engine CPU per command without driver, socket or thread hop: BSON-decode the command (as the
 * wire layer does), execute it, BSON-encode the reply. Microseconds per command, app shapes.
 */
export function engineOnlyBench(): Record<string, number> {
  const store = new Store();
  const run = (cmd: Doc): Doc => {
    const decoded = BSON.deserialize(BSON.serialize(cmd));
    const reply = executeCommand({
      store,
      db: 'app',
      cmd: decoded,
      connectionId: 1,
      logger: silentLogger,
    });
    if (reply.ok !== 1 || reply.writeErrors) throw new Error(JSON.stringify(reply));
    BSON.serialize(reply);
    return reply;
  };
  const usPer = (n: number, fn: (i: number) => void): number => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn(i);
    return Math.round(Number(process.hrtime.bigint() - started) / 1000 / n);
  };
  const now = new Date();
  run({
    createIndexes: 'automessages',
    indexes: AUTO_MESSAGE_INDEXES,
  });
  const total = 20_000;
  const ids = Array.from({ length: total }, () => new ObjectId());
  for (let start = 0; start < total; start += 1_000) {
    run({
      insert: 'automessages',
      documents: ids.slice(start, start + 1_000).map((_id, j) => autoDoc(_id, start + j, now)),
    });
  }
  const batch = (r: number) => ids.slice((r % 20) * 1_000, (r % 20) * 1_000 + 1_000);
  const due = () => ({
    isQueued: false,
    sendDate: { $lte: new Date() },
    $or: [{ claimedAt: { $exists: false } }, { claimedAt: { $lt: new Date(0) } }],
  });
  const out: Record<string, number> = {};
  out.findDueLimit1000Us = usPer(20, () =>
    run({ find: 'automessages', filter: due(), projection: { _id: 1 }, limit: 1_000 }),
  );
  out.updateManyClaimIn1000Us = usPer(20, (r) =>
    run({
      update: 'automessages',
      updates: [
        {
          q: { ...due(), _id: { $in: batch(r) } },
          u: { $set: { claimToken: `t${r}`, claimedAt: new Date() } },
          multi: true,
        },
      ],
    }),
  );
  out.findByClaimToken1000DocsUs = usPer(20, (r) =>
    run({
      find: 'automessages',
      filter: { claimToken: `t${r}`, isQueued: false },
      batchSize: 2_000,
    }),
  );
  out.updateManyQueuedIn1000Us = usPer(20, (r) =>
    run({
      update: 'automessages',
      updates: [
        {
          q: { _id: { $in: batch(r) }, claimToken: `t${r}` },
          u: {
            $set: { isQueued: true, queuedAt: new Date(), updatedAt: new Date() },
            $unset: { claimToken: '', claimedAt: '' },
          },
          multi: true,
        },
      ],
    }),
  );
  out.updateOneMarkSentUs = usPer(20_000, (i) =>
    run({
      update: 'automessages',
      updates: [
        {
          q: { _id: ids[i % total] },
          u: markSentUpdate(),
        },
      ],
    }),
  );
  run({
    createIndexes: 'conversations',
    indexes: CONVERSATION_INDEXES,
  });
  const users = Array.from({ length: 200 }, () => new ObjectId());
  const convs = Array.from({ length: 2_000 }, (_, i) => {
    const a = users[i % users.length] as ObjectId;
    const b = users[(i * 7 + 1) % users.length] as ObjectId;
    return {
      _id: new ObjectId(),
      participants: [a, b],
      directKey: `${a.toHexString()}:${b.toHexString()}:${i}`,
    };
  });
  run({
    insert: 'conversations',
    documents: convs.map((c) => ({
      ...c,
      type: 'direct',
      lastMessageAt: new Date(0),
      createdAt: now,
    })),
  });
  run({
    createIndexes: 'messages',
    indexes: MESSAGE_INDEXES,
  });
  const conv = (i: number) => convs[i % convs.length] as (typeof convs)[number];
  out.updateOneRecordMessageUs = usPer(20_000, (i) => {
    const c = conv(i);
    const sender = c.participants[i % 2] as ObjectId;
    const at = new Date(Date.now() + i);
    const messageId = new ObjectId();
    run({
      update: 'conversations',
      updates: [
        {
          q: { _id: c._id, lastMessageAt: { $lte: at } },
          u: {
            $set: {
              lastMessage: { id: messageId, senderId: sender, preview: `hi ${i}`, createdAt: at },
              lastMessageAt: at,
              updatedAt: new Date(),
              [`reads.${sender.toHexString()}`]: { messageId, readAt: at },
            },
          },
        },
      ],
    });
  });
  out.findOneForMemberUs = usPer(20_000, (i) =>
    run({
      find: 'conversations',
      filter: { _id: conv(i)._id, participants: conv(i).participants[0] },
      limit: 1,
      singleBatch: true,
    }),
  );
  out.insertOneMessageUs = usPer(20_000, (i) => {
    const c = conv(i);
    run({
      insert: 'messages',
      documents: [
        {
          _id: new ObjectId(),
          conversationId: c._id,
          senderId: c.participants[i % 2],
          content: `message ${i}`,
          type: 'text',
          ...(i % 2 === 0 ? { clientMessageId: `c-${i}` } : { autoMessageId: new ObjectId() }),
          createdAt: new Date(),
        },
      ],
    });
  });
  return out;
}

export async function runEmbeddedMongoBench(opts: {
  quick: boolean;
  thread?: 'worker' | 'inline';
  /** Only the app's write shapes (faster to iterate on). */
  shapesOnly?: boolean;
}): Promise<Record<string, number | string>> {
  const thread = opts.thread ?? 'worker';
  const mongo = await startEmbeddedMongo({ thread });
  const client = await new MongoClient(mongo.uri, { maxPoolSize: CONCURRENCY * 2 }).connect();
  try {
    const db = client.db('bench_embedded_mongo');
    // Warm up the JIT (driver and engine) so the figures reflect steady state.
    await opsPerSecond(2_000, async (i) => db.collection('warmup').insertOne({ i }));
    await opsPerSecond(2_000, async (i) => db.collection('warmup').findOne({ i }));
    const shapes = await appShapes(db, opts.quick);
    if (opts.shapesOnly) return { thread, ...shapes };
    const ops = opts.quick ? 3_000 : 30_000;
    const kv = db.collection<{ _id: ObjectId; n: number; text: string }>('kv');
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
      ...shapes,
      ...textSearchBench({ docs: opts.quick ? 20_000 : 100_000 }),
    };
  } finally {
    await client.close();
    await mongo.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  const thread = process.argv.includes('--inline') ? 'inline' : 'worker';
  const shapesOnly = process.argv.includes('--shapes');
  const engineOnly = process.argv.includes('--engine-only');
  const textOnly = process.argv.includes('--text');
  (textOnly
    ? Promise.resolve(textSearchBench({ docs: quick ? 20_000 : 100_000 }))
    : engineOnly
      ? Promise.resolve(engineOnlyBench())
      : runEmbeddedMongoBench({ quick, thread, shapesOnly })
  ).then(
    (result) => process.stdout.write(JSON.stringify(result, null, 2) + '\n'),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

/**
 * A messages document as `insertOnce` writes it: half with a clientMessageId, half with an
 * autoMessageId (the two partial unique indexes).
 */
export function messageDoc(conversationId: ObjectId, senderId: ObjectId, i: number, at: Date): Doc {
  return {
    _id: new ObjectId(),
    conversationId,
    senderId,
    content: `message ${i}`,
    type: 'text',
    ...(i % 2 === 0 ? { clientMessageId: `c-${i}` } : { autoMessageId: new ObjectId() }),
    createdAt: at,
    updatedAt: at,
  };
}

/** An automessages document as the planner writes it, due `i` seconds before `now`. */
/** The update AutoMessagesRepository.markSentMany applies to a delivered auto message. */
function markSentUpdate() {
  const now = new Date();
  return {
    $set: { isSent: true, sentAt: now, messageId: new ObjectId(), updatedAt: now },
    $inc: { attempts: 1 },
    $unset: { lastError: '' },
  };
}

function autoDoc(_id: ObjectId, i: number, now: Date) {
  return {
    _id,
    senderId: new ObjectId(),
    receiverId: new ObjectId(),
    content: `auto ${i}`,
    sendDate: new Date(now.getTime() - i * 1_000),
    isQueued: false,
    isSent: false,
    runId: 'run-1',
    attempts: 0,
    createdAt: now,
    updatedAt: now,
  };
}
