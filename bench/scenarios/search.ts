import { ObjectId } from 'mongodb';
import { http } from '../../test/support/http.js';
import { searchText } from '../../src/lib/fold.js';
import type { BenchChild } from '../lib/child.js';
import type { BenchUser, Fixtures } from '../lib/fixtures.js';
import { withCpu, type Measured } from '../lib/measure.js';
import { random, sentence } from '../lib/corpus.js';
import { interleave, median, round } from '../lib/stats.js';
import type { Context, RowResult } from '../lib/types.js';

/**
 * What users search for: a very common word, two common words together, a Turkish word typed
 * without its letters, a mid-frequency tail word, a rare one.
 */
const QUERIES = ['coffee', 'meeting tomorrow', 'gunaydin', 'w2sing', 'wfa0ing'];

export interface SearchCorpus {
  /** In half of the conversations. */
  heavy: BenchUser;
  /** In `conversations / 200` of them (50 of 10,000). */
  light: BenchUser;
  heavyConversations: number;
  lightConversations: number;
  /** A conversation of the heavy user's, for the history-page baseline. */
  historyConversation: string;
}

/**
 * The bulk loader: conversations and messages written straight into the collections in the
 * shapes the repositories store (messages with their `searchText`), 10,000 per `insertMany`,
 * so a million messages load in minutes rather than hours of sends. Messages go round-robin
 * over the conversations, oldest first.
 */
export async function loadSearchCorpus(
  ctx: Context,
  fixtures: Fixtures,
  conversations: number,
  messages: number,
): Promise<SearchCorpus> {
  const [heavy, light] = await fixtures.usersWithTokens(2);
  if (!heavy || !light) throw new Error('no users');
  const db = fixtures.mongo.db;
  const filler = [new ObjectId(), new ObjectId()];
  const lightEvery = Math.max(1, Math.floor(conversations / 50));
  const ids: ObjectId[] = [];
  let heavyConversations = 0;
  let lightConversations = 0;
  const start = Date.now() - messages * 1000;
  for (let from = 0; from < conversations; from += 10_000) {
    const docs = [];
    for (let i = from; i < Math.min(conversations, from + 10_000); i += 1) {
      const participants = [...filler];
      if (i % 2 === 0) {
        participants.push(new ObjectId(heavy.userId));
        heavyConversations += 1;
      }
      if (i % lightEvery === 1 % lightEvery) {
        participants.push(new ObjectId(light.userId));
        lightConversations += 1;
      }
      const _id = new ObjectId();
      ids.push(_id);
      const at = new Date(start);
      docs.push({
        _id,
        type: 'group',
        participants,
        members: participants.map((userId) => ({ userId, role: 'member', joinedAt: at })),
        version: 1,
        name: `group ${i}`,
        createdBy: filler[0],
        lastMessageAt: at,
        createdAt: at,
        updatedAt: at,
      });
    }
    await db.collection('conversations').insertMany(docs, { ordered: false });
  }
  const rnd = random(7);
  const collection = db.collection('messages');
  for (let from = 0; from < messages; from += 10_000) {
    const docs = [];
    for (let i = from; i < Math.min(messages, from + 10_000); i += 1) {
      const content = sentence(rnd);
      const at = new Date(start + i * 1000);
      docs.push({
        _id: ObjectId.createFromTime(Math.floor(at.getTime() / 1000)),
        conversationId: ids[i % ids.length],
        senderId: filler[i % 2],
        content,
        type: 'text',
        searchText: searchText(content),
        createdAt: at,
        updatedAt: at,
      });
    }
    await collection.insertMany(docs, { ordered: false });
    if ((from / 10_000) % 10 === 9) ctx.log(`search: ${from + docs.length} messages loaded`);
  }
  return {
    heavy,
    light,
    heavyConversations,
    lightConversations,
    historyConversation: (ids[0] as ObjectId).toHexString(),
  };
}

interface Latencies {
  ms: number[];
  hits: number;
}

/** `count` requests one after another (a user waiting for each answer); each one's latency. */
async function sequential(url: string, paths: string[], token: string, count: number) {
  const out: Latencies = { ms: [], hits: 0 };
  for (let i = 0; i < count; i += 1) {
    const path = paths[i % paths.length] as string;
    const t0 = performance.now();
    const res = await http<{ items: unknown[] }>(url, 'GET', path, { token });
    out.ms.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
    out.hits += res.body.items.length;
  }
  return out;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/**
 * Search latency for a user in few and in many conversations, against the same run's history
 * page (`GET /api/conversations/:id/messages?limit=20`, the plain indexed read every client
 * makes), both measured the same way: sequential requests, p50 and p99 per request.
 */
export async function searchRows(
  ctx: Context,
  parley: BenchChild,
  corpus: SearchCorpus,
  queriesPerRep: number,
): Promise<RowResult[]> {
  const searchPaths = QUERIES.map(
    (q) => `/api/search/messages?q=${encodeURIComponent(q)}&limit=20`,
  );
  const historyPath = `/api/conversations/${corpus.historyConversation}/messages?limit=20`;
  const pids = { server: parley.pid, engine: ctx.engine.pid };
  const row = async (who: BenchUser, conversations: number, id: string): Promise<RowResult> => {
    await sequential(parley.url, searchPaths, who.token, QUERIES.length * 2);
    await sequential(parley.url, [historyPath], corpus.heavy.token, 10);
    ctx.log(`search ${id}: ${queriesPerRep} queries × ${ctx.profile.reps}, same for history`);
    const runs: { a: Measured<Latencies>[]; b: Measured<Latencies>[] } = await interleave(
      ctx.profile.reps,
      () => withCpu(pids, () => sequential(parley.url, searchPaths, who.token, queriesPerRep)),
      () =>
        withCpu(pids, () =>
          sequential(parley.url, [historyPath], corpus.heavy.token, queriesPerRep),
        ),
    );
    const all = (side: Measured<Latencies>[]) => side.flatMap((s) => s.value.ms);
    const [p50, base50] = [median(all(runs.a)), median(all(runs.b))];
    const cpu = (side: Measured<Latencies>[]) =>
      round(
        median(
          side.map((s) => Object.values(s.cpu).reduce((a, b) => a + b, 0) / s.value.ms.length),
        ),
        3,
      );
    const ratio = p50 / base50;
    return {
      id,
      scenario: `search over ${ctx.profile.searchMessages.toLocaleString('en-US')} messages in ${ctx.profile.searchConversations.toLocaleString('en-US')} conversations, user in ${conversations.toLocaleString('en-US')}: \`GET /api/search/messages\` p50 (limit 20, ${QUERIES.length} queries in turn, one at a time)`,
      unit: 'ms p50',
      parley: round(p50, 2),
      baseline: round(base50, 2),
      ratio: round(ratio, 2),
      ratioNote: 'search p50 ÷ history page p50 (same user session, same run)',
      budget: '≤ 20× history p50',
      met: ratio <= 20,
      samples: {
        parley: runs.a.map((s) => round(median(s.value.ms), 2)),
        baseline: runs.b.map((s) => round(median(s.value.ms), 2)),
      },
      cpuMsPerOp: { parley: cpu(runs.a), baseline: cpu(runs.b), breakdown: {} },
      details: {
        p99Ms: round(percentile(all(runs.a), 99), 2),
        historyP99Ms: round(percentile(all(runs.b), 99), 2),
        hitsPerQuery: round(runs.a.reduce((n, s) => n + s.value.hits, 0) / all(runs.a).length, 1),
        queries: QUERIES,
      },
    };
  };
  return [
    await row(corpus.light, corpus.lightConversations, 'search-few-conversations'),
    await row(corpus.heavy, corpus.heavyConversations, 'search-many-conversations'),
  ];
}
