import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { BSON, ObjectId } from 'bson';
import { MongoClient, type ServerHeartbeatSucceededEvent } from 'mongodb';
import { startEmbeddedMongo, type EmbeddedMongo } from '../src/index.js';

const EXHAUST_ALLOWED = 1 << 16;
const MORE_TO_COME = 2;

interface Reply {
  requestId: number;
  responseTo: number;
  flags: number;
  body: Record<string, unknown>;
  /** ms since the request was written */
  after: number;
}

/** Writes one OP_MSG (request id 42) and yields the replies as they arrive. */
async function* exchange(port: number, body: object, flags: number): AsyncGenerator<Reply> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  try {
    const payload = Buffer.concat([Buffer.alloc(4), Buffer.from([0]), BSON.serialize(body)]);
    payload.writeUInt32LE(flags, 0);
    const head = Buffer.alloc(16);
    head.writeInt32LE(16 + payload.length, 0);
    head.writeInt32LE(42, 4);
    head.writeInt32LE(2013, 12);
    const sentAt = performance.now();
    socket.write(Buffer.concat([head, payload]));
    let pending = Buffer.alloc(0);
    for await (const chunk of socket as AsyncIterable<Buffer>) {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= pending.readInt32LE(0)) {
        const length = pending.readInt32LE(0);
        const message = pending.subarray(0, length);
        pending = pending.subarray(length);
        yield {
          requestId: message.readInt32LE(4),
          responseTo: message.readInt32LE(8),
          flags: message.readUInt32LE(16),
          body: BSON.deserialize(message.subarray(21)),
          after: performance.now() - sentAt,
        };
      }
    }
  } finally {
    socket.destroy();
  }
}

async function take(replies: AsyncGenerator<Reply>, n: number): Promise<Reply[]> {
  const taken: Reply[] = [];
  for await (const reply of replies) {
    taken.push(reply);
    if (taken.length === n) break;
  }
  return taken;
}

/**
 * Drivers monitor a server with awaitable hellos when it sends a topologyVersion, and only then
 * reset their monitor after a network error; without it the Node driver's monitor could stay
 * stuck for good on a socket that closed under it when the engine restarted.
 */
// Each test fails after a minute instead of waiting forever for a reply that never comes.
void describe('engine: server monitoring (hello, topologyVersion)', { timeout: 60_000 }, () => {
  let mongo: EmbeddedMongo;
  let current: { processId: ObjectId; counter: number };

  before(async () => {
    mongo = await startEmbeddedMongo();
    const [reply] = await take(exchange(mongo.port, { hello: 1, $db: 'admin' }, 0), 1);
    current = reply?.body.topologyVersion as typeof current;
  });
  after(() => mongo.stop());

  it('gives each engine run its own topologyVersion', async () => {
    assert.ok(current.processId instanceof ObjectId);
    const other = await startEmbeddedMongo();
    try {
      const [reply] = await take(exchange(other.port, { hello: 1, $db: 'admin' }, 0), 1);
      const version = reply?.body.topologyVersion as typeof current;
      assert.notEqual(version.processId.toHexString(), current.processId.toHexString());
    } finally {
      await other.stop();
    }
  });

  it('holds an awaitable hello for maxAwaitTimeMS, then streams one every maxAwaitTimeMS', async () => {
    const hello = { hello: 1, topologyVersion: current, maxAwaitTimeMS: 150, $db: 'admin' };
    const [first, second] = await take(exchange(mongo.port, hello, EXHAUST_ALLOWED), 2);
    assert.ok(first && second);
    assert.ok(first.after >= 145, `held ${first.after} ms`);
    assert.equal(first.responseTo, 42);
    assert.equal(second.responseTo, first.requestId, 'each streamed reply answers the one before');
    for (const reply of [first, second]) {
      assert.equal(reply.flags & MORE_TO_COME, MORE_TO_COME);
      assert.equal(reply.body.isWritablePrimary, true);
    }
  });

  it('answers a hello awaiting another engine run at once, without streaming', async () => {
    const stale = { processId: new ObjectId(), counter: 0 };
    const hello = { hello: 1, topologyVersion: stale, maxAwaitTimeMS: 60_000, $db: 'admin' };
    const [reply] = await take(exchange(mongo.port, hello, EXHAUST_ALLOWED), 1);
    assert.equal(reply?.flags, 0);
    assert.deepEqual(reply?.body.topologyVersion, current);
  });

  it('is monitored by the Node driver with streamed heartbeats', async () => {
    const client = new MongoClient(mongo.uri, { heartbeatFrequencyMS: 500 });
    const awaited: ServerHeartbeatSucceededEvent[] = [];
    let cleared = 0;
    const threeStreamed = new Promise<void>((resolve) =>
      client.on('serverHeartbeatSucceeded', (event) => {
        if (event.awaited) awaited.push(event);
        if (awaited.length === 3) resolve();
      }),
    );
    client.on('connectionPoolCleared', () => (cleared += 1));
    try {
      await client.connect();
      await client.db('monitoring').collection('c').insertOne({ a: 1 });
      await threeStreamed;
      assert.equal(cleared, 0);
      assert.equal(await client.db('monitoring').collection('c').countDocuments(), 1);
    } finally {
      await client.close();
    }
  });

  it('reports its own memory in serverStatus (mem, in MB, as mongod does)', async () => {
    const client = new MongoClient(mongo.uri);
    try {
      const admin = client.db('admin').admin();
      const mem = async () =>
        (await admin.command({ serverStatus: 1 })).mem as Record<string, number>;
      const before = await mem();
      assert.ok(
        before.resident! >= before.heapUsed! && before.heapUsed! > 0,
        JSON.stringify(before),
      );
      // 24 MB the engine must keep: its heap grows by at least most of that, whatever the GC did.
      const c = client.db('monitoring-mem').collection('big');
      const text = 'x'.repeat(1024);
      for (let i = 0; i < 4; i++)
        await c.insertMany(
          Array.from({ length: 6000 }, (_, j) => ({ i, j, text: `${i}-${j}${text}` })),
        );
      const loaded = await mem();
      assert.ok(
        loaded.heapUsed! - before.heapUsed! >= 16,
        `${before.heapUsed} → ${loaded.heapUsed}`,
      );
    } finally {
      await client.db('monitoring-mem').dropDatabase();
      await client.close();
    }
  });
});
