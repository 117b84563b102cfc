import { BSON } from 'bson';
import { ObjectId, type Document as Doc } from 'mongodb';
import { executeCommand, Store } from '@parley/embedded-mongo/internals';
import { silentLogger } from '../src/logger.js';
import { random } from './lib/corpus.js';

/**
 * Text search in the embedded engine, engine only (BSON-decode the command, execute, encode the
 * reply; no driver, socket or thread): building a text index over message-like documents
 * (µs per document; what a restart pays for documents changed since the snapshot), inserting
 * with the index, and `$text` query latency against a regex scan of the same collection in the
 * same run. Times are CPU time of this process (user + system), in µs.
 */

const COMMON = `hello thanks meeting tomorrow coffee lunch project update call later tonight
  please review message sending running photos weekend travel istanbul flight ticket office
  günaydın teşekkürler görüşürüz yarın toplantı kahve akşam`.split(/\s+/);

/** Message bodies of 4–16 words: Zipf-like picks from common words and a 20,000-word tail. */
function corpus(n: number): string[] {
  const rnd = random(42);
  const tail = Array.from({ length: 20_000 }, (_, i) => `w${i.toString(36)}ing`);
  const word = () => {
    const r = rnd();
    if (r < 0.5) return COMMON[Math.floor(rnd() * rnd() * COMMON.length)] as string;
    return tail[Math.floor(rnd() * rnd() * tail.length)] as string;
  };
  // Every 10,000th message mentions a zebra: the rare-term query finds n / 10,000 documents.
  return Array.from({ length: n }, (_, i) =>
    [...Array.from({ length: 4 + Math.floor(rnd() * 13) }, word), i % 10_000 === 0 ? 'zebras' : '']
      .join(' ')
      .trim(),
  );
}

export function textSearchBench(opts: { docs: number }): Record<string, number> {
  const store = new Store();
  const run = (cmd: Doc): Doc => {
    const reply = executeCommand({
      store,
      db: 'bench',
      cmd: BSON.deserialize(BSON.serialize(cmd)),
      connectionId: 1,
      logger: silentLogger,
    });
    if (reply.ok !== 1 || reply.writeErrors) throw new Error(JSON.stringify(reply));
    BSON.serialize(reply);
    return reply;
  };
  // CPU time (µs), not wall time: the figures stay comparable on a machine shared with others.
  const time = (fn: () => void): number => {
    const started = process.cpuUsage();
    fn();
    const used = process.cpuUsage(started);
    return used.user + used.system;
  };
  const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;
  const bodies = corpus(opts.docs);
  const docs = bodies.map((content, i) => ({
    _id: new ObjectId(),
    conversationId: i % 1_000,
    content,
    createdAt: new Date(),
  }));
  for (let start = 0; start < docs.length; start += 1_000) {
    run({ insert: 'messages', documents: docs.slice(start, start + 1_000) });
  }
  const out: Record<string, number> = { textDocs: opts.docs };
  // Same-run baseline: a plain single-field index over the same documents.
  const plainUs = time(() =>
    run({ createIndexes: 'messages', indexes: [{ key: { createdAt: 1 }, name: 'createdAt_1' }] }),
  );
  const textUs = time(() =>
    run({ createIndexes: 'messages', indexes: [{ key: { content: 'text' }, name: 'text' }] }),
  );
  out.textIndexBuildUsPerDoc = round(textUs / opts.docs, 2);
  out.plainIndexBuildUsPerDoc = round(plainUs / opts.docs, 2);
  out.textBuildVsPlainIndex = round(textUs / plainUs, 2);
  out.textBuild500kDocsSeconds = round((textUs / opts.docs) * 0.5, 2);

  const extra = corpus(opts.docs + 5_000).slice(opts.docs);
  const insertUs = time(() => {
    for (const content of extra) {
      run({
        insert: 'messages',
        documents: [{ _id: new ObjectId(), content, createdAt: new Date() }],
      });
    }
  });
  out.insertOneWithTextIndexUs = round(insertUs / extra.length);

  const query = (filter: Doc, n: number, sort?: Doc): number =>
    round(
      time(() => {
        for (let i = 0; i < n; i++) {
          run({ find: 'messages', filter, sort, limit: 20, projection: { content: 1 } });
        }
      }) / n,
    );
  const score = { score: { $meta: 'textScore' } };
  out.textQueryRareTermUs = query({ $text: { $search: 'zebra' } }, 200, score);
  out.textQueryCommonTermUs = query({ $text: { $search: 'coffee' } }, 20, score);
  out.textQueryTwoTermsUs = query({ $text: { $search: 'istanbul flight' } }, 20, score);
  out.textQueryPhraseUs = query({ $text: { $search: '"coffee tomorrow"' } }, 20);
  out.regexScanRareTermUs = query({ content: { $regex: '\\bzebras?\\b', $options: 'i' } }, 5);
  out.textVsRegexRareTermSpeedup = round(out.regexScanRareTermUs / out.textQueryRareTermUs);
  return out;
}
