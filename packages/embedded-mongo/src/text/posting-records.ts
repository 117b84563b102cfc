import type { Posting } from './inverted-index.js';

/**
 * How snapshots store a text index's postings: records of
 * `[u32 term bytes][term][u32 count][count × u32 document number][count × f64 score]`.
 * A long posting is cut into several records of the same term, so frames stay small.
 */
const RECORD_POSTINGS = 32 * 1024;

/** The records of one term's postings (document numbers ascending, with their scores). */
export function* postingRecords(term: string, docs: number[], scores: number[]): Generator<Buffer> {
  const name = Buffer.from(term, 'utf8');
  for (let from = 0; from < docs.length; from += RECORD_POSTINGS) {
    const count = Math.min(RECORD_POSTINGS, docs.length - from);
    const record = Buffer.allocUnsafe(8 + name.length + count * 12);
    record.writeUInt32LE(name.length, 0);
    name.copy(record, 4);
    let at = 4 + name.length;
    record.writeUInt32LE(count, at);
    at += 4;
    for (let i = from; i < from + count; i++, at += 4) record.writeUInt32LE(docs[i] as number, at);
    for (let i = from; i < from + count; i++, at += 8)
      record.writeDoubleLE(scores[i] as number, at);
    yield record;
  }
}

/** Reads the records in `body` from `from` on, one `Posting` per record. */
export function readPostings(body: Buffer, from: number, into: Posting[]): void {
  for (let pos = from; pos < body.length;) {
    const termBytes = body.readUInt32LE(pos);
    const term = body.toString('utf8', pos + 4, pos + 4 + termBytes);
    pos += 4 + termBytes;
    const count = body.readUInt32LE(pos);
    pos += 4;
    if (pos + count * 12 > body.length)
      throw new Error(`text posting of ${term} runs past its frame`);
    const slots: number[] = [];
    const scores: number[] = [];
    for (let i = 0; i < count; i++, pos += 4) slots.push(body.readUInt32LE(pos));
    for (let i = 0; i < count; i++, pos += 8) scores.push(body.readDoubleLE(pos));
    into.push({ term, slots, scores });
  }
}

/** Sorts `docs` ascending and `scores` along with it. */
export function sortTogether(docs: number[], scores: number[]): void {
  const order = docs.map((_, i) => i).sort((a, b) => (docs[a] as number) - (docs[b] as number));
  const sortedDocs = order.map((i) => docs[i] as number);
  const sortedScores = order.map((i) => scores[i] as number);
  for (let i = 0; i < order.length; i++) {
    docs[i] = sortedDocs[i] as number;
    scores[i] = sortedScores[i] as number;
  }
}
