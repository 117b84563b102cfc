import { Aggregator, update as mingoUpdate } from 'mingo';
import type { Modifier } from 'mingo/updater';
import { isEqual } from 'mingo/util';
import { cloneDeep, compareValues, isPlainObject } from './bson-values.js';
import { MongoCommandError } from './errors.js';
import type { Doc } from './key-index.js';

const OPERATORS = new Set([
  '$set',
  '$unset',
  '$inc',
  '$mul',
  '$rename',
  '$min',
  '$max',
  '$currentDate',
  '$push',
  '$pull',
  '$pullAll',
  '$addToSet',
  '$pop',
  '$bit',
  '$setOnInsert',
]);

export type UpdateKind = 'operators' | 'replacement' | 'pipeline';

export interface UpdateOptions {
  arrayFilters?: Doc[];
  query: Doc;
  isInsert: boolean;
}

export interface UpdateOutcome {
  doc: Doc;
  changed: boolean;
  /**
   * Every path the update may have changed (plain paths, no array positions), when known:
   * only the fast path tells; undefined means any path may have changed.
   */
  touched?: readonly string[];
}

/** Classifies an update argument and rejects shapes MongoDB rejects. */
export function classifyUpdate(u: unknown): UpdateKind {
  if (Array.isArray(u)) {
    if (!u.every(isPlainObject))
      throw new MongoCommandError('FailedToParse', 'Each pipeline stage must be an object');
    return 'pipeline';
  }
  if (!isPlainObject(u)) {
    throw new MongoCommandError(
      'FailedToParse',
      'Update argument must be either an object or an array',
    );
  }
  const keys = Object.keys(u);
  if (keys.length === 0 || !(keys[0] as string).startsWith('$')) {
    if (keys.some((k) => k.startsWith('$'))) {
      throw new MongoCommandError(
        'BadValue',
        `The dollar ($) prefixed field '${keys.find((k) => k.startsWith('$'))}' is not allowed in a replacement document`,
      );
    }
    return 'replacement';
  }
  for (const k of keys) {
    if (!OPERATORS.has(k)) {
      throw new MongoCommandError(
        'FailedToParse',
        `Unknown modifier: ${k}. Expected a valid update modifier or pipeline-style update specified as an array`,
      );
    }
    if (!isPlainObject(u[k])) {
      throw new MongoCommandError(
        'FailedToParse',
        `Modifiers operate on fields but we found type ${typeof u[k]} instead. For example: {$mod: {<field>: ...}} not {${k}: ${JSON.stringify(u[k])}}`,
      );
    }
  }
  return 'operators';
}

function usesPositional(ops: Doc): boolean {
  return Object.values(ops).some((fields) =>
    Object.keys(fields as Doc).some((p) => /\.\$(\.|$)/.test(p)),
  );
}

type FastOp = '$set' | '$unset' | '$inc' | '$min' | '$max' | '$push';
const FAST_OPS = new Set<string>(['$set', '$unset', '$inc', '$min', '$max', '$push']);

interface FastUpdate {
  steps: FastStep[];
  /** The steps' paths. */
  paths: string[];
}

interface FastStep {
  op: FastOp;
  parts: string[];
  /** For `$push`: the elements to append (already unwrapped from `$each`). */
  value: unknown;
}

/**
 * What a `$push` value appends: the value itself, or the `$each` list when that is the only
 * modifier; undefined for `$slice`/`$sort`/`$position` or an empty `$each`, left to mingo.
 */
function pushedElements(value: unknown): unknown[] | undefined {
  if (!isPlainObject(value)) return [value];
  const keys = Object.keys(value);
  if (!keys.some((k) => k.startsWith('$'))) return [value];
  if (keys.length !== 1 || keys[0] !== '$each') return undefined;
  const each = value.$each;
  return Array.isArray(each) && each.length > 0 ? each : undefined;
}

/**
 * The steps of an update made only of `$set`/`$unset`/`$inc`/`$min`/`$max` and appending
 * `$push` on plain field paths (no positional or numeric parts, no two paths overlapping), or
 * undefined for anything else, which mingo applies (and rejects) as before.
 */
function fastSteps(ops: Doc): FastUpdate | undefined {
  const steps: FastStep[] = [];
  const paths: string[] = [];
  for (const [op, fields] of Object.entries(ops)) {
    if (!FAST_OPS.has(op) || !isPlainObject(fields)) return undefined;
    for (const [path, raw] of Object.entries(fields)) {
      if (raw === undefined) return undefined;
      if (op === '$inc' && typeof raw !== 'number') return undefined;
      const value = op === '$push' ? pushedElements(raw) : raw;
      if (value === undefined) return undefined;
      const parts = path.split('.');
      if (parts.some((p) => p === '' || p.startsWith('$') || /^\d+$/.test(p))) return undefined;
      for (const other of paths) {
        if (other === path || other.startsWith(path + '.') || path.startsWith(other + '.')) {
          return undefined;
        }
      }
      paths.push(path);
      steps.push({ op: op as FastOp, parts, value });
    }
  }
  return { steps, paths };
}

/** Same-type values `$min`/`$max` compare here; others (type order) are left to mingo. */
function comparable(a: unknown, b: unknown): boolean {
  if (a instanceof Date) return b instanceof Date;
  return (typeof a === 'number' || typeof a === 'string') && typeof a === typeof b;
}

/**
 * The value a leaf takes under one fast step, `unchanged` when the step leaves it alone, or
 * `slow` when mingo's rules must decide (a type mismatch it handles its own way).
 */
const UNCHANGED = Symbol('unchanged');
const SLOW = Symbol('slow');
function leafValue(step: FastStep, prev: unknown): unknown {
  const { op, value } = step;
  switch (op) {
    case '$set':
      return isEqual(prev, value) ? UNCHANGED : cloneDeep(value);
    case '$inc': {
      if (prev !== undefined && typeof prev !== 'number') return SLOW;
      // As mingo: a missing (or NaN) value counts as 0.
      const sum = (prev || 0) + (value as number);
      return sum === prev ? UNCHANGED : sum;
    }
    case '$min':
    case '$max': {
      if (prev === undefined) return cloneDeep(value);
      if (!comparable(prev, value)) return SLOW;
      const c = compareValues(prev, value);
      const keep = op === '$min' ? c <= 0 : c >= 0;
      return keep ? UNCHANGED : cloneDeep(value);
    }
    case '$push': {
      const added = (value as unknown[]).map((v) => cloneDeep(v));
      if (prev === undefined) return added;
      return Array.isArray(prev) ? [...(prev as unknown[]), ...added] : SLOW;
    }
    default:
      return SLOW;
  }
}

/**
 * Applies fast steps to a copy of `doc` that shares every subdocument the update does not
 * reach (stored documents are never mutated, so sharing is safe). Same results as mingo's
 * `$set` (no-op when equal), `$unset`, `$inc`, `$min`/`$max` and appending `$push`; undefined
 * when a path crosses an array or a scalar, or a type needs mingo's rules, which apply instead.
 */
function applyFast(doc: Doc, { steps, paths }: FastUpdate): UpdateOutcome | undefined {
  const next: Doc = { ...doc };
  const fresh = new Set<Doc>([next]);
  let changed = false;
  for (const step of steps) {
    const { op, parts } = step;
    let cur: Doc | undefined = next;
    for (let i = 0; i < parts.length - 1 && cur; i++) {
      const part = parts[i] as string;
      const child: unknown = cur[part];
      if (child === undefined) {
        if (op === '$unset') {
          cur = undefined;
          break;
        }
        const created: Doc = {};
        cur[part] = created;
        fresh.add(created);
        cur = created;
      } else if (!isPlainObject(child)) {
        return undefined;
      } else if (fresh.has(child)) {
        cur = child;
      } else {
        const copy: Doc = { ...child };
        cur[part] = copy;
        fresh.add(copy);
        cur = copy;
      }
    }
    if (!cur) continue;
    const leaf = parts[parts.length - 1] as string;
    if (op === '$unset') {
      if (!Object.hasOwn(cur, leaf)) continue;
      const prev = cur[leaf];
      delete cur[leaf];
      if (prev !== undefined) changed = true;
      continue;
    }
    const value = leafValue(step, cur[leaf]);
    if (value === SLOW) return undefined;
    if (value === UNCHANGED) continue;
    cur[leaf] = value;
    changed = true;
  }
  return { doc: next, changed, touched: paths };
}

function applyOperators(doc: Doc, ops: Doc, opts: UpdateOptions): boolean {
  const { $setOnInsert, ...rest } = ops;
  let changed = false;
  if (Object.keys(rest).length > 0) {
    const condition = usesPositional(rest) ? opts.query : undefined;
    changed = mingoUpdate(doc, rest as Modifier<Doc>, opts.arrayFilters, condition).length > 0;
  }
  if (opts.isInsert && isPlainObject($setOnInsert)) {
    changed = mingoUpdate(doc, { $set: $setOnInsert }).length > 0 || changed;
  }
  return changed;
}

function replacementOf(doc: Doc, replacement: Doc): Doc {
  const { _id: newId, ...rest } = replacement;
  if (newId !== undefined && doc._id !== undefined && compareValues(newId, doc._id) !== 0) {
    throw immutableId();
  }
  const id = doc._id ?? newId;
  return id === undefined ? { ...rest } : { _id: id, ...cloneDeep(rest) };
}

function immutableId(): MongoCommandError {
  return new MongoCommandError(
    'ImmutableField',
    "Performing an update on the path '_id' would modify the immutable field '_id'",
  );
}

/** Computes the updated copy of `doc`; the stored document is never mutated. */
export function applyUpdate(doc: Doc, u: Doc | Doc[], opts: UpdateOptions): UpdateOutcome {
  const kind = classifyUpdate(u);
  let next: Doc;
  let changed: boolean;
  let touched: readonly string[] | undefined;
  if (kind === 'pipeline') {
    next = new Aggregator(u as Doc[]).run([cloneDeep(doc)])[0] ?? {};
    changed = compareValues(doc, next) !== 0;
  } else if (kind === 'replacement') {
    next = replacementOf(doc, u as Doc);
    changed = compareValues(doc, next) !== 0;
  } else {
    const steps = opts.isInsert ? undefined : fastSteps(u as Doc);
    const fast = steps && applyFast(doc, steps);
    if (fast) {
      next = fast.doc;
      changed = fast.changed;
      touched = fast.touched;
    } else {
      next = cloneDeep(doc);
      changed = applyOperators(next, u as Doc, opts);
    }
  }
  if (doc._id !== undefined && compareValues(next._id, doc._id) !== 0) throw immutableId();
  return { doc: next, changed, touched };
}

function setPath(doc: Doc, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = doc;
  for (const part of parts.slice(0, -1)) {
    const next = cur[part];
    if (!isPlainObject(next)) cur[part] = {};
    cur = cur[part] as Doc;
  }
  cur[parts[parts.length - 1] as string] = cloneDeep(value);
}

/** The equality fields of a query, which seed the document an upsert inserts. */
export function upsertSeed(query: Doc, seed: Doc = {}): Doc {
  for (const [field, value] of Object.entries(query)) {
    if (field === '$and' && Array.isArray(value)) {
      for (const part of value) if (isPlainObject(part)) upsertSeed(part, seed);
      continue;
    }
    if (field.startsWith('$')) continue;
    if (isPlainObject(value) && Object.keys(value).some((k) => k.startsWith('$'))) {
      if ('$eq' in value) setPath(seed, field, value.$eq);
      continue;
    }
    setPath(seed, field, value);
  }
  return seed;
}

/** Builds the document an upsert inserts (before _id generation and unique checks). */
export function buildUpsert(query: Doc, u: Doc | Doc[], arrayFilters: Doc[] | undefined): Doc {
  const seed = upsertSeed(query);
  const kind = classifyUpdate(u);
  if (kind === 'replacement') return replacementOf(seed, u as Doc);
  if (kind === 'pipeline') return new Aggregator(u as Doc[]).run([seed])[0] ?? {};
  applyOperators(seed, u as Doc, { arrayFilters, query, isInsert: true });
  return seed;
}
