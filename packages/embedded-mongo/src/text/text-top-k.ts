import { compareValues, isPlainObject } from '../bson-values.js';
import type { Collection } from '../collection.js';
import type { Doc } from '../key-index.js';
import { compileFilter } from '../matcher.js';
import { parseSort, runQuery } from '../query.js';
import { hasTextOperator, isTextScoreMeta } from './text-query.js';

/**
 * The shape of a ranked, keyset-paged text search, answered without mingo:
 * `$match` (with `$text`) → `$project` of top-level fields and one `{$meta: 'textScore'}` →
 * optional `$match` on the projected fields (the cursor) → `$sort` → `$limit`. Every hit is
 * projected into a small object, tested, and kept only while it is among the best `limit`
 * (an ordered insert), instead of copying every hit and sorting them all. Undefined when the
 * pipeline has another shape (it then runs the general way).
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
  const scores = new Map<Doc, number>();
  const hits = runQuery(coll, { filter: match, scores });
  const keep = after ? compileFilter(after) : undefined;
  const order = (a: Doc, b: Doc): number => {
    for (const [f, dir] of sort) {
      const c = compareValues(a[f], b[f]);
      if (c !== 0) return c * dir;
    }
    return 0;
  };
  const best: Doc[] = [];
  for (const doc of hits) {
    const out: Doc = withId ? { _id: doc._id } : {};
    for (const f of fields) if (f !== '_id' && doc[f] !== undefined) out[f] = doc[f];
    out[scoreField] = scores.get(doc) ?? 0;
    if (keep && !keep(out)) continue;
    if (best.length === limit && order(out, best[limit - 1] as Doc) >= 0) continue;
    let lo = 0;
    let hi = best.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (order(best[mid] as Doc, out) <= 0) lo = mid + 1;
      else hi = mid;
    }
    best.splice(lo, 0, out);
    if (best.length > limit) best.pop();
  }
  return { docs: best, rest: pipeline.slice(at + 2) };
}
