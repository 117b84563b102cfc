import { isPlainObject } from '../bson-values.js';
import { MongoCommandError } from '../errors.js';
import type { Doc, IndexSpec } from '../key-index.js';
import { defaultIndexName } from '../index-name.js';
import { findLanguage } from './languages.js';

/** The key every text index has in `listIndexes`, whatever its text fields (MongoDB's format). */
export const TEXT_KEY = { _fts: 'text', _ftsx: 1 } as const;
export const TEXT_INDEX_VERSION = 3;
const MAX_WEIGHT = 100_000;

/** Whether a requested index key asks for a text index (`'text'` values, or the stored form). */
export function isTextKey(key: Doc): boolean {
  return Object.entries(key).some(([f, v]) => v === 'text' || f === '_fts');
}

export function isTextSpec(spec: IndexSpec): boolean {
  return spec.textIndexVersion !== undefined;
}

export function unsupportedLanguage(name: string): MongoCommandError {
  return new MongoCommandError(
    'BadValue',
    `unsupported language: "${name}" for text index version ${TEXT_INDEX_VERSION}`,
  );
}

function checkWeight(field: string, w: unknown): number {
  if (typeof w !== 'number') {
    throw new MongoCommandError('BadValue', `weight for text index needs numeric type (${field})`);
  }
  if (!(w > 0 && w < MAX_WEIGHT)) {
    throw new MongoCommandError(
      'BadValue',
      `text index weights must be in the exclusive interval (0,${MAX_WEIGHT}) but found: ${w}`,
    );
  }
  return w;
}

/** Splits a requested key into the non-text fields before/after the text fields, and those. */
function splitKey(key: Doc): { prefix: Doc; text: string[]; suffix: Doc } {
  const prefix: Doc = {};
  const suffix: Doc = {};
  const text: string[] = [];
  let seenText = false;
  for (const [field, v] of Object.entries(key)) {
    if (v === 'text' || field === '_fts' || field === '_ftsx') {
      if (Object.keys(suffix).length > 0) {
        throw new MongoCommandError('BadValue', 'text fields in a text index must be contiguous');
      }
      seenText = true;
      if (v === 'text' && field !== '_fts') text.push(field);
      continue;
    }
    if (v !== 1 && v !== -1) {
      throw new MongoCommandError(
        'BadValue',
        `Index key '${field}' must be 1, -1 or 'text' (got ${String(v)}); other special index types are not supported`,
      );
    }
    (seenText ? suffix : prefix)[field] = v;
  }
  return { prefix, text, suffix };
}

/**
 * Normalises a text index request to what MongoDB stores and lists: key `{…prefix, _fts:
 * 'text', _ftsx: 1, …suffix}`, the text fields in `weights` (sorted by name, default 1),
 * `default_language` (english), `language_override` (language), `textIndexVersion: 3`.
 */
export function parseTextIndexSpec(raw: Doc, key: Doc): IndexSpec {
  const { prefix, text, suffix } = splitKey(key);
  const weights = new Map<string, number>(text.map((f) => [f, 1]));
  if (raw.weights !== undefined) {
    if (!isPlainObject(raw.weights)) {
      throw new MongoCommandError('BadValue', 'weights must be an object');
    }
    for (const [f, w] of Object.entries(raw.weights)) weights.set(f, checkWeight(f, w));
  }
  if (weights.size === 0) {
    throw new MongoCommandError('BadValue', 'text index needs at least one text field');
  }
  const language = raw.default_language ?? 'english';
  if (typeof language !== 'string' || !findLanguage(language)) {
    throw unsupportedLanguage(typeof language === 'string' ? language : JSON.stringify(language));
  }
  const override = raw.language_override ?? 'language';
  if (typeof override !== 'string' || override === '') {
    throw new MongoCommandError('BadValue', 'language_override must be a non-empty string');
  }
  const version = raw.textIndexVersion ?? TEXT_INDEX_VERSION;
  if (version !== TEXT_INDEX_VERSION) {
    throw new MongoCommandError('BadValue', `currently only textIndexVersion 3 is supported`);
  }
  const name = defaultIndexName(raw, key);
  return {
    key: { ...prefix, ...TEXT_KEY, ...suffix },
    name,
    weights: Object.fromEntries([...weights].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    default_language: language,
    language_override: override,
    textIndexVersion: TEXT_INDEX_VERSION,
  };
}
