import { compareValues, idKey, isPlainObject, typeRank } from './bson-values.js';
import type { Collection } from './collection.js';
import type { Doc, Entry, KeyIndex } from './key-index.js';

export type SortSpec = Array<[string, 1 | -1]>;

interface Bound {
  v: unknown;
  inclusive: boolean;
}

interface FieldCond {
  eq?: unknown[];
  lo?: Bound;
  hi?: Bound;
  /** From `$elemMatch`: both bounds hold for one element, so a multikey index may walk them. */
  oneElement?: boolean;
}

/** Candidate documents for a query; `sorted` means they already come out in the requested order. */
export interface Plan {
  candidates: Iterable<Doc>;
  sorted: boolean;
  /** Every candidate is known to match (plain equality fully answered by the index). */
  covered: boolean;
  indexName?: string;
}

/** Equality combinations (one index seek each) always worth seeking rather than scanning. */
const MAX_EQ_COMBOS = 1_000;

function indexable(v: unknown): boolean {
  if (v === undefined || Array.isArray(v) || v instanceof RegExp) return false;
  if (typeRank(v) === 11) return false;
  return !(isPlainObject(v) && Object.keys(v).some((k) => k.startsWith('$')));
}

const COMPARISONS = new Set(['$eq', '$gt', '$gte', '$lt', '$lte']);

/**
 * `{$elemMatch: {$gte: a, $lt: b}}` on an array of scalars: one element in the range, which is
 * exactly what walking a multikey index over that range finds (the filter still checks).
 */
function elemMatchRange(ops: Doc): Doc | undefined {
  const inner = ops.$elemMatch;
  if (Object.keys(ops).length !== 1 || !isPlainObject(inner)) return undefined;
  const keys = Object.keys(inner);
  return keys.length > 0 && keys.every((k) => COMPARISONS.has(k)) ? inner : undefined;
}

function operatorCond(outer: Doc): FieldCond {
  const elem = elemMatchRange(outer);
  const ops = elem ?? outer;
  const cond: FieldCond = elem ? { oneElement: true } : {};
  if ('$eq' in ops && indexable(ops.$eq)) cond.eq = [ops.$eq];
  if (Array.isArray(ops.$in) && ops.$in.length > 0 && ops.$in.every(indexable)) cond.eq = ops.$in;
  if ('$gt' in ops) cond.lo = { v: ops.$gt, inclusive: false };
  if ('$gte' in ops) cond.lo = { v: ops.$gte, inclusive: true };
  if ('$lt' in ops) cond.hi = { v: ops.$lt, inclusive: false };
  if ('$lte' in ops) cond.hi = { v: ops.$lte, inclusive: true };
  return cond;
}

/** Per-field conditions an index can serve; everything else is left to mingo's full check. */
function extractConds(filter: Doc, out = new Map<string, FieldCond>()): Map<string, FieldCond> {
  for (const [field, value] of Object.entries(filter)) {
    if (field === '$and' && Array.isArray(value)) {
      for (const part of value) if (isPlainObject(part)) extractConds(part, out);
      continue;
    }
    if (field.startsWith('$') || out.has(field)) continue;
    if (isPlainObject(value) && Object.keys(value).some((k) => k.startsWith('$'))) {
      out.set(field, operatorCond(value));
    } else if (indexable(value)) {
      out.set(field, { eq: [value] });
    }
  }
  return out;
}

interface Candidate {
  index: KeyIndex;
  eqCount: number;
  range: FieldCond | undefined;
  direction: 1 | -1 | 0;
  score: number;
}

/** 1 / -1 when walking the index forwards / backwards yields `sort` after `eqCount` fields. */
function sortDirection(index: KeyIndex, eqCount: number, sort: SortSpec): 1 | -1 | 0 {
  const fields = index.fields.includes('_id') ? index.fields : [...index.fields, '_id'];
  const dirs = index.fields.includes('_id') ? index.dirs : [...index.dirs, 1];
  let direction: 1 | -1 | 0 = 0;
  for (let j = 0; j < sort.length; j++) {
    const [field, dir] = sort[j] as [string, 1 | -1];
    if (fields[eqCount + j] !== field || index.multikeyPaths.has(field)) return 0;
    const d = (dir * (dirs[eqCount + j] as number)) as 1 | -1;
    if (direction !== 0 && d !== direction) return 0;
    direction = d;
  }
  return direction;
}

function combosOf(index: KeyIndex, conds: Map<string, FieldCond>, eqCount: number): number {
  let n = 1;
  for (let i = 0; i < eqCount; i++) n *= conds.get(index.fields[i] as string)?.eq?.length ?? 1;
  return n;
}

function evaluate(index: KeyIndex, conds: Map<string, FieldCond>, sort: SortSpec): Candidate {
  let eqCount = 0;
  while (eqCount < index.fields.length && conds.get(index.fields[eqCount] as string)?.eq) eqCount++;
  const next = index.fields[eqCount];
  const nextCond = next === undefined ? undefined : conds.get(next);
  const range =
    nextCond &&
    (nextCond.lo || nextCond.hi) &&
    (nextCond.oneElement || !index.multikeyPaths.has(next as string))
      ? nextCond
      : undefined;
  const combos = combosOf(index, conds, eqCount);
  const direction = sort.length === 0 || combos > 1 ? 0 : sortDirection(index, eqCount, sort);
  // More seeks than that still beat a scan while they are fewer than half the index's entries.
  const maxCombos = Math.max(MAX_EQ_COMBOS, index.entries.length / 2);
  const usable = combos <= maxCombos && (eqCount > 0 || range !== undefined || direction !== 0);
  const score = usable ? eqCount * 4 + (range ? 2 : 0) + (direction !== 0 ? 1 : 0) : -1;
  return { index, eqCount, range, direction, score };
}

/** `$in` values in index order without duplicates (a repeated value must not seek twice). */
function distinctInOrder(values: unknown[], dir: number): unknown[] {
  if (values.length < 2) return values;
  const sorted = [...values].sort((a, b) => compareValues(a, b) * dir);
  return sorted.filter((v, i) => i === 0 || compareValues(sorted[i - 1], v) !== 0);
}

function eqCombos(index: KeyIndex, conds: Map<string, FieldCond>, eqCount: number): unknown[][] {
  let combos: unknown[][] = [[]];
  for (let i = 0; i < eqCount; i++) {
    const values = distinctInOrder(
      conds.get(index.fields[i] as string)?.eq ?? [],
      index.dirs[i] as number,
    );
    combos = combos.flatMap((c) => values.map((v) => [...c, v]));
  }
  return combos;
}

function prefixCompare(index: KeyIndex, e: Entry, prefix: unknown[]): number {
  for (let i = 0; i < prefix.length; i++) {
    const c = compareValues(e.k[i], prefix[i]);
    if (c !== 0) return c * (index.dirs[i] as number);
  }
  return 0;
}

/** Whether value `v` is still before the range start / already past the range end, in index order. */
function rangeTests(range: FieldCond | undefined, dir: number) {
  const below = (v: unknown, b: Bound) => {
    const c = compareValues(v, b.v);
    return b.inclusive ? c < 0 : c <= 0;
  };
  const above = (v: unknown, b: Bound) => {
    const c = compareValues(v, b.v);
    return b.inclusive ? c > 0 : c >= 0;
  };
  // Type bracketing as in MongoDB: a one-sided range stays within the bound's BSON type.
  const lo = range?.lo ?? (range?.hi ? { v: undefined, inclusive: true } : undefined);
  const hi = range?.hi;
  const beforeLo = (v: unknown) =>
    lo !== undefined && (lo.v === undefined ? typeRank(v) < typeRank(hi?.v) : below(v, lo));
  const afterHi = (v: unknown) =>
    hi !== undefined ? above(v, hi) : lo !== undefined && typeRank(v) > typeRank(lo.v);
  return dir === 1
    ? { beforeStart: beforeLo, pastEnd: afterHi }
    : { beforeStart: afterHi, pastEnd: beforeLo };
}

function* scanIndex(coll: Collection, c: Candidate, conds: Map<string, FieldCond>): Generator<Doc> {
  const { index, eqCount } = c;
  const dir = index.dirs[eqCount] ?? 1;
  const { beforeStart, pastEnd } = rangeTests(c.range, dir);
  const seen = index.multikeyPaths.size > 0 ? new Set<string>() : undefined;
  for (const prefix of eqCombos(index, conds, eqCount)) {
    const start = index.firstWhere((e) => {
      const p = prefixCompare(index, e, prefix);
      return p > 0 || (p === 0 && !beforeStart(e.k[eqCount]));
    });
    const end = index.firstWhere((e) => {
      const p = prefixCompare(index, e, prefix);
      return p > 0 || (p === 0 && pastEnd(e.k[eqCount]));
    });
    for (const entry of index.entries.range(start, end, c.direction === -1)) {
      coll.stats.scannedKeys++;
      if (seen) {
        if (seen.has(entry.ik)) continue;
        seen.add(entry.ik);
      }
      const doc = coll.docs.get(entry.ik);
      if (doc) yield doc;
    }
  }
}

function* byIds(coll: Collection, ids: unknown[]): Generator<Doc> {
  const seen = new Set<string>();
  for (const id of ids) {
    const key = idKey(id);
    if (seen.has(key)) continue;
    seen.add(key);
    const doc = coll.docs.get(key);
    if (doc) yield doc;
  }
}

function isDirectScalar(v: unknown): boolean {
  return v !== null && indexable(v) && !isPlainObject(v);
}

/** True when the filter is only direct equalities on the given (index-prefix) fields. */
function coveredBy(filter: Doc, fields: string[]): boolean {
  const keys = Object.keys(filter);
  return keys.length > 0 && keys.every((k) => fields.includes(k) && isDirectScalar(filter[k]));
}

/** Picks the cheapest way to produce a superset of the matching documents. */
export function planQuery(coll: Collection, filter: Doc, sort: SortSpec): Plan {
  const conds = extractConds(filter);
  const idEq = conds.get('_id')?.eq;
  if (idEq) {
    const sorted = sort.length === 0 || idEq.length === 1;
    return {
      candidates: byIds(coll, idEq),
      sorted,
      covered: coveredBy(filter, ['_id']),
      indexName: '_id_',
    };
  }
  let best: Candidate | undefined;
  for (const index of coll.indexes.values()) {
    if (!index.complete) continue;
    const c = evaluate(index, conds, sort);
    if (c.score > (best?.score ?? -1)) best = c;
  }
  if (!best) return { candidates: coll.docs.values(), sorted: sort.length === 0, covered: false };
  const sorted = sort.length === 0 || best.direction !== 0;
  const covered = coveredBy(filter, best.index.fields.slice(0, best.eqCount));
  return {
    candidates: scanIndex(coll, best, conds),
    sorted,
    covered,
    indexName: best.index.spec.name,
  };
}
