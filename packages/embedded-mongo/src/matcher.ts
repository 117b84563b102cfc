import { Context } from 'mingo';
import * as expressionOperators from 'mingo/operators/expression';
import * as projectionOperators from 'mingo/operators/projection';
import * as queryOperators from 'mingo/operators/query';
import { Query } from 'mingo/query';
import { ensureArray, isNil, resolve } from 'mingo/util';
import { compareValues, isPlainObject } from './bson-values.js';
import type { Doc } from './key-index.js';

/**
 * Query compilation for the engine: mingo's query operators, except `$in`/`$nin`, which hash
 * their value list once per compiled query instead of once per document (mingo builds a hash
 * map of the whole list for every document it tests, so a 1,000-id `$in` over 1,000 candidates
 * cost ~1M hash computations). Every compiled query is meant to be built once per command.
 */

/** Canonical key with mingo's equality for the scalar types a key can stand for; else undefined. */
function scalarKey(v: unknown): string | undefined {
  switch (typeof v) {
    case 'string':
      return 's' + v;
    case 'number':
      // Map semantics like mingo's HashMap for primitives: NaN equals NaN, 0 equals -0.
      return 'n' + String(v);
    case 'boolean':
      return v ? 'T' : 'F';
    case 'bigint':
      return 'g' + String(v);
    case 'undefined':
      return 'u';
    case 'object':
      break;
    default:
      return undefined;
  }
  if (v === null) return 'z';
  if (v instanceof Date) {
    const t = v.getTime();
    // mingo compares dates with +a === +b, so an invalid date equals nothing.
    return Number.isNaN(t) ? undefined : 'd' + String(t);
  }
  const tagged = v as { _bsontype?: unknown; toHexString?: () => string };
  if (tagged._bsontype === 'ObjectId' && typeof tagged.toHexString === 'function') {
    return 'o' + tagged.toHexString();
  }
  return undefined;
}

/** The set of keys for an `$in` list, or undefined when some value needs mingo's general check. */
function keySet(values: unknown): { keys: Set<string>; hasNull: boolean } | undefined {
  if (!Array.isArray(values)) return undefined;
  const keys = new Set<string>();
  let hasNull = false;
  for (const v of values) {
    const k = scalarKey(v);
    if (k === undefined) return undefined;
    if (v === null) hasNull = true;
    keys.add(k);
  }
  return { keys, hasNull };
}

/** Same result as mingo's `$in` predicate, with the list hashed once. */
function inPredicate(selector: string, set: { keys: Set<string>; hasNull: boolean }) {
  const opts = { unwrapArray: true };
  return (doc: Doc): boolean => {
    const lhs: unknown = resolve(doc, selector, opts);
    if (isNil(lhs)) return set.hasNull;
    // A value that has no scalar key (document, array, ...) cannot equal any listed scalar.
    for (const v of ensureArray(lhs) as unknown[]) {
      const k = scalarKey(v);
      if (k !== undefined && set.keys.has(k)) return true;
    }
    return false;
  };
}

const mingoIn = queryOperators.$in;
const mingoNin = queryOperators.$nin;

const $in: typeof mingoIn = (selector, value, options) => {
  const set = keySet(value);
  return set ? inPredicate(selector, set) : mingoIn(selector, value, options);
};

const $nin: typeof mingoNin = (selector, value, options) => {
  const set = keySet(value);
  if (!set) return mingoNin(selector, value, options);
  const test = inPredicate(selector, set);
  return (doc: Doc) => !test(doc);
};

const QUERY_OPS = { ...queryOperators, $in, $nin };
/** Enough for plain filters: compiling copies the context's tables, so keep them small. */
const LEAN = Context.init({ query: QUERY_OPS });
/** For `$expr` filters and projections. */
const FULL = Context.init({
  query: QUERY_OPS,
  expression: expressionOperators,
  projection: projectionOperators,
});

const NEEDS_EXPRESSIONS = new Set(['$expr', '$jsonSchema', '$where']);

/** Whether a filter uses an operator that needs expression operators (searched at any depth). */
function needsFull(v: unknown): boolean {
  if (Array.isArray(v)) return v.some((x) => isPlainObject(x) && needsFull(x));
  if (!isPlainObject(v)) return false;
  for (const [k, x] of Object.entries(v)) {
    if (NEEDS_EXPRESSIONS.has(k)) return true;
    if ((isPlainObject(x) || Array.isArray(x)) && needsFull(x)) return true;
  }
  return false;
}

/** A compiled mingo query using the engine's operators; build once per command, test many. */
export function compileQuery(filter: Doc, withProjection = false): Query {
  const context = withProjection || needsFull(filter) ? FULL : LEAN;
  return new Query(filter, { context });
}

/**
 * A compiled filter; an empty filter matches without calling mingo, and so does a filter of
 * plain fields compared with scalars (`scalarFilter`) whenever the document's values are
 * scalars of the same kind.
 */
export function compileFilter(filter: Doc): (doc: Doc) => boolean {
  if (Object.keys(filter).length === 0) return () => true;
  let query: Query | undefined;
  const general = (doc: Doc) => (query ??= compileQuery(filter)).test(doc);
  const fast = scalarFilter(filter);
  if (!fast) return general;
  return (doc) => fast(doc) ?? general(doc);
}

type Comparison = '$eq' | '$lt' | '$lte' | '$gt' | '$gte';
const COMPARISONS = new Set<string>(['$eq', '$lt', '$lte', '$gt', '$gte']);

interface Clause {
  field: string;
  op: Comparison;
  value: unknown;
  /** `scalarKey` of the value: equality, and the kind a document's value must have. */
  key: string;
}

/**
 * Building a mingo query costs ~100 µs (it copies its operator tables), more than the rest of
 * a one-document update: the app's hot updates filter on an `_id` and a date
 * (`{_id, lastMessageAt: {$lte}}`). For filters made only of top-level fields compared with
 * scalars (equality on string, number, boolean, date or ObjectId; ranges on numbers and dates),
 * this tests a document directly — but only decides when every field's value is a scalar of the
 * query value's kind; anything else (missing, null, array, another type) returns undefined and
 * the caller asks mingo, so the result is always mingo's.
 */
function scalarFilter(filter: Doc): ((doc: Doc) => boolean | undefined) | undefined {
  const clauses: Clause[] = [];
  for (const [field, condition] of Object.entries(filter)) {
    if (field.startsWith('$') || field.includes('.')) return undefined;
    if (!isPlainObject(condition)) {
      const clause = scalarClause(field, '$eq', condition);
      if (!clause) return undefined;
      clauses.push(clause);
      continue;
    }
    const ops = Object.entries(condition);
    if (ops.length === 0) return undefined;
    for (const [op, value] of ops) {
      const clause = COMPARISONS.has(op) ? scalarClause(field, op as Comparison, value) : null;
      if (!clause) return undefined;
      clauses.push(clause);
    }
  }
  return (doc) => {
    for (const clause of clauses) {
      const outcome = testClause(clause, doc[clause.field]);
      if (outcome !== true) return outcome;
    }
    return true;
  };
}

function scalarClause(field: string, op: Comparison, value: unknown): Clause | null {
  if (value === null || value === undefined) return null;
  const key = scalarKey(value);
  if (key === undefined || key.startsWith('g')) return null;
  if (op !== '$eq' && !(key.startsWith('d') || (key.startsWith('n') && !Number.isNaN(value))))
    return null;
  return { field, op, value, key };
}

function testClause(clause: Clause, actual: unknown): boolean | undefined {
  if (actual === null || actual === undefined) return undefined;
  const key = scalarKey(actual);
  if (key === undefined || key[0] !== clause.key[0]) return undefined;
  if (clause.op === '$eq') return key === clause.key;
  if (typeof actual === 'number' && Number.isNaN(actual)) return undefined;
  const order = compareValues(actual, clause.value);
  switch (clause.op) {
    case '$lt':
      return order < 0;
    case '$lte':
      return order <= 0;
    case '$gt':
      return order > 0;
    default:
      return order >= 0;
  }
}
