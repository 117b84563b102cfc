import { Aggregator, update as mingoUpdate } from 'mingo';
import type { Modifier } from 'mingo/updater';
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
  if (kind === 'pipeline') {
    next = new Aggregator(u as Doc[]).run([cloneDeep(doc)])[0] ?? {};
    changed = compareValues(doc, next) !== 0;
  } else if (kind === 'replacement') {
    next = replacementOf(doc, u as Doc);
    changed = compareValues(doc, next) !== 0;
  } else {
    next = cloneDeep(doc);
    changed = applyOperators(next, u as Doc, opts);
  }
  if (doc._id !== undefined && compareValues(next._id, doc._id) !== 0) throw immutableId();
  return { doc: next, changed };
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
