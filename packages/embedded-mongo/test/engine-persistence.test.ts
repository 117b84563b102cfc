import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { MongoClient, MongoServerError } from 'mongodb';
import { startEmbeddedMongo } from '../src/index.js';

void describe('engine: persistence', () => {
  void it('keeps documents and indexes across a restart', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'embedded-mongo-'));
    try {
      const first = await startEmbeddedMongo({ dataDir });
      const c1 = await new MongoClient(first.uri).connect();
      const users = c1.db('persist').collection('users');
      await users.createIndex({ email: 1 }, { unique: true });
      await users.insertMany([{ email: 'a@x', at: new Date(5) }, { email: 'b@x' }]);
      await c1.db('persist').collection('gone').insertOne({ x: 1 });
      await c1.db('persist').collection('gone').drop();
      await c1.close();
      await first.stop();
      await first.stop();

      const second = await startEmbeddedMongo({ dataDir });
      const c2 = await new MongoClient(second.uri).connect();
      const again = c2.db('persist').collection('users');
      const docs = await again
        .find({}, { projection: { _id: 0 } })
        .sort({ email: 1 })
        .toArray();
      assert.deepEqual(docs, [{ email: 'a@x', at: new Date(5) }, { email: 'b@x' }]);
      const err = await again.insertOne({ email: 'a@x' }).catch((e: unknown) => e);
      assert.ok(err instanceof MongoServerError && err.code === 11000);
      const names = (await c2.db('persist').listCollections({}, { nameOnly: true }).toArray()).map(
        (c) => c.name,
      );
      assert.deepEqual(names, ['users']);
      await c2.close();
      await second.stop();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
