import { ObjectId } from 'bson';
import { MongoCommandError } from './errors.js';
import { idKey, typeRank } from './bson-values.js';
import { KeyIndex, type Doc, type IndexSpec } from './key-index.js';

/** Counters a test (or `serverStatus`) can read to prove which plans ran. */
export interface ScanStats {
  scannedObjects: number;
  scannedKeys: number;
}

export const ID_INDEX: IndexSpec = { key: { _id: 1 }, name: '_id_' };

function formatKeyValue(v: unknown): string {
  if (v === undefined || v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeRank(v) === 7) return `ObjectId('${(v as ObjectId).toHexString()}')`;
  if (v instanceof Date) return `new Date(${v.getTime()})`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

/** MongoDB stores _id as the first field; drivers append it when they generate it. */
function idFirst(doc: Doc): Doc {
  for (const first in doc) {
    if (first === '_id') return doc;
    break;
  }
  const { _id, ...rest } = doc;
  return { _id, ...rest };
}

/**
 * One collection: documents keyed by canonical _id plus its indexes.
 * Every mutation checks all unique indexes before touching anything, so a failed write
 * leaves the collection unchanged; callers run each command synchronously for atomicity.
 */
export class Collection {
  readonly docs = new Map<string, Doc>();
  readonly indexes = new Map<string, KeyIndex>();
  /** Bumped on every change so persistence can skip clean collections. */
  version = 0;

  constructor(
    readonly db: string,
    readonly name: string,
    readonly stats: ScanStats,
  ) {
    this.indexes.set(ID_INDEX.name, new KeyIndex(ID_INDEX));
  }

  get ns(): string {
    return `${this.db}.${this.name}`;
  }

  get idIndex(): KeyIndex {
    return this.indexes.get(ID_INDEX.name) as KeyIndex;
  }

  get(id: unknown): Doc | undefined {
    return this.docs.get(idKey(id));
  }

  duplicateError(index: KeyIndex, key: unknown[]): MongoCommandError {
    const keyValue = index.keyValue(key);
    const shown = index.fields.map((f) => `${f}: ${formatKeyValue(keyValue[f])}`).join(', ');
    return new MongoCommandError(
      'DuplicateKey',
      `E11000 duplicate key error collection: ${this.ns} index: ${index.spec.name} dup key: { ${shown} }`,
      { keyPattern: { ...index.spec.key }, keyValue },
    );
  }

  private checkUnique(doc: Doc, isNew: boolean): void {
    if (isNew && this.docs.has(idKey(doc._id))) {
      throw this.duplicateError(this.idIndex, [doc._id]);
    }
    for (const index of this.indexes.values()) {
      if (index === this.idIndex) continue;
      const dup = index.findDuplicate(doc);
      if (dup) throw this.duplicateError(index, dup);
    }
  }

  /** Inserts a document, generating an ObjectId _id first when missing. */
  insert(input: Doc): Doc {
    const doc = input._id === undefined ? { _id: new ObjectId(), ...input } : idFirst(input);
    if (Array.isArray(doc._id)) {
      throw new MongoCommandError('BadValue', "can't use an array for _id");
    }
    this.checkUnique(doc, true);
    this.docs.set(idKey(doc._id), doc);
    for (const index of this.indexes.values()) index.add(doc);
    this.version++;
    return doc;
  }

  /** Swaps a stored document for its updated copy (same _id). */
  replace(oldDoc: Doc, newDoc: Doc): void {
    this.checkUnique(newDoc, false);
    for (const index of this.indexes.values()) {
      if (index !== this.idIndex) index.remove(oldDoc);
    }
    this.docs.set(idKey(newDoc._id), newDoc);
    for (const index of this.indexes.values()) {
      if (index !== this.idIndex) index.add(newDoc);
    }
    this.version++;
  }

  remove(doc: Doc): void {
    if (!this.docs.delete(idKey(doc._id))) return;
    for (const index of this.indexes.values()) index.remove(doc);
    this.version++;
  }

  /** Builds an index over existing documents; fails (and adds nothing) on duplicates. */
  addIndex(spec: IndexSpec): void {
    const index = new KeyIndex(spec);
    const dup = index.build(this.docs.values());
    if (dup) throw this.duplicateError(index, dup);
    this.indexes.set(spec.name, index);
    this.version++;
  }

  /** Loads persisted documents and index specs without per-document index maintenance. */
  load(docs: Doc[], specs: IndexSpec[]): void {
    for (const doc of docs) this.docs.set(idKey(doc._id), doc);
    this.idIndex.build(docs);
    for (const spec of specs) if (spec.name !== ID_INDEX.name) this.addIndex(spec);
  }

  dropIndex(name: string): void {
    this.indexes.delete(name);
    this.version++;
  }
}
