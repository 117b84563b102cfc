import { Context } from 'mingo';
import * as expressionOperators from 'mingo/operators/expression';
import * as projectionOperators from 'mingo/operators/projection';
import * as queryOperators from 'mingo/operators/query';
import { Query } from 'mingo/query';
import { ensureArray, isNil, resolve } from 'mingo/util';
import { isPlainObject } from './bson-values.js';
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

/**
 * The field paths a filter's outcome depends on, or undefined when it cannot be told (an
 * expression such as `$expr` or `$where` may read any field). Conditions under a field (an
 * `$elemMatch`, say) only read within that field, so the field's path covers them.
 */
export function filterPaths(filter: Doc): string[] | undefined {
  const out: string[] = [];
  const walk = (f: Doc): boolean => {
    for (const [k, v] of Object.entries(f)) {
      if (k === '$and' || k === '$or' || k === '$nor') {
        if (!Array.isArray(v) || !v.every((x) => isPlainObject(x) && walk(x))) return false;
      } else if (k === '$comment') {
        continue;
      } else if (k.startsWith('$') || needsFull(v)) {
        return false;
      } else {
        out.push(k);
      }
    }
    return true;
  };
  return walk(filter) ? out : undefined;
}

/** A compiled mingo query using the engine's operators; build once per command, test many. */
export function compileQuery(filter: Doc, withProjection = false): Query {
  const context = withProjection || needsFull(filter) ? FULL : LEAN;
  return new Query(filter, { context });
}

/** A compiled filter; an empty filter matches without calling mingo, a simple one mostly too. */
export function compileFilter(filter: Doc): (doc: Doc) => boolean {
  if (Object.keys(filter).length === 0) return () => true;
  let query: Query | undefined;
  const general = (doc: Doc): boolean => (query ??= compileQuery(filter)).test(doc);
  return simpleFilter(filter, general) ?? general;
}

/**
 * Filters made only of top-level fields compared with scalars (`{_id: id, isSent: {$ne: true},
 * at: {$lte: date}}`, the shape of most writes' filters) are tested without compiling a mingo
 * query, which costs more than the test itself when a bulk write filters one document per
 * statement. Only same-type scalar comparisons are decided here; a document whose field holds
 * an array, a subdocument, null or another type goes to mingo (`general`), so results are
 * mingo's in every case.
 */
type Outcome = boolean | undefined;
type FieldTest = (value: unknown) => Outcome;

const RANGE: Record<string, (c: number) => boolean> = {
  $lt: (c) => c < 0,
  $lte: (c) => c <= 0,
  $gt: (c) => c > 0,
  $gte: (c) => c >= 0,
};

/** The scalar kinds decided here: same kind compares as MongoDB does; anything else is mingo's. */
function kindOf(v: unknown): 'n' | 's' | 'b' | 'd' | 'o' | undefined {
  switch (typeof v) {
    case 'number':
      return Number.isNaN(v) ? undefined : 'n';
    case 'string':
      return 's';
    case 'boolean':
      return 'b';
    case 'object':
      if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : 'd';
      return (v as { _bsontype?: unknown } | null)?._bsontype === 'ObjectId' ? 'o' : undefined;
    default:
      return undefined;
  }
}

function compareSameKind(a: unknown, b: unknown, kind: string): number {
  if (kind === 'd') return (a as Date).getTime() - (b as Date).getTime();
  if (kind === 'o') {
    const x = (a as { toHexString(): string }).toHexString();
    const y = (b as { toHexString(): string }).toHexString();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (kind === 'b') return Number(a) - Number(b);
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

function operatorTest(op: string, operand: unknown): FieldTest | undefined {
  if (op === '$in') {
    const set = keySet(operand);
    if (!set || set.hasNull) return undefined;
    return (v) => {
      if (v === undefined) return false;
      const k = kindOf(v) && scalarKey(v);
      return k === undefined ? undefined : set.keys.has(k);
    };
  }
  const kind = kindOf(operand);
  if (!kind) return undefined;
  if (op === '$eq' || op === '$ne') {
    const want = op === '$eq';
    return (v) => {
      if (v === undefined) return !want;
      const k = kindOf(v);
      if (!k) return undefined;
      return (k === kind && compareSameKind(v, operand, kind) === 0) === want;
    };
  }
  const accept = RANGE[op];
  if (!accept) return undefined;
  return (v) => {
    if (v === undefined) return false;
    const k = kindOf(v);
    return k === kind ? accept(compareSameKind(v, operand, kind)) : undefined;
  };
}

function fieldTest(condition: unknown): FieldTest | undefined {
  if (!isPlainObject(condition)) return operatorTest('$eq', condition);
  const ops = Object.entries(condition);
  if (ops.length === 0) return undefined;
  const tests: FieldTest[] = [];
  for (const [op, operand] of ops) {
    const test = operatorTest(op, operand);
    if (!test) return undefined;
    tests.push(test);
  }
  return (v) => {
    for (const test of tests) {
      const outcome = test(v);
      if (outcome !== true) return outcome;
    }
    return true;
  };
}

function simpleFilter(
  filter: Doc,
  general: (doc: Doc) => boolean,
): ((doc: Doc) => boolean) | undefined {
  const fields: [string, FieldTest][] = [];
  for (const [field, condition] of Object.entries(filter)) {
    if (field.startsWith('$') || field.includes('.')) return undefined;
    const test = fieldTest(condition);
    if (!test) return undefined;
    fields.push([field, test]);
  }
  return (doc) => {
    for (const [field, test] of fields) {
      const outcome = test(doc[field]);
      if (outcome === undefined) return general(doc);
      if (!outcome) return false;
    }
    return true;
  };
}
