import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BSON } from 'bson';
import type { EngineLogger } from './logger.js';
import type { Doc, IndexSpec } from './key-index.js';
import type { Store } from './store.js';

/**
 * One file per collection: a BSON meta document `{ indexes }` followed by the documents,
 * written to a temp file and renamed so a crash never leaves a half-written collection.
 */
const EXT = '.bson';

function fileOf(dir: string, ns: { db: string; name: string }): string {
  return path.join(dir, encodeURIComponent(ns.db), encodeURIComponent(ns.name) + EXT);
}

function splitNs(ns: string): { db: string; name: string } {
  const dot = ns.indexOf('.');
  return { db: ns.slice(0, dot), name: ns.slice(dot + 1) };
}

function readDocs(buf: Buffer): Doc[] {
  const docs: Doc[] = [];
  for (let pos = 0; pos < buf.length;) {
    const size = buf.readInt32LE(pos);
    docs.push(BSON.deserialize(buf.subarray(pos, pos + size)));
    pos += size;
  }
  return docs;
}

export async function loadStore(store: Store, dir: string, logger: EngineLogger): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const dbEntry of await readdir(dir, { withFileTypes: true })) {
    if (!dbEntry.isDirectory()) continue;
    const db = decodeURIComponent(dbEntry.name);
    for (const file of await readdir(path.join(dir, dbEntry.name))) {
      if (!file.endsWith(EXT)) continue;
      const name = decodeURIComponent(file.slice(0, -EXT.length));
      const [meta, ...docs] = readDocs(await readFile(path.join(dir, dbEntry.name, file)));
      const coll = store.ensureCollection(db, name);
      coll.load(docs, (meta?.indexes ?? []) as IndexSpec[]);
      coll.version = 0;
      logger.debug({ ns: coll.ns, docs: docs.length }, 'loaded collection');
    }
  }
}

/** Writes changed collections and deletes dropped ones; flushes never overlap. */
export class Persister {
  private readonly saved = new Map<string, number>();
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly dir: string,
  ) {
    for (const colls of store.databases.values())
      for (const c of colls.values()) this.saved.set(c.ns, c.version);
  }

  /** A failed flush (already reported to its caller) does not stop later flushes from running. */
  flush(): Promise<void> {
    const run = (): Promise<void> => this.flushOnce();
    this.running = this.running.then(run, run);
    return this.running;
  }

  private async flushOnce(): Promise<void> {
    const dropped = [...this.store.dropped];
    this.store.dropped.clear();
    for (const ns of dropped) {
      this.saved.delete(ns);
      await rm(fileOf(this.dir, splitNs(ns)), { force: true });
    }
    // Snapshot synchronously so each file is a consistent image of its collection.
    const pending: Array<{ ns: string; version: number; file: string; data: Buffer }> = [];
    for (const colls of this.store.databases.values()) {
      for (const coll of colls.values()) {
        if (this.saved.get(coll.ns) === coll.version) continue;
        const meta = BSON.serialize({ indexes: [...coll.indexes.values()].map((i) => i.spec) });
        const parts = [meta, ...[...coll.docs.values()].map((d) => BSON.serialize(d))];
        pending.push({
          ns: coll.ns,
          version: coll.version,
          file: fileOf(this.dir, coll),
          data: Buffer.concat(parts),
        });
      }
    }
    // A collection counts as saved only once its file is in place, so a failed write is retried.
    for (const { ns, version, file, data } of pending) {
      await mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, data);
      await rename(tmp, file);
      this.saved.set(ns, version);
    }
  }
}
