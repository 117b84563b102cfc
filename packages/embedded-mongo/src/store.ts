import { Long, ObjectId } from 'bson';
import { Collection, type ScanStats } from './collection.js';
import { CursorStore } from './cursors.js';
import { MongoCommandError } from './errors.js';
import type { Doc, IndexSpec } from './key-index.js';

/** One effect of a write, as the journal records it: replaying these rebuilds the state. */
export type Change =
  | { op: 'put'; db: string; coll: string; doc: Doc }
  | { op: 'delete'; db: string; coll: string; id: unknown }
  | { op: 'create'; db: string; coll: string }
  | { op: 'drop'; db: string; coll: string }
  | { op: 'createIndex'; db: string; coll: string; spec: IndexSpec }
  | { op: 'dropIndex'; db: string; coll: string; name: string };

/**
 * Collects the changes of the command being executed, when a journal wants them (`recording`).
 * Documents are never mutated once stored, so keeping references is enough until they are
 * encoded at the end of the command.
 */
export class ChangeLog {
  recording = false;
  private pending: Change[] = [];

  add(change: Change): void {
    if (this.recording) this.pending.push(change);
  }

  /** The changes since the last call (empty when nothing changed). */
  take(): Change[] {
    if (this.pending.length === 0) return this.pending;
    const taken = this.pending;
    this.pending = [];
    return taken;
  }
}

/** All databases, the shared scan counters and open cursors of one engine instance. */
export class Store {
  readonly databases = new Map<string, Map<string, Collection>>();
  readonly stats: ScanStats = { scannedObjects: 0, scannedKeys: 0 };
  readonly cursors = new CursorStore();
  readonly changes = new ChangeLog();
  /**
   * This engine run, as drivers see it in every hello: a new processId after each restart. It
   * lets a driver's monitor stream awaitable hellos and, when a connection fails, reset itself
   * with fresh connections (see server.ts).
   */
  readonly topologyVersion = { processId: new ObjectId(), counter: Long.fromInt(0) };

  collection(db: string, name: string): Collection | undefined {
    return this.databases.get(db)?.get(name);
  }

  /** Returns the collection, creating it (implicitly, like MongoDB on first write). */
  ensureCollection(db: string, name: string): Collection {
    validateName(name);
    let colls = this.databases.get(db);
    if (!colls) {
      colls = new Map();
      this.databases.set(db, colls);
    }
    let coll = colls.get(name);
    if (!coll) {
      coll = new Collection(db, name, this.stats, this.changes);
      colls.set(name, coll);
      this.changes.add({ op: 'create', db, coll: name });
    }
    return coll;
  }

  dropCollection(db: string, name: string): Collection | undefined {
    const colls = this.databases.get(db);
    const coll = colls?.get(name);
    if (!colls || !coll) return undefined;
    colls.delete(name);
    this.changes.add({ op: 'drop', db, coll: name });
    if (colls.size === 0) this.databases.delete(db);
    return coll;
  }

  dropDatabase(db: string): void {
    for (const name of [...(this.databases.get(db)?.keys() ?? [])]) this.dropCollection(db, name);
    this.databases.delete(db);
  }

  collections(db: string): Collection[] {
    return [...(this.databases.get(db)?.values() ?? [])];
  }
}

function validateName(name: string): void {
  if (
    name.length === 0 ||
    name.includes('\0') ||
    name.startsWith('system.') ||
    name.includes('$')
  ) {
    throw new MongoCommandError('InvalidNamespace', `Invalid collection name: ${name}`);
  }
}
