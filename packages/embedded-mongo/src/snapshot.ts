import { open, rename, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { BSON } from 'bson';
import { idKey } from './bson-values.js';
import { ID_INDEX, indexFor, type Collection, type FrozenCollection } from './collection.js';
import { decodeDocument } from './fast-bson.js';
import { frame, frameParts, readFrames } from './frames.js';
import type { Doc, Entry, IndexSpec, KeyIndex } from './key-index.js';
import type { FrozenPostings, Posting } from './text/inverted-index.js';
import { postingRecords, readPostings, sortTogether } from './text/posting-records.js';
import { TextIndex } from './text/text-index.js';
import type { Store } from './store.js';

/**
 * Snapshot file: a sequence of checksummed frames (see frames.ts), each payload starting with
 * its kind. Per collection: a COLLECTION frame (names, index specs), DOCS frames (BSON documents
 * in _id order) and, per secondary index, INDEX frames listing its entries in index order as
 * (document number, key number) pairs. Loading therefore never sorts: the _id index is the
 * documents' order and every other index is read in order. A text index has TEXT frames
 * instead: its postings (term, document numbers, scores), so loading it tokenises nothing
 * (version 1 files had none; their text indexes are rebuilt from the documents at load).
 * An END frame closes a complete file.
 */
const MAGIC = Buffer.from('parley-embedded-mongo snapshot 2');
const MAGIC_V1 = Buffer.from('parley-embedded-mongo snapshot 1');
const KIND = { header: 0, collection: 1, docs: 2, index: 3, end: 4, text: 5 } as const;

/** Frames are cut at about this size. */
const FRAME_BYTES = 1024 * 1024;
/** Work done between two yields to the event loop, so writes never wait long on a snapshot. */
const SLICE_MS = 2;

function kindByte(kind: number): Buffer {
  return Buffer.of(kind);
}

/** Yields to the event loop whenever the current slice of work has run for SLICE_MS. */
class Slicer {
  private started = performance.now();
  private count = 0;

  constructor(private readonly signal: AbortSignal | undefined) {}

  async tick(): Promise<void> {
    if (++this.count % 64 !== 0) return;
    if (performance.now() - this.started < SLICE_MS) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.signal?.throwIfAborted();
    this.started = performance.now();
  }
}

class FrameWriter {
  private parts: Uint8Array[] = [];
  private bytes = 0;

  constructor(
    private readonly fh: FileHandle,
    private readonly kind: number,
    private readonly prefix: Buffer = Buffer.alloc(0),
  ) {}

  async add(part: Uint8Array): Promise<void> {
    this.parts.push(part);
    this.bytes += part.length;
    if (this.bytes >= FRAME_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const parts = frameParts([kindByte(this.kind), this.prefix, ...this.parts]);
    this.parts = [];
    this.bytes = 0;
    await this.fh.writev(parts);
  }
}

/**
 * Writes a consistent image of the frozen collections to `file` (through `file.tmp`, synced,
 * then renamed, then the directory synced), yielding to the event loop every few milliseconds;
 * `signal` abandons it (the temp file is left for the caller to remove).
 */
export async function writeSnapshot(
  file: string,
  collections: FrozenCollection[],
  signal?: AbortSignal,
): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w');
  const slicer = new Slicer(signal);
  try {
    await fh.write(frame(Buffer.concat([kindByte(KIND.header), MAGIC])));
    for (const c of collections) {
      const idIndex = c.indexes.find((i) => i.index.spec.name === ID_INDEX.name);
      const secondary = c.indexes.filter((i) => i !== idIndex);
      const meta = { db: c.db, coll: c.name, indexes: secondary.map((i) => i.index.spec) };
      await fh.write(frame(Buffer.concat([kindByte(KIND.collection), BSON.serialize(meta)])));
      const ordinals = new Map<string, number>();
      const docs = new FrameWriter(fh, KIND.docs);
      for (const block of idIndex?.blocks ?? []) {
        for (const e of block) {
          const doc = c.doc(e.ik);
          if (!doc) throw new Error(`snapshot of ${c.db}.${c.name}: _id ${e.ik} has no document`);
          ordinals.set(e.ik, ordinals.size);
          await docs.add(BSON.serialize(doc));
          await slicer.tick();
        }
      }
      await docs.flush();
      for (let n = 0; n < secondary.length; n++) {
        const { index, blocks, postings } = secondary[n] as FrozenCollection['indexes'][number];
        const prefix = Buffer.alloc(4);
        prefix.writeUInt32LE(n, 0);
        if (postings) {
          await writePostings(new FrameWriter(fh, KIND.text, prefix), postings, ordinals, slicer);
          continue;
        }
        const out = new FrameWriter(fh, KIND.index, prefix);
        const multikey = index.multikeyPaths.size > 0;
        for (const block of blocks) {
          const pairs = Buffer.allocUnsafe(block.length * 8);
          block.forEach((e, i) => {
            const ordinal = ordinals.get(e.ik);
            if (ordinal === undefined) throw new Error(`index entry for a missing _id ${e.ik}`);
            pairs.writeUInt32LE(ordinal, i * 8);
            pairs.writeUInt32LE(
              multikey ? keyNumber(index, c.doc(e.ik) as Doc, e.k) : 0,
              i * 8 + 4,
            );
          });
          await out.add(pairs);
          await slicer.tick();
        }
        await out.flush();
      }
    }
    await fh.write(
      frame(
        Buffer.concat([kindByte(KIND.end), BSON.serialize({ collections: collections.length })]),
      ),
    );
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  await syncDirectory(path.dirname(file));
}

/** A text index's postings, by document number (ascending), as TEXT frame records. */
async function writePostings(
  out: FrameWriter,
  frozen: FrozenPostings,
  ordinals: Map<string, number>,
  slicer: Slicer,
): Promise<void> {
  const ordinalOf = new Int32Array(frozen.slots).fill(-1);
  for (const [ik, ordinal] of ordinals) {
    const slot = frozen.slotOf(ik);
    if (slot !== undefined) ordinalOf[slot] = ordinal;
    await slicer.tick();
  }
  for (const p of frozen.postings()) {
    const docs: number[] = [];
    const scores: number[] = [];
    let sorted = true;
    for (let i = 0; i < p.slots.length; i++) {
      const ordinal = ordinalOf[p.slots[i] as number];
      if (ordinal === undefined || ordinal < 0) continue; // removed before the freeze
      if (docs.length > 0 && ordinal < (docs.at(-1) as number)) sorted = false;
      docs.push(ordinal);
      scores.push(p.scores[i] as number);
    }
    if (!sorted) sortTogether(docs, scores);
    for (const record of postingRecords(p.term, docs, scores)) await out.add(record);
    await slicer.tick();
  }
  await out.flush();
}

function keyNumber(index: KeyIndex, doc: Doc, key: unknown[]): number {
  const keys = index.rawKeys(doc);
  const found = keys.findIndex((k) => index.compareKeys(k, key) === 0);
  if (found < 0) throw new Error(`index ${index.spec.name}: entry key not found in its document`);
  return found;
}

/** Makes a rename or unlink in `dir` durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

interface Loading {
  coll: Collection;
  docs: Doc[];
  ids: Entry[];
  indexes: KeyIndex[];
  entries: Entry[][];
  postings: Posting[][];
}

/**
 * Puts a loaded collection's index entries in place (they are already in order). Text indexes
 * take their postings, or are rebuilt from the documents when the file predates them.
 */
function finish(c: Loading | undefined, version: number): void {
  if (!c) return;
  c.coll.idIndex.loadSorted(c.ids);
  c.indexes.forEach((index, n) => {
    if (!(index instanceof TextIndex)) index.loadSorted(c.entries[n] as Entry[]);
    else if (version === 1) index.build(c.docs);
    else
      index.loadPostings(
        c.ids.map((e) => e.ik),
        c.docs,
        c.postings[n] as Posting[],
      );
  });
}

/** Loads a snapshot written by `writeSnapshot` into an empty store; returns the document count. */
export async function loadSnapshot(file: string, store: Store): Promise<number> {
  const fh = await open(file, 'r');
  let current: Loading | undefined;
  let ended = false;
  let documents = 0;
  let version = 0;
  try {
    const scan = await readFrames(fh, 0, ({ payload }) => {
      const kind = payload[0];
      const body = payload.subarray(1);
      if (ended) throw new Error('data after the end frame');
      switch (kind) {
        case KIND.header:
          if (body.equals(MAGIC)) version = 2;
          else if (body.equals(MAGIC_V1)) version = 1;
          else throw new Error('not a snapshot of this engine (bad header)');
          return;
        case KIND.collection: {
          finish(current, version);
          const meta = BSON.deserialize(body) as { db: string; coll: string; indexes: IndexSpec[] };
          const coll = store.ensureCollection(meta.db, meta.coll);
          const indexes = meta.indexes.map(indexFor);
          for (const index of indexes) coll.indexes.set(index.spec.name, index);
          current = {
            coll,
            docs: [],
            ids: [],
            indexes,
            entries: indexes.map(() => []),
            postings: indexes.map(() => []),
          };
          return;
        }
        case KIND.docs: {
          const c = need(current);
          const map = c.coll.docs;
          for (let pos = 0; pos < body.length;) {
            const doc = decodeDocument(body, pos);
            pos += body.readInt32LE(pos);
            const id = doc._id;
            const ik = idKey(id);
            c.docs.push(doc);
            map.set(ik, doc);
            c.ids.push({ k: [id], id, ik });
            documents++;
          }
          return;
        }
        case KIND.index: {
          const c = need(current);
          const n = body.readUInt32LE(0);
          const index = c.indexes[n];
          const entries = c.entries[n];
          if (!index || !entries) throw new Error('index frame for an unknown index');
          for (let pos = 4; pos < body.length; pos += 8) {
            const ordinal = body.readUInt32LE(pos);
            const doc = c.docs[ordinal];
            const entry = c.ids[ordinal];
            let k = doc && index.rawKeys(doc)[body.readUInt32LE(pos + 4)];
            if (!entry || !k) throw new Error(`index ${index.spec.name}: entry out of range`);
            // Equal keys are neighbours in index order: share one key array (fewer survivors).
            const previous = entries.at(-1)?.k;
            if (previous && index.compareKeys(previous, k) === 0) k = previous;
            entries.push({ k, id: entry.id, ik: entry.ik });
          }
          return;
        }
        case KIND.text: {
          const postings = need(current).postings[body.readUInt32LE(0)];
          if (!postings) throw new Error('text frame for an unknown index');
          readPostings(body, 4, postings);
          return;
        }
        case KIND.end:
          finish(current, version);
          current = undefined;
          ended = true;
          return;
        default:
          throw new Error(`unknown frame kind ${String(kind)}`);
      }
    });
    if (scan.damage) throw new Error(scan.damage);
    if (!ended) throw new Error('the snapshot has no end frame');
  } catch (err) {
    throw new Error(`cannot load snapshot ${file}: ${(err as Error).message}`, { cause: err });
  } finally {
    await fh.close();
  }
  return documents;
}

function need(current: Loading | undefined): Loading {
  if (!current) throw new Error('document frame before any collection frame');
  return current;
}
