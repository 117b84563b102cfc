import { Collection, type ScanStats } from './collection.js';
import { CursorStore } from './cursors.js';
import { MongoCommandError } from './errors.js';

/** All databases, the shared scan counters and open cursors of one engine instance. */
export class Store {
  readonly databases = new Map<string, Map<string, Collection>>();
  readonly stats: ScanStats = { scannedObjects: 0, scannedKeys: 0 };
  readonly cursors = new CursorStore();
  /** Namespaces dropped since the last flush, so persistence can delete their files. */
  readonly dropped = new Set<string>();

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
      coll = new Collection(db, name, this.stats);
      colls.set(name, coll);
      this.dropped.delete(`${db}.${name}`);
    }
    return coll;
  }

  dropCollection(db: string, name: string): Collection | undefined {
    const colls = this.databases.get(db);
    const coll = colls?.get(name);
    if (!colls || !coll) return undefined;
    colls.delete(name);
    this.dropped.add(coll.ns);
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
