import { isPlainObject } from '../bson-values.js';
import { MongoCommandError } from '../errors.js';
import type { Doc } from '../key-index.js';
import type { TextIndex, TextQuery } from './text-index.js';

/** A filter split into its `$text` operator and everything else. */
export interface TextFilter {
  query: TextQuery;
  rest: Doc;
}

const TEXT_FIELDS = new Set(['$search', '$language', '$caseSensitive', '$diacriticSensitive']);

/** Validates a `$text` operator with MongoDB's messages. */
export function parseTextOperator(v: unknown): TextQuery {
  if (!isPlainObject(v)) throw new MongoCommandError('BadValue', '$text expects an object');
  for (const k of Object.keys(v)) {
    if (!TEXT_FIELDS.has(k)) throw new MongoCommandError('BadValue', 'extra fields in $text');
  }
  const { $search, $language, $caseSensitive, $diacriticSensitive } = v;
  if (typeof $search !== 'string') {
    throw new MongoCommandError('BadValue', '$search needs a String');
  }
  if ($language !== undefined && typeof $language !== 'string') {
    throw new MongoCommandError('BadValue', '$language needs a String');
  }
  if ($caseSensitive !== undefined && typeof $caseSensitive !== 'boolean') {
    throw new MongoCommandError('BadValue', '$caseSensitive needs a boolean');
  }
  if ($diacriticSensitive !== undefined && typeof $diacriticSensitive !== 'boolean') {
    throw new MongoCommandError('BadValue', '$diacriticSensitive needs a boolean');
  }
  const query: TextQuery = {
    search: $search,
    caseSensitive: $caseSensitive ?? false,
    diacriticSensitive: $diacriticSensitive ?? false,
  };
  if ($language !== undefined) query.language = $language;
  return query;
}

function tooMany(): MongoCommandError {
  return new MongoCommandError('BadValue', 'Too many text expressions');
}

/**
 * Takes `$text` out of a filter: at the top level or in a top-level `$and`, where MongoDB's
 * planner finds it too. Returns undefined when the filter has none.
 */
export function extractTextFilter(filter: Doc): TextFilter | undefined {
  let found: unknown;
  let rest: Doc = filter;
  if ('$text' in filter) {
    const { $text, ...others } = filter;
    found = $text;
    rest = others;
  }
  if (Array.isArray(rest.$and)) {
    const parts = rest.$and as unknown[];
    const at = parts.findIndex((p) => isPlainObject(p) && '$text' in p);
    if (at >= 0) {
      if (found !== undefined) throw tooMany();
      const { $text, ...sibling } = parts[at] as Doc;
      found = $text;
      const kept = parts.filter((_, i) => i !== at);
      if (Object.keys(sibling).length > 0) kept.push(sibling);
      const { $and: _and, ...others } = rest;
      rest = kept.length > 0 ? { ...others, $and: kept } : others;
      if (kept.some((p) => isPlainObject(p) && '$text' in p)) throw tooMany();
    }
  }
  return found === undefined ? undefined : { query: parseTextOperator(found), rest };
}

/** Whether a filter has `$text` where `extractTextFilter` looks for it. */
export function hasTextOperator(filter: Doc): boolean {
  return (
    '$text' in filter ||
    (Array.isArray(filter.$and) && filter.$and.some((p) => isPlainObject(p) && '$text' in p))
  );
}

export function textIndexRequired(): MongoCommandError {
  return new MongoCommandError('IndexNotFound', 'text index required for $text query');
}

export function textScoreUnavailable(): MongoCommandError {
  return new MongoCommandError(
    'BadValue',
    'query requires text score metadata, but it is not available',
  );
}

function isEquality(v: unknown): boolean {
  if (v === undefined) return false;
  if (!isPlainObject(v)) return true;
  const keys = Object.keys(v);
  return !keys.some((k) => k.startsWith('$')) || (keys.length === 1 && keys[0] === '$eq');
}

/** A compound text index needs equality on each field before its text fields (MongoDB's rule). */
export function checkTextPrefix(index: TextIndex, rest: Doc): void {
  for (const field of index.prefixFields) {
    if (!isEquality(rest[field])) {
      throw new MongoCommandError(
        'BadValue',
        'error processing query: planner returned error :: caused by :: failed to use text index to satisfy $text query (if text index is compound, are equality predicates given for all prefix fields?)',
      );
    }
  }
}

/** Whether a projection or sort value is `{ $meta: 'textScore' }`. */
export function isTextScoreMeta(v: unknown): boolean {
  return isPlainObject(v) && v.$meta === 'textScore' && Object.keys(v).length === 1;
}

/** Field the aggregation stages after a `$text` `$match` read the score from. */
const SCORE_FIELD = '__embeddedTextScore';

function rewriteMeta(v: unknown, inSort: boolean): unknown {
  if (Array.isArray(v)) return v.map((x) => rewriteMeta(x, false));
  if (!isPlainObject(v)) return v;
  if (isTextScoreMeta(v)) return `$${SCORE_FIELD}`;
  const out: Doc = {};
  for (const [k, x] of Object.entries(v)) {
    if (inSort && isTextScoreMeta(x)) out[SCORE_FIELD] = -1;
    else out[k] = rewriteMeta(x, k === '$sort');
  }
  return out;
}

/** Whether any stage asks for `{ $meta: 'textScore' }`. */
export function usesTextScore(stages: Doc[]): boolean {
  const walk = (v: unknown): boolean =>
    Array.isArray(v)
      ? v.some(walk)
      : isPlainObject(v) && (isTextScoreMeta(v) || Object.values(v).some(walk));
  return stages.some(walk);
}

/**
 * Lets aggregation stages after a `$text` `$match` use `{ $meta: 'textScore' }` (mingo has no
 * `$meta`): each input document (a copy) carries its score in a hidden field that the
 * rewritten stages read, and that is removed from the output.
 */
export function scoredPipeline(
  stages: Doc[],
  docs: Doc[],
  scores: Map<Doc, number> | undefined,
): { stages: Doc[]; input: Doc[]; finish(out: Doc[]): Doc[] } {
  if (!usesTextScore(stages)) return { stages, input: docs, finish: (out) => out };
  if (!scores) throw textScoreUnavailable();
  return {
    stages: stages.map((s) => rewriteMeta(s, false) as Doc),
    input: docs.map((d) => ({ ...d, [SCORE_FIELD]: scores.get(d) ?? 0 })),
    finish: (out) =>
      out.map((d) => {
        if (!(SCORE_FIELD in d)) return d;
        const { [SCORE_FIELD]: _score, ...rest } = d;
        return rest;
      }),
  };
}
