import { compareValues, pathValues } from './bson-values.js';
import type { Collection } from './collection.js';
import { MongoCommandError } from './errors.js';
import type { Doc } from './key-index.js';
import { compileFilter, compileQuery } from './matcher.js';
import { planQuery, type SortSpec } from './planner.js';

export interface FindOptions {
  filter: Doc;
  sort?: SortSpec;
  skip?: number;
  /** 0 means no limit. */
  limit?: number;
}

/** Turns `{a: 1, b: -1}` into an ordered list; `$natural` and meta sorts are ignored. */
export function parseSort(sort: unknown): SortSpec {
  if (sort === undefined || sort === null) return [];
  if (typeof sort !== 'object' || Array.isArray(sort)) {
    throw new MongoCommandError('TypeMismatch', 'Expected field sort to be of type object');
  }
  const out: SortSpec = [];
  for (const [field, dir] of Object.entries(sort as Doc)) {
    if (field === '$natural') continue;
    if (dir !== 1 && dir !== -1) {
      throw new MongoCommandError(
        'BadValue',
        `$sort key ordering must be 1 (for ascending) or -1 (for descending)`,
      );
    }
    out.push([field, dir]);
  }
  return out;
}

/** MongoDB sorts arrays by their smallest element ascending and largest descending. */
function sortValue(doc: Doc, field: string, dir: 1 | -1): unknown {
  const values = pathValues(doc, field);
  let best = values[0];
  for (let i = 1; i < values.length; i++) {
    const c = compareValues(values[i], best);
    if (c * dir < 0) best = values[i];
  }
  return best;
}

export function sortDocs(docs: Doc[], sort: SortSpec): Doc[] {
  if (sort.length === 0) return docs;
  const keyed = docs.map((doc) => ({ doc, keys: sort.map(([f, d]) => sortValue(doc, f, d)) }));
  keyed.sort((a, b) => {
    for (let i = 0; i < sort.length; i++) {
      const c = compareValues(a.keys[i], b.keys[i]);
      if (c !== 0) return c * (sort[i] as [string, 1 | -1])[1];
    }
    return 0;
  });
  return keyed.map((k) => k.doc);
}

/** Runs a query through the best index plan, then sort/skip/limit; returns stored documents. */
export function runQuery(coll: Collection | undefined, opts: FindOptions): Doc[] {
  if (!coll) return [];
  const sort = opts.sort ?? [];
  const skip = opts.skip ?? 0;
  const limit = opts.limit ?? 0;
  const plan = planQuery(coll, opts.filter, sort);
  const matches = plan.covered ? () => true : compileFilter(opts.filter);
  const wanted = plan.sorted && limit > 0 ? skip + limit : Infinity;
  const out: Doc[] = [];
  for (const doc of plan.candidates) {
    coll.stats.scannedObjects++;
    if (!matches(doc)) continue;
    out.push(doc);
    if (out.length >= wanted) break;
  }
  const ordered = plan.sorted ? out : sortDocs(out, sort);
  if (skip === 0 && (limit === 0 || ordered.length <= limit)) return ordered;
  return ordered.slice(skip, limit > 0 ? skip + limit : undefined);
}

/** Applies a find-style projection (mingo handles inclusion, exclusion, $slice, $elemMatch). */
export function project(docs: Doc[], projection: Doc | undefined, filter: Doc): Doc[] {
  if (!projection || Object.keys(projection).length === 0) return docs;
  const positional = Object.keys(projection).some((k) => k.endsWith('.$'));
  return compileQuery(positional ? filter : {}, true)
    .find<Doc>(docs, projection)
    .all();
}
