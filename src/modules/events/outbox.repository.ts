import type { Collection, Db, ObjectId } from 'mongodb';
import { encodedEntry, OUTBOX_COLLECTIONS, type OutboxEntry, type OutboxFields } from './outbox.js';

type OutboxDoc = OutboxFields & { _id: ObjectId };

/** A document with events waiting, as the relay read it. */
export interface PendingDoc {
  readonly collection: (typeof OUTBOX_COLLECTIONS)[number];
  readonly id: ObjectId;
  readonly seq: number;
  readonly events: readonly OutboxEntry[];
}

/**
 * The relay's view of the outbox (outbox.ts): the documents that still carry events, oldest
 * first (index `outbox_pending` on every outbox collection), and their clearing once published.
 */
export class OutboxRepository {
  private readonly collections: Map<PendingDoc['collection'], Collection<OutboxDoc>>;

  constructor(db: Db) {
    this.collections = new Map(
      OUTBOX_COLLECTIONS.map((name) => [name, db.collection<OutboxDoc>(name)]),
    );
  }

  /**
   * Up to `limit` documents with pending events, collection by collection, each oldest first.
   * With `inFlight` (a batch read before, not cleared yet, so still first in that order), the
   * documents after it: each collection skips as many as the batch holds of it. Should an older
   * document have been written since, a batch document may come again: dropped by its id (and
   * the skipped newer one waits for the next pass).
   */
  async pending(limit: number, inFlight: readonly PendingDoc[] = []): Promise<PendingDoc[]> {
    const found: PendingDoc[] = [];
    const flying = new Set(inFlight.map((d) => d.id.toHexString()));
    for (const [collection, coll] of this.collections) {
      const left = limit - found.length;
      if (left <= 0) break;
      const skip = inFlight.filter((d) => d.collection === collection).length;
      const docs = await coll
        .find(
          { outboxAt: { $gte: new Date(0) } },
          {
            projection: { outbox: 1, outboxSeq: 1 },
            sort: { outboxAt: 1 },
            skip,
            limit: left,
            // One reply: the default first batch is 101 documents, the rest a getMore.
            batchSize: left,
          },
        )
        .toArray();
      for (const doc of docs) {
        if (flying.has(doc._id.toHexString())) continue;
        found.push({
          collection,
          id: doc._id,
          seq: doc.outboxSeq ?? 0,
          events: (doc.outbox ?? []).map(encodedEntry),
        });
      }
    }
    return found;
  }

  /**
   * Removes published events. Usually nothing was added since the read (same `outboxSeq`) and
   * the whole outbox goes in one plain `$unset`, one `updateMany` per collection and sequence
   * number (new documents all carry 1); only when some document changed since (fewer matched)
   * are the published ones pulled from every document of the batch, the newer ones staying for
   * the next pass. Pulling from a document already unset changes nothing, so either order of
   * the two updates is correct.
   */
  async clear(docs: readonly PendingDoc[]): Promise<void> {
    const groups = new Map<string, PendingDoc[]>();
    for (const doc of docs) {
      const key = `${doc.collection}:${doc.seq}`;
      const group = groups.get(key) ?? [];
      group.push(doc);
      groups.set(key, group);
    }
    await Promise.all(
      [...groups.values()].map(async (group) => {
        const [first] = group;
        const coll = first && this.collections.get(first.collection);
        if (!first || !coll) return;
        const ids = group.map((d) => d.id);
        const cleared = await coll.updateMany(
          { _id: { $in: ids }, outboxSeq: first.seq },
          { $unset: { outbox: '', outboxAt: '', outboxSeq: '' } },
        );
        if (cleared.matchedCount === group.length) return;
        const eventIds = group.flatMap((d) => d.events.map((e) => e.id));
        await coll.updateMany(
          { _id: { $in: ids }, 'outbox.id': { $in: eventIds } },
          { $pull: { outbox: { id: { $in: eventIds } } } },
        );
      }),
    );
  }
}

interface LeaseDoc {
  _id: string;
  owner: string;
  until: Date;
  /**
   * Events being published by the owner: in doubt if it dies before clearing them. `ids` is
   * their ids (UUIDs) joined by spaces: one string of two batches' ids (~75 kB) costs the
   * driver and the database one copy each, where an array of 2,000 strings cost a per-element
   * encode, decode and store on every batch. Leases written before hold an array.
   */
  inflight?: { since: Date; ids: string | string[] };
}

/** What a relay that takes the lease inherits. */
export interface LeaseState {
  readonly inflight: { since: Date; ids: string[] } | null;
}

/**
 * One relay publishes at a time (`event_relay`, one document): the lease is taken when free or
 * expired and renewed by each batch. Before publishing a batch the owner records its event ids
 * (`inflight`), so a successor knows which events may already be in the log.
 */
export class RelayLeaseRepository {
  private readonly leases: Collection<LeaseDoc>;

  constructor(db: Db) {
    this.leases = db.collection<LeaseDoc>('event_relay');
  }

  /** The lease (kept or taken over), or null while another live relay holds it. */
  async acquire(owner: string, ttlMs: number): Promise<LeaseState | null> {
    const now = new Date();
    try {
      const doc = await this.leases.findOneAndUpdate(
        { _id: 'relay', $or: [{ owner }, { until: { $lt: now } }] },
        { $set: { owner, until: new Date(now.getTime() + ttlMs) } },
        { upsert: true, returnDocument: 'after' },
      );
      if (!doc) return null;
      const { inflight } = doc;
      if (!inflight) return { inflight: null };
      const { since, ids } = inflight;
      return { inflight: { since, ids: typeof ids === 'string' ? ids.split(' ') : ids } };
    } catch (error) {
      // The upsert lost to an existing, unexpired lease: its _id is taken.
      if ((error as { code?: number }).code === 11000) return null;
      throw error;
    }
  }

  /** Renews the lease and records the batch about to be published. Null: the lease is lost. */
  async begin(
    owner: string,
    ttlMs: number,
    ids: readonly string[],
    since?: Date,
  ): Promise<Date | null> {
    const now = new Date();
    const inflight = { since: since ?? now, ids: ids.join(' ') };
    const result = await this.leases.updateOne(
      { _id: 'relay', owner },
      { $set: { until: new Date(now.getTime() + ttlMs), inflight } },
    );
    return result.matchedCount === 1 ? now : null;
  }

  /** Nothing in doubt any more (every published event is cleared). */
  async settled(owner: string): Promise<void> {
    await this.leases.updateOne({ _id: 'relay', owner }, { $unset: { inflight: '' } });
  }

  /** Gives the lease up at shutdown so another worker takes over at once. */
  async release(owner: string): Promise<void> {
    await this.leases.updateOne({ _id: 'relay', owner }, { $set: { until: new Date(0) } });
  }
}
