import { EJSON } from 'bson';
import { MongoClient, type Db } from 'mongodb';
import type { TestNames } from '../support/app.js';
import { eventually } from '../support/sockets.js';

/** Every document of every collection of one database, as canonical EJSON text per collection. */
export type Snapshot = Map<string, string>;

/**
 * Collections written by the clock, not by requests: the event relay renews its lease at every
 * poll. (The events themselves are in the outbox, which is compared.)
 */
const CLOCK_DRIVEN = new Set(['event_relay']);

/** A connection of the test's own to the app's database, read whole between batches. */
export class DatabaseSnapshots {
  private constructor(
    private readonly client: MongoClient,
    private readonly db: Db,
  ) {}

  static async open(names: TestNames): Promise<DatabaseSnapshots> {
    const client = new MongoClient(names.MONGODB_URI ?? '');
    await client.connect();
    return new DatabaseSnapshots(client, client.db(names.MONGODB_DB));
  }

  async take(): Promise<Snapshot> {
    const collections = await this.db.listCollections({}, { nameOnly: true }).toArray();
    const snapshot: Snapshot = new Map();
    const names = collections.map((c) => c.name).filter((name) => !CLOCK_DRIVEN.has(name));
    for (const name of names.sort()) {
      const docs = await this.db.collection(name).find({}).sort({ _id: 1 }).toArray();
      snapshot.set(name, EJSON.stringify(docs, { relaxed: false }));
    }
    return snapshot;
  }

  /** Takes snapshots until two in a row agree: background writes have settled. */
  async settled(timeoutMs = 15_000): Promise<Snapshot> {
    let last = await this.take();
    let changed: string[] = [];
    await eventually(
      async () => {
        const next = await this.take();
        changed = differences(last, next);
        last = next;
        return changed.length === 0;
      },
      timeoutMs,
      () => Promise.resolve(`the database to settle; still changing: ${changed.join('; ')}`),
      100,
    );
    return last;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/** The collections whose contents differ, each with where the first difference starts. */
export function differences(before: Snapshot, after: Snapshot): string[] {
  const names = new Set([...before.keys(), ...after.keys()]);
  return [...names].flatMap((name) => {
    const a = before.get(name) ?? '';
    const b = after.get(name) ?? '';
    if (a === b) return [];
    let at = 0;
    while (at < a.length && a[at] === b[at]) at += 1;
    return [`${name}: …${b.slice(Math.max(0, at - 80), at + 120)}…`];
  });
}
