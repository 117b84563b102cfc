import type { Doc } from './key-index.js';
import type { Store } from './store.js';

/** Deletes documents whose TTL index date (earliest, for arrays) is older than expireAfterSeconds. */
export function expireDocuments(store: Store, now = Date.now()): number {
  let removed = 0;
  for (const colls of store.databases.values()) {
    for (const coll of colls.values()) {
      for (const index of coll.indexes.values()) {
        const seconds = index.spec.expireAfterSeconds;
        if (seconds === undefined || index.fields.length !== 1) continue;
        const cutoff = now - seconds * 1000;
        const expired = new Map<string, Doc>();
        for (const e of index.entries) {
          const v = e.k[0];
          if (v instanceof Date && v.getTime() <= cutoff) {
            const doc = coll.docs.get(e.ik);
            if (doc) expired.set(e.ik, doc);
          }
        }
        for (const doc of expired.values()) coll.remove(doc);
        removed += expired.size;
      }
    }
  }
  return removed;
}
