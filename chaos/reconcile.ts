/**
 * The end of the run: what the database holds against what each client's log says. A chat
 * message is lost when its sender had it acknowledged and it is not stored, or when it is stored
 * and some member's client never received it; duplicated when one send is stored twice. Auto
 * messages: planned vs sent (isSent) vs stored vs received by both members.
 */
import { Redis } from 'ioredis';
import { MongoClient, type Document } from 'mongodb';
import type { ChatUser } from './workload.js';

export interface Row {
  readonly what: string;
  readonly planned: number;
  readonly sent: number;
  readonly stored: number;
  readonly delivered: number;
  readonly lost: number;
  readonly duplicated: number;
}

export interface Reconciliation {
  readonly rows: Row[];
  readonly pendingEvents: number;
  /** `message.created` events of the run's users' messages: stored vs counted by `stats`. */
  readonly events: { readonly stored: number; readonly consumed: number };
  /** Why each loss or duplicate counts, a line each (the first few). */
  readonly problems: string[];
}

export async function reconcile(
  mongoUri: string,
  redisUrl: string,
  runId: string,
  users: readonly ChatUser[],
  autoPlanned: number,
): Promise<Reconciliation> {
  const mongo = new MongoClient(mongoUri);
  await mongo.connect();
  try {
    const db = mongo.db();
    const byId = new Map(users.map((u) => [u.userId, u]));
    const membersOf = await conversationMembers(db.collection('conversations'));
    const problems: string[] = [];
    const receivedBy = (user: ChatUser | undefined, id: string) => !!user?.received.has(id);
    const deliveredToAll = (doc: Document) => {
      const id = String(doc._id);
      const members = membersOf.get(String(doc.conversationId)) ?? [];
      const missing = members.filter((m) => !receivedBy(byId.get(m), id));
      if (missing.length > 0)
        problems.push(
          `message ${id} (${String(doc.content).slice(0, 40)}) not received by ${missing.length} member(s)`,
        );
      return missing.length === 0;
    };

    // Chat: each send's content is unique to the run.
    const chatDocs = await db
      .collection('messages')
      .find({ type: 'text', content: { $regex: `^chaos ${runId} ` } })
      .toArray();
    const storedByContent = new Map<string, Document[]>();
    for (const doc of chatDocs) {
      const list = storedByContent.get(String(doc.content)) ?? [];
      list.push(doc);
      storedByContent.set(String(doc.content), list);
    }
    const acked = users.flatMap((u) => [...u.acked.entries()]);
    const refused = users.reduce((n, u) => n + u.refused.size, 0);
    for (const user of users)
      for (const [content, code] of user.refused) problems.push(`refused (${code}): "${content}"`);
    const attempted = users.reduce((n, u) => n + u.acked.size + u.refused.size, 0);
    let lostChat = 0;
    for (const [content, messageId] of acked) {
      const stored = storedByContent.get(content);
      if (!stored?.some((d) => String(d._id) === messageId)) {
        lostChat += 1;
        problems.push(`acknowledged "${content}" (${messageId}) is not stored`);
      }
    }
    let duplicatedChat = 0;
    let deliveredChat = 0;
    for (const [content, docs] of storedByContent) {
      if (docs.length > 1) {
        duplicatedChat += docs.length - 1;
        problems.push(`"${content}" stored ${docs.length} times`);
      }
      for (const doc of docs) {
        if (deliveredToAll(doc)) deliveredChat += 1;
        else lostChat += 1;
      }
    }

    // Auto messages: the plan's documents, their messages, and who received those.
    const autos = await db.collection('automessages').find({}).toArray();
    const autoSent = autos.filter((a) => a.isSent === true).length;
    const autoDocs = await db.collection('messages').find({ type: 'auto' }).toArray();
    const perAuto = new Map<string, number>();
    for (const doc of autoDocs) {
      const key = String(doc.autoMessageId);
      perAuto.set(key, (perAuto.get(key) ?? 0) + 1);
    }
    let duplicatedAuto = 0;
    for (const [key, n] of perAuto)
      if (n > 1) {
        duplicatedAuto += n - 1;
        problems.push(`auto message ${key} stored ${n} times`);
      }
    let lostAuto = 0;
    for (const auto of autos) {
      if (!perAuto.has(String(auto._id))) {
        lostAuto += 1;
        problems.push(
          `auto message ${String(auto._id)} (isSent=${String(auto.isSent)}) has no message`,
        );
      }
    }
    let deliveredAuto = 0;
    for (const doc of autoDocs) {
      if (deliveredToAll(doc)) deliveredAuto += 1;
      else lostAuto += 1;
    }

    let pendingEvents = 0;
    for (const name of ['users', 'conversations', 'messages', 'automessages'])
      pendingEvents += await db.collection(name).countDocuments({ 'outbox.0': { $exists: true } });

    const ids = users.map((u) => u.userId);
    const authored = await db
      .collection('messages')
      .find({}, { projection: { senderId: 1, createdAt: 1 } })
      .toArray();
    const mine = authored.filter((m) => ids.includes(String(m.senderId)));
    const days = [...new Set(mine.map((m) => (m.createdAt as Date).toISOString().slice(0, 10)))];
    const events = { stored: mine.length, consumed: await consumedBy(redisUrl, days, ids) };

    return {
      events,
      rows: [
        {
          what: `chat (${refused} refused of ${attempted})`,
          planned: attempted,
          sent: acked.length,
          stored: chatDocs.length,
          delivered: deliveredChat,
          lost: lostChat,
          duplicated: duplicatedChat,
        },
        {
          what: 'auto messages',
          planned: Math.max(autoPlanned, autos.length),
          sent: autoSent,
          stored: autoDocs.length,
          delivered: deliveredAuto,
          lost: lostAuto,
          duplicated: duplicatedAuto,
        },
      ],
      pendingEvents,
      problems,
    };
  } finally {
    await mongo.close();
  }
}

async function conversationMembers(
  conversations: ReturnType<ReturnType<MongoClient['db']>['collection']>,
): Promise<Map<string, string[]>> {
  const map = new Map<string, string[]>();
  const docs = await conversations.find({}, { projection: { participants: 1 } }).toArray();
  for (const doc of docs)
    map.set(String(doc._id), ((doc.participants ?? []) as unknown[]).map(String));
  return map;
}

/**
 * The `stats` consumer's per-sender daily counters (idempotent by event id): their sum over the
 * run's users is the number of their `message.created` events consumed, each once.
 */
async function consumedBy(redisUrl: string, days: string[], userIds: string[]): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
  await redis.connect();
  try {
    let total = 0;
    for (const day of days) {
      const counts = await redis.hmget(`stats:d:${day}:users`, ...userIds);
      for (const n of counts) total += Number(n ?? 0);
    }
    return total;
  } finally {
    redis.disconnect();
  }
}
