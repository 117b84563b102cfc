import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import amqp from 'amqplib';
import express from 'express';
import { MongoClient, ObjectId } from 'mongodb';
import { Server } from 'socket.io';
import { memoryAfterGc, serveParent } from '../lib/child.js';

/**
 * The baselines, each the least code that does the same visible work:
 * - a raw Socket.IO relay (no auth, no storage, no adapter): `send_message` is acked and
 *   `message_received` goes to both users' rooms, as Parley's fan-out does; `send_room` is one
 *   broadcast to a room every member's socket joined at its handshake (the group row);
 * - a bare Express app: `GET /api/auth/me` returns a fixed body (set by the parent to Parley's
 *   exact reply); the history page and the conversation list run the queries they need
 *   through the bare driver (no cache);
 * - bare `insertMany` of planned auto messages, and raw confirmed publish + consume.
 */
const env = process.env;
const mongo = await new MongoClient(env.MONGODB_URI ?? '', { maxPoolSize: 20 }).connect();
const db = mongo.db(env.MONGODB_DB);
let meBody: unknown = null;

const app = express();
app.get('/api/auth/me', (_req, res) => {
  res.json(meBody);
});
app.get('/api/conversations/:id/messages', (req, res, next) => {
  const limit = 50;
  db.collection('messages')
    .find({ conversationId: new ObjectId(req.params.id) })
    .sort({ _id: -1 })
    .limit(limit + 1)
    .toArray()
    .then((rows) => {
      const items = rows.slice(0, limit).map((m) => ({
        id: m._id.toHexString(),
        conversationId: (m.conversationId as ObjectId).toHexString(),
        senderId: (m.senderId as ObjectId).toHexString(),
        content: m.content as string,
        type: m.type as string,
        createdAt: (m.createdAt as Date).toISOString(),
      }));
      res.json({ items, nextCursor: rows.length > limit ? (items.at(-1)?.id ?? null) : null });
    }, next);
});

// The conversation list's first page as the route needs it without a cache: the member's
// conversations, their participants' summaries and one unread count each (`?as=` is the user).
app.get('/api/conversations', (req, res, next) => {
  const as = typeof req.query.as === 'string' ? req.query.as : '';
  conversationList(as).then((body) => res.json(body), next);
});

async function conversationList(userId: string) {
  const limit = 50;
  const me = new ObjectId(userId);
  const rows = await db
    .collection('conversations')
    .find({ participants: me })
    .sort({ lastMessageAt: -1, _id: -1 })
    .limit(limit + 1)
    .toArray();
  const page = rows.slice(0, limit);
  const ids = [...new Set(page.flatMap((c) => (c.participants as ObjectId[]).map(String)))];
  const [users, unread] = await Promise.all([
    db
      .collection('users')
      .find(
        { _id: { $in: ids.map((id) => new ObjectId(id)) } },
        { projection: { username: 1, displayName: 1, avatarUrl: 1, lastSeenAt: 1 } },
      )
      .toArray(),
    Promise.all(page.map((c) => unreadOf(c._id, me, readPointer(c.reads, userId)))),
  ]);
  const byId = new Map(users.map((u) => [u._id.toHexString(), u]));
  const items = page.map((c, i) => ({
    id: c._id.toHexString(),
    type: c.type as string,
    participants: (c.participants as ObjectId[]).flatMap((p) => {
      const u = byId.get(p.toHexString());
      return u
        ? [
            {
              id: p.toHexString(),
              username: u.username as string,
              displayName: u.displayName as string,
              avatarUrl: (u.avatarUrl as string | null) ?? null,
              isOnline: false,
              lastSeenAt: (u.lastSeenAt as Date | null)?.toISOString() ?? null,
            },
          ]
        : [];
    }),
    lastMessageAt: (c.lastMessageAt as Date).toISOString(),
    unreadCount: unread[i] ?? 0,
    createdAt: (c.createdAt as Date).toISOString(),
  }));
  return { items, nextCursor: null };
}

function readPointer(reads: unknown, userId: string): ObjectId | undefined {
  return (reads as Record<string, { messageId?: ObjectId }> | undefined)?.[userId]?.messageId;
}

function unreadOf(conversationId: unknown, me: ObjectId, after: ObjectId | undefined) {
  return db.collection('messages').countDocuments(
    {
      conversationId,
      senderId: { $ne: me },
      deletedAt: { $exists: false },
      type: { $ne: 'system' },
      ...(after ? { _id: { $gt: after } } : {}),
    },
    { limit: 999 },
  );
}

const httpServer = createServer(app);
const io = new Server(httpServer, { maxHttpBufferSize: 32 * 1024 });
let nextMessage = 0;
io.on('connection', (socket) => {
  const auth = socket.handshake.auth as { userId?: unknown };
  const userId = typeof auth.userId === 'string' ? auth.userId : socket.id;
  void socket.join(`user:${userId}`);
  // The group row: every member's socket joins the group's room; a message is one broadcast.
  const room = (socket.handshake.auth as { room?: unknown }).room;
  if (typeof room === 'string') void socket.join(`room:${room}`);
  /** A message as the relay shows it: stored nowhere, numbered in this process. */
  const relayed = (conversationId: string, content: string) => ({
    id: String(nextMessage++),
    conversationId,
    senderId: userId,
    content,
    type: 'text',
    createdAt: new Date().toISOString(),
  });
  const reply = (ack: unknown, message: ReturnType<typeof relayed>): void => {
    if (typeof ack === 'function') (ack as (r: unknown) => void)({ ok: true, message });
  };
  socket.on('send_room', (payload: { room: string; content: string }, ack) => {
    const message = relayed(payload.room, payload.content);
    io.to(`room:${payload.room}`).emit('message_received', { message });
    reply(ack, message);
  });
  socket.on('send_message', (payload: { conversationId: string; content: string }, ack) => {
    const message = relayed(payload.conversationId, payload.content);
    // In the relay the "conversation" is the peer's user id.
    io.to([`user:${userId}`, `user:${payload.conversationId}`]).emit('message_received', {
      message,
    });
    reply(ack, message);
  });
});
await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
const { port } = httpServer.address() as AddressInfo;

interface PlanArgs {
  runId: string;
  from: string;
  to: string;
  batchSize: number;
}

/** The planner's documents for every active user, built untimed; only insertMany is timed. */
async function insertPlan(args: unknown): Promise<{ ms: number; pairs: number }> {
  const { runId, from, to, batchSize } = args as PlanArgs;
  const ids = await db
    .collection('users')
    .find({ isActive: true }, { projection: { _id: 1 } })
    .sort({ _id: 1 })
    .map((d) => d._id)
    .toArray();
  const start = new Date(from).getTime();
  const span = new Date(to).getTime() - start;
  const now = new Date();
  const docs = [];
  for (let i = 0; i + 1 < ids.length; i += 2) {
    docs.push({
      _id: new ObjectId(),
      senderId: ids[i],
      receiverId: ids[i + 1],
      content: 'Hey, nice to meet you. Coffee or tea?',
      sendDate: new Date(start + Math.floor(Math.random() * (span + 1))),
      isQueued: false,
      isSent: false,
      runId,
      attempts: 0,
      createdAt: now,
      updatedAt: now,
    });
  }
  const collection = db.collection('automessages');
  const started = process.hrtime.bigint();
  for (let i = 0; i < docs.length; i += batchSize)
    await collection.insertMany(docs.slice(i, i + batchSize), { ordered: false });
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, pairs: docs.length };
}

interface RabbitArgs {
  count: number;
  prefetch: number;
  batchSize: number;
}

/** Confirmed publishes (pipelined per batch) and a manual-ack consumer on a quorum queue. */
async function rabbitRoundTrip(args: unknown): Promise<{ ms: number }> {
  const { count, prefetch, batchSize } = args as RabbitArgs;
  const connection = await amqp.connect(env.AMQP_URL ?? '');
  const queue = `${env.AMQP_QUEUE_PREFIX ?? ''}raw.${randomUUID()}`;
  try {
    const publisher = await connection.createConfirmChannel();
    await publisher.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    const consumer = await connection.createChannel();
    await consumer.prefetch(prefetch);
    let consumed = 0;
    const started = process.hrtime.bigint();
    const done = new Promise<void>((resolve, reject) => {
      consumer
        .consume(queue, (msg) => {
          if (!msg) return;
          JSON.parse(msg.content.toString('utf8'));
          consumer.ack(msg);
          consumed += 1;
          if (consumed === count) resolve();
        })
        .catch(reject);
    });
    for (let i = 0; i < count; i += batchSize) {
      const n = Math.min(batchSize, count - i);
      const confirms: Promise<void>[] = [];
      for (let j = 0; j < n; j += 1) {
        const body = Buffer.from(JSON.stringify(sampleJob(i + j)));
        confirms.push(
          new Promise((resolve, reject) => {
            publisher.publish(
              '',
              queue,
              body,
              { persistent: true, messageId: randomUUID() },
              (err) =>
                err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(),
            );
          }),
        );
      }
      await Promise.all(confirms);
    }
    await done;
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    await publisher.deleteQueue(queue);
    return { ms };
  } finally {
    await connection.close();
  }
}

function sampleJob(i: number) {
  return {
    autoMessageId: new ObjectId().toHexString(),
    senderId: new ObjectId().toHexString(),
    receiverId: new ObjectId().toHexString(),
    content: `Hey, nice to meet you. Coffee or tea? ${i}`,
  };
}

serveParent(
  { url: `http://127.0.0.1:${port}` },
  {
    memory: () => Promise.resolve(memoryAfterGc()),
    sockets: () => Promise.resolve({ count: io.engine.clientsCount }),
    setMe: (body) => {
      meBody = body;
      return Promise.resolve(null);
    },
    insertPlan,
    rabbit: rabbitRoundTrip,
  },
  async () => {
    await new Promise<void>((resolve) => void io.close(() => resolve()));
    await mongo.close();
  },
);
