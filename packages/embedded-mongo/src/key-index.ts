import type { Query } from 'mingo/query';
import { compareValues, idKey, pathValues } from './bson-values.js';
import { EntryList } from './entry-list.js';
import { encodeEntry } from './sort-key.js';
import { compileQuery, filterPaths } from './matcher.js';

export type Doc = Record<string, unknown>;

/** An index definition as clients send it to `createIndexes` and read it from `listIndexes`. */
export interface IndexSpec {
  key: Record<string, number | string>;
  name: string;
  unique?: boolean;
  sparse?: boolean;
  partialFilterExpression?: Doc;
  expireAfterSeconds?: number;
  /** Text indexes (see text/text-spec.ts): field weights, languages, version. */
  weights?: Record<string, number>;
  default_language?: string;
  language_override?: string;
  textIndexVersion?: number;
}

/** One index entry; `ik` is the canonical _id key that identifies the document. */
export interface Entry {
  k: unknown[];
  id: unknown;
  ik: string;
}

/** Whether two plain field paths overlap: equal, or one leads into the other (`a`, `a.b`). */
export function pathsOverlap(a: string, b: string): boolean {
  if (a.length === b.length) return a === b;
  const [short, long] = a.length < b.length ? [a, b] : [b, a];
  return long.startsWith(short) && long.charCodeAt(short.length) === 46; // '.'
}

/** Limit on keys per document for compound multikey indexes (MongoDB forbids parallel arrays). */
const MAX_KEYS_PER_DOC = 10_000;

/**
 * A secondary (or _id) index: entries kept sorted by (key fields with direction, _id) in an
 * `EntryList` (blocks, so a write moves one block, not the whole index).
 * The _id tie-break makes every index also ordered by _id within equal keys.
 */
export class KeyIndex {
  readonly spec: IndexSpec;
  readonly fields: string[];
  readonly dirs: number[];
  entries = new EntryList<Entry>();
  readonly multikeyPaths = new Set<string>();
  private readonly partial: Query | undefined;
  /** Per field: no dot in the path, so its value is read directly. */
  private readonly topLevel: boolean[];
  /** The paths `keysFor` reads (key fields and the partial filter's), if they can be told. */
  private readonly keyPaths: readonly string[] | undefined;

  constructor(spec: IndexSpec) {
    this.spec = spec;
    this.fields = Object.keys(spec.key);
    this.dirs = this.fields.map((f) => (spec.key[f] === -1 ? -1 : 1));
    this.topLevel = this.fields.map((f) => !f.includes('.'));
    this.partial = spec.partialFilterExpression
      ? compileQuery(spec.partialFilterExpression)
      : undefined;
    const filtered = spec.partialFilterExpression ? filterPaths(spec.partialFilterExpression) : [];
    // A `$` part (say a wildcard `a.$**`) is no plain path: any change may matter.
    const plain = !this.fields.some((f) => f.split('.').some((part) => part.startsWith('$')));
    this.keyPaths = plain && filtered ? [...this.fields, ...filtered] : undefined;
  }

  /** The document paths `keysFor` reads; undefined when any path may matter. */
  protected pathsRead(): readonly string[] | undefined {
    return this.keyPaths;
  }

  /**
   * Whether an update that changed only the `touched` paths (plain paths, no array positions)
   * may change this document's keys: false when none of them overlaps a path `keysFor` reads,
   * so the update can leave this index alone.
   */
  mayChange(touched: readonly string[]): boolean {
    const read = this.pathsRead();
    if (read === undefined) return true;
    for (const t of touched) for (const r of read) if (pathsOverlap(t, r)) return true;
    return false;
  }

  /** Whether query plans may rely on this index holding every document. */
  get complete(): boolean {
    return !this.spec.sparse && this.partial === undefined;
  }

  /** The keys a document contributes (several when a field holds an array). */
  keysFor(doc: Doc): unknown[][] {
    if (this.partial && !this.partial.test(doc)) return [];
    return this.expandKeys(doc, this.spec.sparse === true);
  }

  /**
   * `keysFor` without the partial filter or sparseness: a snapshot names an entry by its
   * document and its position in this list, which is cheaper to rebuild than to filter again.
   */
  rawKeys(doc: Doc): unknown[][] {
    return this.expandKeys(doc, false);
  }

  private expandKeys(doc: Doc, sparse: boolean): unknown[][] {
    const perField: unknown[][] = [];
    let combos = 1;
    for (let i = 0; i < this.fields.length; i++) {
      const f = this.fields[i] as string;
      // A top-level field holding a non-array value is its own single key value.
      const direct = this.topLevel[i] ? doc[f] : undefined;
      const values = this.topLevel[i] && !Array.isArray(direct) ? [direct] : pathValues(doc, f);
      if (values.length > 1) this.multikeyPaths.add(f);
      combos *= values.length;
      perField.push(values);
    }
    if (sparse && perField.every((vs) => vs.length === 1 && vs[0] === undefined)) {
      return [];
    }
    if (combos === 1) return [perField.map((vs) => vs[0])];
    let keys: unknown[][] = [[]];
    for (const values of perField) {
      const next: unknown[][] = [];
      for (const prefix of keys) for (const v of values) next.push([...prefix, v]);
      keys = next.length > MAX_KEYS_PER_DOC ? next.slice(0, MAX_KEYS_PER_DOC) : next;
    }
    return keys;
  }

  compareKeys(a: unknown[], b: unknown[]): number {
    for (let i = 0; i < this.dirs.length; i++) {
      const c = compareValues(a[i], b[i]);
      if (c !== 0) return c * (this.dirs[i] as number);
    }
    return 0;
  }

  private compareEntries(a: Entry, b: Entry): number {
    const byKey = this.compareKeys(a.k, b.k);
    if (byKey !== 0) return byKey;
    // Two ObjectIds: their canonical keys are 'o' + lower-case hex, which sorts like the bytes.
    if (a.ik.charCodeAt(0) === 111 && b.ik.charCodeAt(0) === 111) {
      return a.ik < b.ik ? -1 : a.ik > b.ik ? 1 : 0;
    }
    return compareValues(a.id, b.id);
  }

  /** First position whose entry satisfies `pred` (which must be monotonic over the order). */
  firstWhere(pred: (e: Entry) => boolean): number {
    return this.entries.firstWhere(pred);
  }

  add(doc: Doc, keys: unknown[][] = this.keysFor(doc)): void {
    const id = doc._id;
    const ik = idKey(id);
    for (const k of keys) {
      const entry = { k, id, ik };
      this.entries.insert(entry, (x) => this.compareEntries(x, entry) >= 0);
    }
  }

  remove(doc: Doc, keys: unknown[][] = this.keysFor(doc)): void {
    const id = doc._id;
    const ik = idKey(id);
    for (const k of keys) {
      const probe = { k, id, ik };
      this.entries.removeFirst(
        (x) => this.compareEntries(x, probe) >= 0,
        (found) => found.ik === ik && this.compareKeys(found.k, k) === 0,
      );
    }
  }

  /** Whether two key lists (from `keysFor`) hold the same keys in the same order. */
  sameKeys(a: unknown[][], b: unknown[][]): boolean {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      if (this.compareKeys(a[i] as unknown[], b[i] as unknown[]) !== 0) return false;
    }
    return true;
  }

  /** Takes entries already in index order (from a snapshot) without sorting. */
  loadSorted(entries: Entry[]): void {
    this.entries = EntryList.fromSorted(entries);
  }

  /** Bulk build from existing documents: one sort instead of n inserts. Returns a duplicate key, if any. */
  build(docs: Iterable<Doc>): unknown[] | undefined {
    const all: Entry[] = [...this.entries];
    for (const doc of docs) {
      const id = doc._id;
      const ik = idKey(id);
      for (const k of this.keysFor(doc)) all.push({ k, id, ik });
    }
    this.sortEntries(all);
    this.entries = EntryList.fromSorted(all);
    if (!this.spec.unique) return undefined;
    for (let i = 1; i < all.length; i++) {
      const a = all[i - 1] as Entry;
      const b = all[i] as Entry;
      if (a.ik !== b.ik && this.compareKeys(a.k, b.k) === 0) return b.k;
    }
    return undefined;
  }

  /**
   * Brings the index up to date with many changed documents in one pass: drops every entry of
   * the canonical `_id` keys in `removed`, sorts the entries of `added` alone and merges them
   * into the (already ordered) rest. Cheaper than `build` when most entries are unchanged, e.g.
   * a loaded snapshot followed by a journal replay.
   */
  merge(removed: ReadonlySet<string>, added: Iterable<Doc>): void {
    const fresh: Entry[] = [];
    for (const doc of added) {
      const id = doc._id;
      const ik = idKey(id);
      for (const k of this.keysFor(doc)) fresh.push({ k, id, ik });
    }
    this.sortEntries(fresh);
    const out: Entry[] = [];
    let j = 0;
    for (const e of this.entries) {
      if (removed.has(e.ik)) continue;
      while (j < fresh.length && this.compareEntries(fresh[j] as Entry, e) < 0) {
        out.push(fresh[j++] as Entry);
      }
      out.push(e);
    }
    while (j < fresh.length) out.push(fresh[j++] as Entry);
    this.entries = EntryList.fromSorted(out);
  }

  /**
   * Sorts entries into index order. When every key has a string encoding (sort-key.ts), sorts
   * the encodings with the built-in string sort (no comparison callback), each tagged with its
   * entry's position in two trailing code units; otherwise falls back to `compareEntries`.
   */
  private sortEntries(all: Entry[]): void {
    const tagged: string[] = new Array<string>(all.length);
    for (let i = 0; i < all.length; i++) {
      const e = all[i] as Entry;
      const s = encodeEntry(e.k, this.dirs, e.id);
      if (s === undefined) {
        all.sort((a, b) => this.compareEntries(a, b));
        return;
      }
      tagged[i] = s + String.fromCharCode(i >>> 16, i & 0xffff);
    }
    tagged.sort();
    const source = all.slice();
    for (let i = 0; i < tagged.length; i++) {
      const s = tagged[i] as string;
      all[i] = source[(s.charCodeAt(s.length - 2) << 16) | s.charCodeAt(s.length - 1)] as Entry;
    }
  }

  /** For unique indexes: a key of `doc` already held by another document, if any. */
  findDuplicate(doc: Doc, keys: unknown[][] = this.keysFor(doc)): unknown[] | undefined {
    if (!this.spec.unique) return undefined;
    const ik = idKey(doc._id);
    for (const k of keys) {
      const at = this.firstWhere((x) => this.compareKeys(x.k, k) >= 0);
      for (const e of this.entries.range(at, this.entries.length)) {
        if (this.compareKeys(e.k, k) !== 0) break;
        if (e.ik !== ik) return k;
      }
    }
    return undefined;
  }

  /** Field/value object for duplicate-key errors; missing values show as null. */
  keyValue(k: unknown[]): Doc {
    const out: Doc = {};
    this.fields.forEach((f, i) => {
      out[f] = k[i] === undefined ? null : k[i];
    });
    return out;
  }
}
