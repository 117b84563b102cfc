import { ObjectId } from 'bson';
import { MongoCommandError } from './errors.js';
import { idKey, typeRank } from './bson-values.js';
import { KeyIndex, type Doc, type Entry, type IndexSpec } from './key-index.js';
import type { ChangeLog } from './store.js';
import type { FrozenPostings } from './text/inverted-index.js';
import { TextIndex } from './text/text-index.js';
import { isTextSpec } from './text/text-spec.js';

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

/** An empty index of the kind `spec` describes (text or key). */
export function indexFor(spec: IndexSpec): KeyIndex {
  return isTextSpec(spec) ? new TextIndex(spec) : new KeyIndex(spec);
}

/** A collection as it was when `freeze` was called, readable while it keeps changing. */
export interface FrozenCollection {
  db: string;
  name: string;
  /** Each index's entries; for a text index also its postings. */
  indexes: Array<{ index: KeyIndex; blocks: Entry[][]; postings?: FrozenPostings }>;
  /** The document with this canonical _id key at the time of the freeze. */
  doc(ik: string): Doc | undefined;
}

/**
 * One collection: documents keyed by canonical _id plus its indexes.
 * Every mutation checks all unique indexes before touching anything, so a failed write
 * leaves the collection unchanged; callers run each command synchronously for atomicity.
 */
export class Collection {
  readonly docs = new Map<string, Doc>();
  readonly indexes = new Map<string, KeyIndex>();
  /** While frozen: each changed document's version from before its first change (or none). */
  private before: Map<string, Doc | undefined> | undefined;

  constructor(
    readonly db: string,
    readonly name: string,
    readonly stats: ScanStats,
    private readonly changes?: ChangeLog,
  ) {
    this.indexes.set(ID_INDEX.name, new KeyIndex(ID_INDEX));
  }

  get ns(): string {
    return `${this.db}.${this.name}`;
  }

  get idIndex(): KeyIndex {
    return this.indexes.get(ID_INDEX.name) as KeyIndex;
  }

  /** The collection's text index (MongoDB allows one), if any. */
  get textIndex(): TextIndex | undefined {
    for (const index of this.indexes.values()) if (index instanceof TextIndex) return index;
    return undefined;
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

  /** Inserts a document, generating an ObjectId _id first when missing. */
  insert(input: Doc): Doc {
    const doc = input._id === undefined ? { _id: new ObjectId(), ...input } : idFirst(input);
    if (Array.isArray(doc._id)) {
      throw new MongoCommandError('BadValue', "can't use an array for _id");
    }
    const ik = idKey(doc._id);
    if (this.docs.has(ik)) throw this.duplicateError(this.idIndex, [doc._id]);
    // Keys are computed once per index: for the unique checks, then for the insertion.
    const keyed: Array<[KeyIndex, unknown[][]]> = [];
    for (const index of this.indexes.values()) {
      const keys = index.keysFor(doc);
      const dup = index === this.idIndex ? undefined : index.findDuplicate(doc, keys);
      if (dup) throw this.duplicateError(index, dup);
      keyed.push([index, keys]);
    }
    this.remember(ik);
    this.docs.set(ik, doc);
    for (const [index, keys] of keyed) index.add(doc, keys);
    this.changes?.add({ op: 'put', db: this.db, coll: this.name, doc });
    return doc;
  }

  /**
   * Swaps a stored document for its updated copy (same _id). Indexes whose keys the update
   * left unchanged are not touched; the others are checked for duplicates before any change.
   * With `touched` (the only paths the update may have changed), indexes that read none of
   * them are not even asked for keys: most updates leave every indexed field alone.
   */
  replace(oldDoc: Doc, newDoc: Doc, touched?: readonly string[]): void {
    const changed: Array<[KeyIndex, unknown[][], unknown[][]]> = [];
    for (const index of this.indexes.values()) {
      if (index === this.idIndex) continue;
      if (touched && !index.mayChange(touched)) continue;
      const oldKeys = index.keysFor(oldDoc);
      const newKeys = index.keysFor(newDoc);
      if (index.sameKeys(oldKeys, newKeys)) continue;
      const dup = index.findDuplicate(newDoc, newKeys);
      if (dup) throw this.duplicateError(index, dup);
      changed.push([index, oldKeys, newKeys]);
    }
    for (const [index, oldKeys, newKeys] of changed) {
      index.remove(oldDoc, oldKeys);
      index.add(newDoc, newKeys);
    }
    const ik = idKey(newDoc._id);
    this.remember(ik);
    this.docs.set(ik, newDoc);
    // Whether or not its keys were checked, the text index must hand out the new version.
    this.textIndex?.replaced(newDoc, ik);
    this.changes?.add({ op: 'put', db: this.db, coll: this.name, doc: newDoc });
  }

  remove(doc: Doc): void {
    const ik = idKey(doc._id);
    if (!this.docs.has(ik)) return;
    this.remember(ik);
    this.docs.delete(ik);
    for (const index of this.indexes.values()) index.remove(doc);
    this.changes?.add({ op: 'delete', db: this.db, coll: this.name, id: doc._id });
  }

  /** Builds an index over existing documents; fails (and adds nothing) on duplicates. */
  addIndex(spec: IndexSpec): void {
    const index = indexFor(spec);
    const dup = index.build(this.docs.values());
    if (dup) throw this.duplicateError(index, dup);
    this.indexes.set(spec.name, index);
    this.changes?.add({ op: 'createIndex', db: this.db, coll: this.name, spec });
  }

  dropIndex(name: string): void {
    this.indexes.delete(name);
    this.changes?.add({ op: 'dropIndex', db: this.db, coll: this.name, name });
  }

  private remember(ik: string): void {
    if (this.before && !this.before.has(ik)) this.before.set(ik, this.docs.get(ik));
  }

  /**
   * Starts a consistent read of this collection that may span many event-loop turns while
   * writes go on: documents are immutable, so it is enough to remember each changed document's
   * previous version, and index blocks are copied on write. Call `thaw` when done.
   */
  freeze(): FrozenCollection {
    const before = new Map<string, Doc | undefined>();
    this.before = before;
    const docs = this.docs;
    return {
      db: this.db,
      name: this.name,
      indexes: [...this.indexes.values()].map((index) => ({
        index,
        blocks: index.entries.freeze(),
        postings: index instanceof TextIndex ? index.freezePostings() : undefined,
      })),
      doc: (ik) => (before.has(ik) ? before.get(ik) : docs.get(ik)),
    };
  }

  thaw(): void {
    this.before = undefined;
    for (const index of this.indexes.values()) {
      index.entries.thaw();
      if (index instanceof TextIndex) index.thawPostings();
    }
  }
}
