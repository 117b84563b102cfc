import { compareValues, isPlainObject } from '../bson-values.js';
import type { Collection } from '../collection.js';
import type { Doc } from '../key-index.js';
import { compileFilter } from '../matcher.js';
import { parseSort, textMatches } from '../query.js';
import { extractTextFilter, hasTextOperator, isTextScoreMeta } from './text-query.js';

/**
 * The shape of a ranked, keyset-paged text search, answered without mingo:
 * `$match` (with `$text`) → `$project` of top-level fields and one `{$meta: 'textScore'}` →
 * optional `$match` on the projected fields (the cursor) → `$sort` → `$limit`. Each hit is
 * projected into a small object, tested, and kept only while it is among the best `limit`
 * (an ordered insert), instead of copying every hit and sorting them all; when the sort starts
 * with the score, a candidate that cannot beat the worst kept hit is dropped before the rest of
 * the filter and the text checks run on it. Undefined when the pipeline has another shape (it
 * then runs the general way).
 */
export function textTopK(
  coll: Collection | undefined,
  pipeline: Doc[],
): { docs: Doc[]; rest: Doc[] } | undefined {
  const match = pipeline[0]?.$match;
  const projection = pipeline[1]?.$project;
  if (!isPlainObject(match) || !hasTextOperator(match) || !isPlainObject(projection)) return;
  const fields: string[] = [];
  let scoreField: string | undefined;
  let withId = true;
  for (const [field, v] of Object.entries(projection)) {
    if (field.includes('.') || field.startsWith('$')) return;
    if (isTextScoreMeta(v)) {
      if (scoreField !== undefined) return;
      scoreField = field;
    } else if (field === '_id' && (v === 0 || v === false)) withId = false;
    else if (v === 1 || v === true) fields.push(field);
    else return;
  }
  if (scoreField === undefined) return;
  let at = 2;
  const after = isPlainObject(pipeline[at]?.$match) ? (pipeline[at++]?.$match as Doc) : undefined;
  const sortStage = pipeline[at]?.$sort;
  const limit = pipeline[at + 1]?.$limit;
  if (!isPlainObject(sortStage) || typeof limit !== 'number' || !(limit > 0)) return;
  const sort = parseSort(sortStage);
  if (sort.some(([f]) => f.includes('.'))) return;
  const text = extractTextFilter(match);
  if (!coll || !text) return { docs: [], rest: pipeline.slice(at + 2) };
  const keep = after ? compileFilter(after) : undefined;
  const order = (a: Doc, b: Doc): number => {
    for (const [f, dir] of sort) {
      const c = compareValues(a[f], b[f]);
      if (c !== 0) return c * dir;
    }
    return 0;
  };
  const best: Doc[] = [];
  // Sorted by score, descending, first: once `limit` hits are kept, a candidate scoring below
  // the worst of them is never kept, so it is dropped before the filter and text checks.
  const scoreFirst = sort[0]?.[0] === scoreField && sort[0][1] === -1;
  const worthy = scoreFirst
    ? (score: number) =>
        best.length < limit || score >= ((best[limit - 1] as Doc)[scoreField] as number)
    : undefined;
  textMatches(
    coll,
    text,
    (doc, score) => {
      const out: Doc = withId ? { _id: doc._id } : {};
      for (const f of fields) if (f !== '_id' && doc[f] !== undefined) out[f] = doc[f];
      out[scoreField] = score;
      if (keep && !keep(out)) return;
      if (best.length === limit && order(out, best[limit - 1] as Doc) >= 0) return;
      let lo = 0;
      let hi = best.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (order(best[mid] as Doc, out) <= 0) lo = mid + 1;
        else hi = mid;
      }
      best.splice(lo, 0, out);
      if (best.length > limit) best.pop();
    },
    worthy,
  );
  return { docs: best, rest: pipeline.slice(at + 2) };
}
