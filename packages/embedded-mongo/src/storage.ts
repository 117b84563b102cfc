import { closeSync, openSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { idKey } from './bson-values.js';
import { indexFor, type Collection, type FrozenCollection } from './collection.js';
import { encodeRecord, GroupCommitWriter, readJournal, type JournalFile } from './journal.js';
import type { Doc } from './key-index.js';
import type { EngineLogger } from './logger.js';
import { loadSnapshot, syncDirectory, writeSnapshot } from './snapshot.js';
import { TextIndex } from './text/text-index.js';
import type { Change, Store } from './store.js';

/**
 * Durability for a store with a data directory. Files:
 * - `journal-N.wal`: the write-ahead journal (one checksummed record per command that changed
 *   something), appended and fdatasync'ed before the command is acknowledged.
 * - `snapshot-N.snap`: the whole store as it was when `journal-N.wal` was started, so it covers
 *   every journal numbered below N; those are deleted once it is complete.
 * - `LOCK`: the pid of the process using the directory.
 * Start-up loads the newest snapshot and replays the journals from its number on.
 */
export interface StorageOptions {
  dir: string;
  logger: EngineLogger;
  /** Journal bytes after which a snapshot is started in the background. */
  snapshotJournalBytes: number;
}

const JOURNAL = /^journal-(\d+)\.wal$/;
const SNAPSHOT = /^snapshot-(\d+)\.snap$/;

function name(kind: 'journal' | 'snapshot', gen: number): string {
  const n = String(gen).padStart(10, '0');
  return kind === 'journal' ? `journal-${n}.wal` : `snapshot-${n}.snap`;
}

function gens(files: string[], pattern: RegExp): number[] {
  return files
    .map((f) => pattern.exec(f)?.[1])
    .filter((g): g is string => g !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

export class Storage {
  private readonly writer = new GroupCommitWriter();
  private journal: JournalFile;
  /** Journals still open although no longer appended to (until a snapshot covers them). */
  private retired: JournalFile[] = [];
  private bytesSinceSnapshot: number;
  private snapshotting: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly store: Store,
    private readonly options: StorageOptions,
    journal: JournalFile,
    journalBytes: number,
  ) {
    this.journal = journal;
    this.bytesSinceSnapshot = journalBytes;
  }

  /** Takes the directory's lock, recovers the store from it and opens a new journal. */
  static async open(store: Store, options: StorageOptions): Promise<Storage> {
    const { dir, logger } = options;
    await mkdir(dir, { recursive: true });
    await acquireLock(dir);
    try {
      const started = performance.now();
      const files = await readdir(dir);
      for (const f of files) if (f.endsWith('.tmp')) await rm(path.join(dir, f), { force: true });
      const base = gens(files, SNAPSHOT).at(-1) ?? 0;
      let documents = 0;
      if (base > 0) documents = await loadSnapshot(path.join(dir, name('snapshot', base)), store);
      const loadedMs = performance.now() - started;
      const journals = gens(files, JOURNAL).filter((g) => g >= base);
      const { records, bytes } = await replayJournals(store, dir, journals, logger);
      await removeCovered(dir, files, base);
      const gen = Math.max(base, journals.at(-1) ?? 0) + 1;
      const journal: JournalFile = {
        gen,
        fd: openSync(path.join(dir, name('journal', gen)), 'a'),
        size: 0,
      };
      await syncDirectory(dir);
      store.changes.recording = true;
      logger.info(
        {
          dir,
          snapshot: base > 0 ? name('snapshot', base) : null,
          documents,
          journalRecords: records,
          loadMs: Math.round(loadedMs),
          recoveryMs: Math.round(performance.now() - started),
        },
        'embedded MongoDB recovered its data directory',
      );
      return new Storage(store, options, journal, bytes);
    } catch (err) {
      await releaseLock(dir);
      throw err;
    }
  }

  /** Failed after an I/O error: no write has been acknowledged since. */
  get failed(): Error | undefined {
    return this.writer.failed;
  }

  /**
   * Journals the changes of the command just executed. Undefined when it changed nothing;
   * otherwise resolves once they are on disk (the command may be acknowledged then).
   */
  commit(): Promise<void> | undefined {
    const changes = this.store.changes.take();
    if (changes.length === 0) return undefined;
    let record: Uint8Array[];
    try {
      record = encodeRecord(changes);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const done = this.writer.append(this.journal, record);
    for (const part of record) this.bytesSinceSnapshot += part.length;
    if (
      this.bytesSinceSnapshot >= this.options.snapshotJournalBytes &&
      !this.snapshotting &&
      !this.closed
    ) {
      this.snapshotting = this.snapshot().finally(() => {
        this.snapshotting = undefined;
      });
    }
    return done;
  }

  /** Starts a snapshot now (unless one is running) and resolves when it is complete. */
  async snapshotNow(): Promise<void> {
    if (this.snapshotting) await this.snapshotting;
    this.snapshotting = this.snapshot().finally(() => {
      this.snapshotting = undefined;
    });
    await this.snapshotting;
  }

  /**
   * Switches to a new journal and freezes every collection in the same synchronous step, then
   * writes the frozen image in the background, a slice of a few milliseconds at a time. Once
   * the snapshot is durable, the journals it covers are deleted. A failed snapshot keeps them.
   */
  private async snapshot(): Promise<void> {
    try {
      await this.writeSnapshot();
    } catch (err) {
      this.options.logger.error({ err }, 'embedded MongoDB snapshot failed');
    }
  }

  private async writeSnapshot(): Promise<void> {
    const { dir, logger } = this.options;
    const started = performance.now();
    const gen = this.journal.gen + 1;
    const next: JournalFile = {
      gen,
      fd: openSync(path.join(dir, name('journal', gen)), 'a'),
      size: 0,
    };
    this.retired.push(this.journal);
    this.journal = next;
    this.bytesSinceSnapshot = 0;
    const colls: Collection[] = [];
    for (const dbColls of this.store.databases.values()) colls.push(...dbColls.values());
    const frozen: FrozenCollection[] = colls.map((c) => c.freeze());
    const file = path.join(dir, name('snapshot', gen));
    try {
      await syncDirectory(dir);
      await writeSnapshot(file, frozen);
    } catch (err) {
      logger.error({ err, file }, 'embedded MongoDB snapshot failed');
      await rm(`${file}.tmp`, { force: true });
      return;
    } finally {
      for (const c of colls) c.thaw();
    }
    // Everything queued for the old journals is covered by the snapshot; let it finish first.
    await this.writer.barrier().catch(() => undefined);
    const covered = this.retired.filter((j) => j.gen < gen);
    this.retired = this.retired.filter((j) => j.gen >= gen);
    for (const j of covered) closeSync(j.fd);
    await removeCovered(dir, await readdir(dir), gen);
    await syncDirectory(dir);
    logger.info(
      { file, collections: colls.length, ms: Math.round(performance.now() - started) },
      'embedded MongoDB snapshot written; older journals removed',
    );
  }

  /**
   * Waits for journal writes in flight and lets a running snapshot finish (abandoning it would
   * leave its journals to replay at the next start: after seeding 500,000 messages that was
   * 224,000 of them), then releases the directory. No new snapshot is started here.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.snapshotting;
    let failure: Error | undefined;
    await this.writer.barrier().catch((err: unknown) => {
      failure = err instanceof Error ? err : new Error(String(err));
    });
    for (const j of [...this.retired, this.journal]) closeSync(j.fd);
    await releaseLock(this.options.dir);
    if (failure) throw failure;
  }
}

/** Deletes the journals and snapshots that the snapshot numbered `base` covers. */
async function removeCovered(dir: string, files: string[], base: number): Promise<void> {
  for (const f of files) {
    const j = JOURNAL.exec(f)?.[1];
    const s = SNAPSHOT.exec(f)?.[1];
    if ((j !== undefined && Number(j) < base) || (s !== undefined && Number(s) < base)) {
      await rm(path.join(dir, f), { force: true });
    }
  }
}

/**
 * Replays journals in order. A damaged tail (a crash in the middle of an append) is dropped and
 * cut off the file; damage followed by more journal data is not a torn append but corruption,
 * so recovery refuses to guess and fails.
 */
async function replayJournals(
  store: Store,
  dir: string,
  journals: number[],
  logger: EngineLogger,
): Promise<{ records: number; bytes: number }> {
  const replay = new Replay(store);
  let records = 0;
  let bytes = 0;
  let damagedAt: string | undefined;
  for (const gen of journals) {
    const file = path.join(dir, name('journal', gen));
    if (damagedAt) {
      if ((await stat(file)).size === 0) continue;
      throw new Error(
        `journal ${damagedAt} is damaged but a later journal (${file}) holds data; ` +
          'refusing to recover around it: move the data directory aside and restore it by hand',
      );
    }
    const scan = await readJournal(file, (changes) => {
      records++;
      for (const change of changes) replay.apply(change);
    });
    bytes += scan.validEnd;
    if (scan.damage) {
      const size = (await stat(file)).size;
      logger.warn(
        { file, damage: scan.damage, droppedBytes: size - scan.validEnd },
        'embedded MongoDB journal ends in a torn record (a crash during an append): dropped it',
      );
      await truncate(file, scan.validEnd);
      damagedAt = file;
    }
  }
  replay.finish();
  return { records, bytes };
}

/**
 * Applies journal changes to the documents only, remembering each touched document's version
 * before replay, then brings the indexes up to date in one step per collection: entry by entry
 * when under an eighth of the documents changed, or rebuilt in bulk (one sort) otherwise.
 */
class Replay {
  private readonly touched = new Map<Collection, Map<string, Doc | undefined>>();
  private readonly rebuild = new Set<Collection>();

  constructor(private readonly store: Store) {}

  apply(change: Change): void {
    switch (change.op) {
      case 'put': {
        const coll = this.ensure(change.db, change.coll);
        const ik = idKey(change.doc._id);
        this.remember(coll, ik);
        coll.docs.set(ik, change.doc);
        return;
      }
      case 'delete': {
        const coll = this.store.collection(change.db, change.coll);
        if (!coll) return;
        const ik = idKey(change.id);
        this.remember(coll, ik);
        coll.docs.delete(ik);
        return;
      }
      case 'create':
        this.ensure(change.db, change.coll);
        return;
      case 'drop':
        this.store.dropCollection(change.db, change.coll);
        return;
      case 'createIndex': {
        const coll = this.ensure(change.db, change.coll);
        coll.indexes.set(change.spec.name, indexFor(change.spec));
        this.rebuild.add(coll);
        return;
      }
      case 'dropIndex':
        this.store.collection(change.db, change.coll)?.indexes.delete(change.name);
        return;
    }
  }

  private ensure(db: string, name: string): Collection {
    const existed = this.store.collection(db, name);
    const coll = this.store.ensureCollection(db, name);
    if (!existed) this.rebuild.add(coll);
    return coll;
  }

  private remember(coll: Collection, ik: string): void {
    let before = this.touched.get(coll);
    if (!before) {
      before = new Map();
      this.touched.set(coll, before);
    }
    if (!before.has(ik)) before.set(ik, coll.docs.get(ik));
  }

  finish(): void {
    for (const dbColls of this.store.databases.values()) {
      for (const coll of dbColls.values()) {
        const before = this.touched.get(coll);
        if (this.rebuild.has(coll)) {
          for (const [name, index] of coll.indexes) {
            const fresh = indexFor(index.spec);
            fresh.build(coll.docs.values());
            coll.indexes.set(name, fresh);
          }
          continue;
        }
        if (before && before.size * 8 > coll.docs.size) {
          this.merge(coll, before);
          continue;
        }
        for (const [ik, pre] of before ?? []) {
          const post = coll.docs.get(ik);
          for (const index of coll.indexes.values()) {
            if (pre) index.remove(pre);
            if (post) index.add(post);
          }
        }
      }
    }
  }

  /**
   * Many documents changed since the snapshot, but its indexes were loaded in order: drop the
   * changed documents' old entries and merge in their new ones (one sort of the changed ones
   * only). A text index (loaded with its postings) drops the changed documents and takes their
   * new versions in one bulk add, or is rebuilt when most of the collection changed.
   */
  private merge(coll: Collection, before: Map<string, Doc | undefined>): void {
    const removed = new Set<string>();
    const added: Doc[] = [];
    for (const [ik, pre] of before) {
      if (pre) removed.add(ik);
      const post = coll.docs.get(ik);
      if (post) added.push(post);
    }
    for (const [name, index] of coll.indexes) {
      if (!(index instanceof TextIndex)) index.merge(removed, added);
      else if (before.size * 2 > coll.docs.size) {
        const fresh = indexFor(index.spec);
        fresh.build(coll.docs.values());
        coll.indexes.set(name, fresh);
      } else {
        for (const pre of before.values()) if (pre) index.remove(pre);
        index.build(added);
      }
    }
  }
}

const LOCK = 'LOCK';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** One engine per directory: a LOCK file holding the owner's pid (stale after a crash). */
async function acquireLock(dir: string): Promise<void> {
  const file = path.join(dir, LOCK);
  for (;;) {
    try {
      const fh = await open(file, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = await liveLockOwner(dir);
    if (owner !== null) {
      throw new Error(`data directory ${dir} is in use by process ${owner} (${file})`);
    }
    await rm(file, { force: true });
  }
}

/** The pid in `dir`'s LOCK if that process is alive; null when unlocked or left by a crash. */
async function liveLockOwner(dir: string): Promise<number | null> {
  const owner = Number((await readFile(path.join(dir, LOCK), 'utf8').catch(() => '')).trim());
  return Number.isInteger(owner) && owner > 0 && alive(owner) ? owner : null;
}

const ADDRESS = 'ADDRESS';

/**
 * Names a running engine's address in its data directory (`ADDRESS`), for tools that want the
 * data of a process that holds it (`npm run cli` beside `npm start`); removed at stop.
 */
export async function advertiseAddress(dir: string, uri: string): Promise<() => Promise<void>> {
  const file = path.join(dir, ADDRESS);
  await writeFile(file, `${uri}\n`);
  return () => rm(file, { force: true });
}

/**
 * The address of the engine running on `dir` (its LOCK's process is alive and it named one),
 * or null: nothing runs there, or it crashed and left both files behind.
 */
export async function runningEngineAddress(dir: string): Promise<string | null> {
  const [owner, address] = await Promise.all([
    liveLockOwner(dir),
    readFile(path.join(dir, ADDRESS), 'utf8').catch(() => ''),
  ]);
  return owner !== null && address.trim() ? address.trim() : null;
}

async function releaseLock(dir: string): Promise<void> {
  await rm(path.join(dir, LOCK), { force: true });
}
