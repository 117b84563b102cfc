import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongoClient, type Collection, type Document } from 'mongodb';
import { startEmbeddedMongo, type EmbeddedMongo } from '../src/index.js';

interface Message {
  _id: number;
  conv: number;
  at: Date;
  text: string;
  deleted?: boolean;
}

/** A result row: what the search projects. */
interface Row {
  _id: number;
  conv: number;
  at: Date;
  score: number;
}

const TOTAL = 6_000;
const CONVERSATIONS = 200;
const WORDS = ['coffee', 'meeting', 'tomorrow', 'lunch', 'zebra', 'later', 'call', 'office'];

/** Deterministic pseudo-random numbers (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The ranked, keyset-paged search an app sends (text-top-k.ts answers it: the rarest term's
 * postings walked, the others galloped through, candidates that cannot make the page skipped
 * before the filter and the phrase check) against the answer worked out here from the
 * documents themselves.
 */
void describe('engine: ranked text search pages', () => {
  let mongo: EmbeddedMongo;
  let client: MongoClient;
  let messages: Collection<Message>;
  const docs: Message[] = [];
  const scoreOf = new Map<string, Map<number, number>>();

  before(async () => {
    mongo = await startEmbeddedMongo();
    client = await new MongoClient(mongo.uri).connect();
    messages = client.db('text_top_k').collection<Message>('messages');
    const rnd = random(11);
    for (let i = 0; i < TOTAL; i++) {
      const words = Array.from(
        { length: 1 + Math.floor(rnd() * 6) },
        () => WORDS[Math.floor(rnd() * rnd() * WORDS.length)] as string,
      );
      // Some texts hold a word only glued to punctuation: the term, not the whole-word phrase.
      const text = i % 13 === 0 ? ` ${words.join(',')}, ` : ` ${words.join(' ')} `;
      docs.push({
        _id: i,
        conv: i % CONVERSATIONS,
        // Ties on time too, so the id decides some orders.
        at: new Date(Date.UTC(2026, 0, 1) + Math.floor(i / 3) * 1000),
        text,
        ...(i % 97 === 0 ? { deleted: true } : {}),
      });
    }
    await messages.insertMany(docs);
    await messages.createIndex({ conv: 1, _id: -1 });
    await messages.createIndex({ text: 'text' }, { default_language: 'none' });
  });
  after(async () => {
    await client.close();
    await mongo.stop();
  });

  /** Each document's score for `search`, from a plain `$text` find. */
  async function scores(search: string): Promise<Map<number, number>> {
    let found = scoreOf.get(search);
    if (!found) {
      const rows = await messages
        .find({ $text: { $search: search } }, { projection: { score: { $meta: 'textScore' } } })
        .toArray();
      found = new Map(rows.map((r) => [r._id, (r as Document).score as number]));
      scoreOf.set(search, found);
    }
    return found;
  }

  async function expected(words: string[], convs: number[]): Promise<Row[]> {
    const search = words.map((w) => `" ${w} "`).join(' ');
    const score = await scores(search);
    return docs
      .filter(
        (d) =>
          convs.includes(d.conv) && !d.deleted && words.every((w) => d.text.includes(` ${w} `)),
      )
      .map((d) => ({
        _id: d._id,
        conv: d.conv,
        at: d.at,
        score: score.get(d._id) ?? Number.NaN,
      }))
      .sort((a, b) => b.score - a.score || b.at.getTime() - a.at.getTime() || b._id - a._id);
  }

  async function page(words: string[], convs: number[], limit: number, last?: Row) {
    const afterLast = last
      ? [
          {
            $match: {
              $or: [
                { score: { $lt: last.score } },
                { score: last.score, at: { $lt: last.at } },
                { score: last.score, at: last.at, _id: { $lt: last._id } },
              ],
            },
          },
        ]
      : [];
    return messages
      .aggregate<Row>([
        {
          $match: {
            $text: { $search: words.map((w) => `" ${w} "`).join(' ') },
            conv: convs.length === 1 ? convs[0] : { $in: convs },
            deleted: { $exists: false },
          },
        },
        { $project: { conv: 1, at: 1, score: { $meta: 'textScore' } } },
        ...afterLast,
        { $sort: { score: -1, at: -1, _id: -1 } },
        { $limit: limit },
      ])
      .toArray();
  }

  const queries = [['coffee'], ['meeting', 'tomorrow'], ['zebra'], ['lunch', 'call', 'coffee']];
  const conversations: Record<string, number[]> = {
    'one conversation': [3],
    'a few': [3, 7, 150],
    many: Array.from({ length: 150 }, (_, i) => i),
  };

  for (const [name, convs] of Object.entries(conversations)) {
    void it(`pages of 7 are the best matches in order, without repeats or gaps: ${name}`, async () => {
      for (const words of queries) {
        const want = await expected(words, convs);
        const got: Row[] = [];
        let last: Row | undefined;
        for (;;) {
          const rows = await page(words, convs, 7, last);
          got.push(...rows);
          last = rows.at(-1);
          if (rows.length < 7) break;
        }
        assert.ok(want.length > 0, `${words.join(' ')} finds something`);
        assert.deepEqual(got, want, words.join(' '));
      }
    });
  }
});
