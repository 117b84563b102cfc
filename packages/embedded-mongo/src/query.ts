import { compareValues, pathValues } from './bson-values.js';
import type { Collection } from './collection.js';
import { MongoCommandError } from './errors.js';
import type { Doc } from './key-index.js';
import { compileFilter, compileQuery } from './matcher.js';
import { planQuery, type SortSpec } from './planner.js';
import {
  checkTextPrefix,
  extractTextFilter,
  isTextScoreMeta,
  textIndexRequired,
  textScoreUnavailable,
  type TextFilter,
} from './text/text-query.js';
import type { TakeHit, TextHits } from './text/text-index.js';

/** Sort key standing for `{ $meta: 'textScore' }` (always descending, as in MongoDB). */
export const TEXT_SCORE = '$meta:textScore';

export interface FindOptions {
  filter: Doc;
  sort?: SortSpec;
  skip?: number;
  /** 0 means no limit. */
  limit?: number;
  /** Filled with each returned document's text score when the filter has `$text`. */
  scores?: Map<Doc, number>;
}

/** Turns `{a: 1, b: -1}` into an ordered list; `$natural` is ignored, a textScore `$meta` kept. */
export function parseSort(sort: unknown): SortSpec {
  if (sort === undefined || sort === null) return [];
  if (typeof sort !== 'object' || Array.isArray(sort)) {
    throw new MongoCommandError('TypeMismatch', 'Expected field sort to be of type object');
  }
  const out: SortSpec = [];
  for (const [field, dir] of Object.entries(sort as Doc)) {
    if (field === '$natural') continue;
    if (isTextScoreMeta(dir)) {
      out.push([TEXT_SCORE, -1]);
      continue;
    }
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
function sortValue(doc: Doc, field: string, dir: 1 | -1, scores?: Map<Doc, number>): unknown {
  if (field === TEXT_SCORE) return scores?.get(doc) ?? 0;
  const values = pathValues(doc, field);
  let best = values[0];
  for (let i = 1; i < values.length; i++) {
    const c = compareValues(values[i], best);
    if (c * dir < 0) best = values[i];
  }
  return best;
}

export function sortDocs(docs: Doc[], sort: SortSpec, scores?: Map<Doc, number>): Doc[] {
  if (sort.length === 0) return docs;
  const keyed = docs.map((doc) => ({
    doc,
    keys: sort.map(([f, d]) => sortValue(doc, f, d, scores)),
  }));
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
  const text = extractTextFilter(opts.filter);
  if (text) return runTextQuery(coll, opts, text);
  if (opts.sort?.some(([f]) => f === TEXT_SCORE)) throw textScoreUnavailable();
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

/**
 * Calls `take` with each document matching a `$text` filter and its score, in text index order.
 * Candidates and scores come from the text index (no scan); `worthy` (given a score: can a hit
 * with it still matter to the caller?) and then the rest of the filter are checked on each
 * candidate before its text is, cheapest first.
 */
export function textMatches(
  coll: Collection,
  text: TextFilter,
  take: TakeHit,
  worthy?: (score: number) => boolean,
): void {
  const index = coll.textIndex;
  if (!index) throw textIndexRequired();
  checkTextPrefix(index, text.rest);
  const matches = compileFilter(text.rest);
  index.prepare(text.query).all(take, (doc, score) => {
    if (worthy && !worthy(score)) return false;
    coll.stats.scannedObjects++;
    return matches(doc);
  });
}

/**
 * `$text` queries (`textMatches`), then sort/skip/limit.
 */
function runTextQuery(coll: Collection | undefined, opts: FindOptions, text: TextFilter): Doc[] {
  if (!coll) return [];
  const hits: TextHits = { docs: [], scores: [] };
  textMatches(coll, text, (doc, score) => {
    hits.docs.push(doc);
    hits.scores.push(score);
  });
  const sort = opts.sort ?? [];
  const skip = opts.skip ?? 0;
  const limit = opts.limit ?? 0;
  const wanted = sort.length === 0 && limit > 0 ? skip + limit : Infinity;
  let order: number[] = [];
  for (let i = 0; i < hits.docs.length && order.length < wanted; i++) order.push(i);
  const scoreOf = (i: number) => hits.scores[i] as number;
  if (sort.length === 1 && sort[0]?.[0] === TEXT_SCORE) {
    order.sort((a, b) => scoreOf(b) - scoreOf(a));
  } else if (sort.length > 0) {
    const byDoc = new Map(order.map((i) => [hits.docs[i] as Doc, scoreOf(i)]));
    const position = new Map(order.map((i) => [hits.docs[i] as Doc, i]));
    order = sortDocs([...byDoc.keys()], sort, byDoc).map((d) => position.get(d) as number);
  }
  const page = order.slice(skip, limit > 0 ? skip + limit : undefined);
  if (opts.scores) for (const i of page) opts.scores.set(hits.docs[i] as Doc, scoreOf(i));
  return page.map((i) => hits.docs[i] as Doc);
}

/**
 * Applies a find-style projection (mingo handles inclusion, exclusion, $slice, $elemMatch);
 * `{ field: { $meta: 'textScore' } }` adds the score from `scores` (filled by `runQuery`).
 */
export function project(
  docs: Doc[],
  projection: Doc | undefined,
  filter: Doc,
  scores?: Map<Doc, number>,
): Doc[] {
  if (!projection || Object.keys(projection).length === 0) return docs;
  const metaFields = Object.keys(projection).filter((k) => isTextScoreMeta(projection[k]));
  if (metaFields.length > 0) {
    if (!scores) throw textScoreUnavailable();
    const rest = Object.fromEntries(
      Object.entries(projection).filter(([k]) => !metaFields.includes(k)),
    );
    return project(docs, rest, filter).map((out, i) => {
      const scored: Doc = { ...out };
      for (const f of metaFields) scored[f] = scores.get(docs[i] as Doc) ?? 0;
      return scored;
    });
  }
  const simple = simpleProjection(projection);
  if (simple) return docs.map(simple);
  const positional = Object.keys(projection).some((k) => k.endsWith('.$'));
  return compileQuery(positional ? filter : {}, true)
    .find<Doc>(docs, projection)
    .all();
}

/**
 * A projection of top-level fields only (`{a: 1, b: 1}`, `{_id: 0, a: 1}`, `{a: 0}`), applied
 * without mingo; undefined for anything else (paths, operators, other values). Fields keep the
 * document's order, `_id` included unless excluded, as MongoDB returns them.
 */
function simpleProjection(projection: Doc): ((doc: Doc) => Doc) | undefined {
  const include = new Set<string>();
  const exclude = new Set<string>();
  for (const [field, value] of Object.entries(projection)) {
    if (field.includes('.') || field.startsWith('$')) return undefined;
    if (value === 1 || value === true) include.add(field);
    else if (value === 0 || value === false) exclude.add(field);
    else return undefined;
  }
  const keepId = !exclude.has('_id');
  exclude.delete('_id');
  if (include.size > 0 && exclude.size > 0) return undefined;
  if (include.size > 0) {
    if (keepId) include.add('_id');
    return (doc) => {
      const out: Doc = {};
      for (const key of Object.keys(doc)) if (include.has(key)) out[key] = doc[key];
      return out;
    };
  }
  if (keepId) exclude.delete('_id');
  else exclude.add('_id');
  return (doc) => {
    const out: Doc = {};
    for (const key of Object.keys(doc)) if (!exclude.has(key)) out[key] = doc[key];
    return out;
  };
}
