import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BSON } from 'bson';
import { MongoClient, ObjectId } from 'mongodb';
import { startEmbeddedMongo } from '@parley/embedded-mongo';
import { searchText } from '../src/lib/fold.js';
import { MESSAGE_INDEXES } from '../src/modules/messages/messages.repository.js';
import { MESSAGE_SEARCH_INDEX } from '../src/modules/search/mongo-search.backend.js';
import { messageDoc } from './embedded-mongo.js';
import { random, sentence } from './lib/corpus.js';
import { interleave, median, round } from './lib/stats.js';
import type { RowResult } from './lib/types.js';

/**
 * The embedded engine's durability costs, each against a same-run baseline:
 * - journaled insertOne throughput (WRITERS concurrent writers) ÷ the memory-only engine's;
 * - restart (snapshot load + journal replay) of N messages with the app's indexes (its text
 *   index included, over search-bench sentences of 4–16 words), after
 *   a stop that, like a crash, leaves the journal tail since the last snapshot; the baseline
 *   is the bare BSON decode of the same documents, the floor of any BSON-based format.
 */
const WRITERS = Number(process.env.BENCH_WRITERS ?? 32);

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'parley-bench-durability-'));
}

async function insertOnePerSec(dataDir: string | undefined, total: number): Promise<number> {
  const engine = await startEmbeddedMongo({ dataDir });
  const client = await new MongoClient(engine.uri, { maxPoolSize: WRITERS * 2 }).connect();
  try {
    const coll = client.db('bench_durability').collection('kv');
    let next = 0;
    const run = async (n: number): Promise<number> => {
      const end = next + n;
      const started = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: WRITERS }, async () => {
          while (next < end) {
            const i = next++;
            await coll.insertOne({ _id: new ObjectId(), n: i, text: 'hello world' });
          }
        }),
      );
      return n / (Number(process.hrtime.bigint() - started) / 1e9);
    };
    await run(Math.min(2_000, total)); // warm-up
    return await run(total);
  } finally {
    await client.close();
    await engine.stop();
  }
}

export async function journaledInsertRow(quick: boolean): Promise<RowResult> {
  const total = quick ? 5_000 : 20_000;
  const dirs: string[] = [];
  try {
    const samples = await interleave(
      quick ? 2 : 3,
      async () => {
        const dir = await tempDir();
        dirs.push(dir);
        return insertOnePerSec(dir, total);
      },
      () => insertOnePerSec(undefined, total),
    );
    const journaled = median(samples.a);
    const memory = median(samples.b);
    const ratio = journaled / memory;
    return {
      id: 'engine-journaled-insert',
      scenario: `Embedded engine \`insertOne\`, ${WRITERS} concurrent writers: journaled (fdatasync before each reply, group commit) vs memory-only`,
      unit: 'ops/s',
      parley: round(journaled, 0),
      baseline: round(memory, 0),
      ratio: round(ratio, 3),
      ratioNote: 'journaled ops/s ÷ memory-only ops/s',
      budget: '≥ 0.5× memory-only',
      met: ratio >= 0.5,
      samples: {
        parley: samples.a.map((x) => round(x, 0)),
        baseline: samples.b.map((x) => round(x, 0)),
      },
    };
  } finally {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Seeds `count` messages (with the `searchText` the app stores) through the driver, insertMany
 * of 1,000, with the app's indexes and its text index, then stops the engine.
 */
async function seedMessages(
  dataDir: string,
  count: number,
  snapshotJournalBytes?: number,
): Promise<void> {
  const engine = await startEmbeddedMongo({ dataDir, snapshotJournalBytes });
  const client = await new MongoClient(engine.uri).connect();
  try {
    const messages = client.db('bench_restart').collection('messages');
    const { key, ...textOptions } = MESSAGE_SEARCH_INDEX;
    await messages.createIndexes([...MESSAGE_INDEXES, { key, ...textOptions }]);
    const rnd = random(11);
    const conversations = Array.from({ length: 2_000 }, () => new ObjectId());
    const users = Array.from({ length: 1_000 }, () => new ObjectId());
    const at = new Date();
    for (let start = 0; start < count; start += 1_000) {
      const docs = Array.from({ length: Math.min(1_000, count - start) }, (_, j) => {
        const i = start + j;
        const content = sentence(rnd);
        return {
          ...messageDoc(conversations[i % 2_000] as ObjectId, users[i % 1_000] as ObjectId, i, at),
          content,
          searchText: searchText(content),
        };
      });
      await messages.insertMany(docs);
    }
  } finally {
    await client.close();
    await engine.stop();
  }
}

interface Restart {
  ms: number;
  /** CPU time of this process meanwhile (the engine's worker thread included). */
  cpuMs: number;
  count: number;
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/** Starts the engine on `dataDir` (recovery included) and checks every message came back. */
async function restart(dataDir: string): Promise<Restart> {
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const engine = await startEmbeddedMongo({ dataDir });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const cpuMs = cpuMsSince(cpu);
  const client = await new MongoClient(engine.uri).connect();
  try {
    const count = await client.db('bench_restart').collection('messages').countDocuments();
    return { ms, cpuMs, count };
  } finally {
    await client.close();
    await engine.stop();
  }
}

/** Bare decode of the snapshot's documents: read the file and BSON-deserialize every document. */
async function bareDecode(dataDir: string): Promise<{ ms: number; cpuMs: number }> {
  const snap = (await readdir(dataDir))
    .filter((f) => f.endsWith('.snap'))
    .sort()
    .at(-1);
  if (!snap) return { ms: Number.NaN, cpuMs: Number.NaN };
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const bytes = await readFile(path.join(dataDir, snap));
  let docs = 0;
  // Frames: [u32 length][u32 crc][kind][payload]; kind 2 holds consecutive BSON documents.
  for (let pos = 0; pos < bytes.length;) {
    const length = bytes.readUInt32LE(pos);
    const body = bytes.subarray(pos + 9, pos + 8 + length);
    if (bytes[pos + 8] === 2) {
      for (let p = 0; p < body.length;) {
        const size = body.readInt32LE(p);
        BSON.deserialize(body.subarray(p, p + size));
        p += size;
        docs++;
      }
    }
    pos += 8 + length;
  }
  if (docs === 0) return { ms: Number.NaN, cpuMs: Number.NaN };
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, cpuMs: cpuMsSince(cpu) };
}

export async function restartRows(quick: boolean, log: (m: string) => void): Promise<RowResult[]> {
  const count = quick ? 100_000 : 500_000;
  const rows: RowResult[] = [];
  const snapshotted = await tempDir();
  const journalOnly = await tempDir();
  try {
    log(`durability: seeding ${count} messages (default snapshots)`);
    await seedMessages(snapshotted, count);
    const decode = await bareDecode(snapshotted);
    const decodeMs = decode.ms;
    const a = await restart(snapshotted);
    const b = await restart(snapshotted);
    const ms = median([a.ms, b.ms]);
    rows.push({
      id: 'engine-restart',
      scenario: `Embedded engine restart with ${count.toLocaleString('en-US')} messages and the app's indexes, its text index included: newest snapshot + journal since, after a clean stop (a kill -9 leaves the same kind of files with a longer journal tail); baseline = bare BSON decode of the snapshot's documents`,
      unit: 'ms',
      parley: round(ms, 0),
      baseline: round(decodeMs, 0),
      ratio: round(ms / decodeMs, 2),
      ratioNote: 'restart ms ÷ bare decode ms',
      budget: '≤ 10 s',
      met: ms <= 10_000 && a.count === count && b.count === count,
      samples: { parley: [a.ms, b.ms].map((x) => round(x, 0)), baseline: [round(decodeMs, 0)] },
      details: {
        documentsBack: a.count,
        // Wall time on a shared machine moves with its load; CPU time much less.
        cpuMs: {
          restart: [a.cpuMs, b.cpuMs].map((x) => round(x, 0)),
          bareDecode: round(decode.cpuMs, 0),
        },
        cpuRatio: round(median([a.cpuMs, b.cpuMs]) / decode.cpuMs, 2),
      },
    });
    log(`durability: seeding ${count} messages with no snapshot (journal only)`);
    await seedMessages(journalOnly, count, Number.MAX_SAFE_INTEGER);
    const j = await restart(journalOnly);
    rows.push({
      id: 'engine-restart-journal-only',
      scenario: `Embedded engine restart with ${count.toLocaleString('en-US')} messages all in the journal (no snapshot yet: the worst case); baseline = the snapshot restart above`,
      unit: 'ms',
      parley: round(j.ms, 0),
      baseline: round(ms, 0),
      ratio: round(j.ms / ms, 2),
      ratioNote: 'journal-only restart ms ÷ snapshot restart ms',
      budget: '≤ 10 s',
      met: j.ms <= 10_000 && j.count === count,
      samples: { parley: [round(j.ms, 0)], baseline: [round(ms, 0)] },
      details: { documentsBack: j.count, cpuMs: round(j.cpuMs, 0) },
    });
  } finally {
    await rm(snapshotted, { recursive: true, force: true });
    await rm(journalOnly, { recursive: true, force: true });
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  const log = (m: string): void => void process.stderr.write(`${m}\n`);
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
  (async () => {
    const rows: RowResult[] = [];
    if (!only || only === 'insert') rows.push(await journaledInsertRow(quick));
    if (!only || only === 'restart') rows.push(...(await restartRows(quick, log)));
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  })().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
