import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { BSON } from 'bson';
import { MongoClient } from 'mongodb';
import { startEmbeddedMongo, type EmbeddedMongo } from '../src/index.js';

function header(length: number, opCode: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(7, 4);
  h.writeInt32LE(0, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

/** OP_MSG with a body section and optional document-sequence (kind 1) sections. */
function opMsg(body: object, sequences: Array<[string, object[]]> = []): Buffer {
  const parts: Buffer[] = [Buffer.alloc(4), Buffer.from([0]), Buffer.from(BSON.serialize(body))];
  for (const [id, docs] of sequences) {
    const payload = Buffer.concat([
      Buffer.from(id + '\0'),
      ...docs.map((d) => Buffer.from(BSON.serialize(d))),
    ]);
    const size = Buffer.alloc(4);
    size.writeInt32LE(payload.length + 4, 0);
    parts.push(Buffer.from([1]), size, payload);
  }
  const rest = Buffer.concat(parts);
  return Buffer.concat([header(16 + rest.length, 2013), rest]);
}

async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  return socket;
}

async function readReply(socket: net.Socket): Promise<Record<string, unknown>> {
  const [chunk] = (await once(socket, 'data')) as [Buffer];
  return BSON.deserialize(chunk.subarray(21));
}

void describe('engine: wire protocol robustness', () => {
  let mongo: EmbeddedMongo;
  let client: MongoClient;

  before(async () => {
    mongo = await startEmbeddedMongo();
    client = await new MongoClient(mongo.uri).connect();
  });
  after(async () => {
    await client.close();
    await mongo.stop();
  });

  async function assertClosedAfter(payload: Buffer, end = false): Promise<void> {
    const socket = await connect(mongo.port);
    const closed = once(socket, 'close');
    socket.write(payload);
    if (end) socket.end();
    await closed;
    const ping = await client.db('admin').command({ ping: 1 });
    assert.equal(ping.ok, 1, 'other clients keep working');
  }

  void it('executes OP_MSG with document-sequence sections', async () => {
    const socket = await connect(mongo.port);
    socket.write(opMsg({ insert: 'seq', $db: 'wire' }, [['documents', [{ a: 1 }, { a: 2 }]]]));
    const reply = await readReply(socket);
    assert.equal(reply.ok, 1);
    assert.equal(reply.n, 2);
    socket.destroy();
    assert.equal(await client.db('wire').collection('seq').countDocuments(), 2);
  });

  void it('closes a connection that sends a too-small length', async () => {
    await assertClosedAfter(header(8, 2013));
  });

  void it('refuses a message over 48,000,000 bytes', async () => {
    await assertClosedAfter(header(48_000_001, 2013));
  });

  void it('closes a connection whose message body is not valid BSON', async () => {
    const garbage = Buffer.concat([
      Buffer.alloc(4),
      Buffer.from([0]),
      Buffer.from([50, 0, 0, 0, 1, 2, 3, 4, 5]),
    ]);
    await assertClosedAfter(Buffer.concat([header(16 + garbage.length, 2013), garbage]));
  });

  void it('closes a connection that ends in the middle of a message', async () => {
    const full = opMsg({ ping: 1, $db: 'admin' });
    await assertClosedAfter(full.subarray(0, full.length - 5), true);
  });

  void it('closes a connection that uses an unsupported opcode', async () => {
    await assertClosedAfter(Buffer.concat([header(20, 2012), Buffer.alloc(4)]));
  });
});
