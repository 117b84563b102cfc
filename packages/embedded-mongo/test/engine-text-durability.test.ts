import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { MongoClient, type Collection } from 'mongodb';
import { startEmbeddedMongo } from '../src/index.js';
import { startEngineProcess } from './support.js';

interface Message {
  _id: string;
  n: number;
  searchText?: string;
  seen?: boolean;
}

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const WORDS = Array.from({ length: 24 }, (_, i) => `w${i}x`);
/** A message's words: a few of WORDS, some repeated (so scores differ). */
function words(seed: number): string {
  const n = 2 + (seed % 6);
  return Array.from({ length: n }, (_, j) => WORDS[(seed * 13 + j * j * 5) % WORDS.length]).join(
    ' ',
  );
}

async function files(dir: string, pattern: RegExp): Promise<string[]> {
  return (await readdir(dir)).filter((f) => pattern.test(f)).sort();
}

const generation = (file: string): number => Number(/\d+/.exec(file)?.[0] ?? 0);

/** Each word's hits as `_id → textScore`, ids sorted. */
async function searchAll(
  messages: Collection<Message>,
): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  for (const word of WORDS) {
    const hits = await messages
      .find<Message & { score: number }>(
        { $text: { $search: word } },
        { projection: { score: { $meta: 'textScore' } } },
      )
      .toArray();
    hits.sort((a, b) => (a._id < b._id ? -1 : 1));
    out[word] = Object.fromEntries(hits.map((h) => [h._id, h.score]));
  }
  return out;
}

/** What the acknowledged writes leave: each word's documents, ids sorted. */
function expected(model: Map<string, string | undefined>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const word of WORDS) {
    out[word] = [...model]
      .filter(([, text]) => text?.split(' ').includes(word))
      .map(([id]) => id)
      .sort();
  }
  return out;
}

void describe('engine: text index durability', () => {
  void it(
    'after a SIGKILL following a snapshot and more writes, $text finds exactly the acknowledged documents',
    { timeout: 120_000 },
    async () => {
      const dataDir = await mkdtemp(path.join(tmpdir(), 'embedded-text-durability-'));
      dirs.push(dataDir);
      const engine = await startEngineProcess(dataDir, 200 * 1024);
      const client = await new MongoClient(engine.uri, { retryWrites: false }).connect();
      const model = new Map<string, string | undefined>();
      let before: Record<string, Record<string, number>>;
      try {
        const messages = client.db('t').collection<Message>('messages');
        // The app's text index on messages (src/modules/search/mongo-search.backend.ts).
        await messages.createIndex(
          { searchText: 'text' },
          { name: 'message_search', default_language: 'none' },
        );
        // Until a snapshot is on disk: batches in sequence, so few land after it.
        let n = 0;
        while ((await files(dataDir, /^snapshot-\d+\.snap$/)).length === 0) {
          const batch = Array.from({ length: 100 }, () => {
            const i = n++;
            return { _id: `m${String(i).padStart(5, '0')}`, n: i, searchText: words(i) };
          });
          await messages.insertMany(batch);
          for (const m of batch) model.set(m._id, m.searchText);
        }
        const [snapshot] = await files(dataDir, /^snapshot-\d+\.snap$/);
        // After the snapshot, from 8 concurrent writers: text changed, text removed, other
        // fields changed, documents deleted, documents added. Each acknowledged before the kill.
        const ids = [...model.keys()];
        await Promise.all(
          Array.from({ length: 8 }, async (_, w) => {
            for (let k = w; k < 640; k += 8) {
              const id = ids[(k * 37) % ids.length] as string;
              if (!model.has(id)) continue;
              switch (k % 5) {
                case 0:
                  await messages.updateOne({ _id: id }, { $set: { searchText: words(k + 7) } });
                  model.set(id, words(k + 7));
                  break;
                case 1:
                  await messages.updateOne({ _id: id }, { $unset: { searchText: '' } });
                  model.set(id, undefined);
                  break;
                case 2:
                  await messages.updateOne({ _id: id }, { $set: { seen: true } });
                  break;
                case 3:
                  await messages.deleteOne({ _id: id });
                  model.delete(id);
                  break;
                default: {
                  const doc = { _id: `late${k}`, n: -k, searchText: words(k * 3) };
                  await messages.insertOne(doc);
                  model.set(doc._id, doc.searchText);
                }
              }
            }
          }),
        );
        before = await searchAll(messages);
        // The kill leaves exactly that snapshot and a journal after it holding those writes.
        assert.deepEqual(await files(dataDir, /^snapshot-\d+\.snap$/), [snapshot]);
        const journals = await files(dataDir, /^journal-\d+\.wal$/);
        const tail = journals.filter((j) => generation(j) >= generation(snapshot as string));
        const tailBytes = await Promise.all(
          tail.map(async (j) => (await stat(path.join(dataDir, j))).size),
        );
        assert.ok(
          tailBytes.some((size) => size > 0),
          'the writes after the snapshot are in its journal',
        );
      } finally {
        engine.child.kill('SIGKILL');
        await engine.exited;
        await client.close(true);
      }
      assert.deepEqual(
        Object.fromEntries(Object.entries(before).map(([w, hits]) => [w, Object.keys(hits)])),
        expected(model),
        'before the kill, $text matched the acknowledged writes',
      );

      const restarted = await startEmbeddedMongo({ dataDir, thread: 'inline' });
      const again = await new MongoClient(restarted.uri).connect();
      try {
        const messages = again.db('t').collection<Message>('messages');
        assert.deepEqual(await searchAll(messages), before, 'same hits, same scores');
        // The recovered index keeps following writes.
        await messages.insertOne({ _id: 'after', n: 0, searchText: 'w0x fresh' });
        await messages.deleteOne({ _id: 'm00000' });
        const hits = await messages.find({ $text: { $search: 'w0x' } }).toArray();
        assert.ok(hits.some((h) => h._id === 'after'));
        assert.ok(!hits.some((h) => h._id === 'm00000'));
      } finally {
        await again.close();
        await restarted.stop();
      }
    },
  );
});
