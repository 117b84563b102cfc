import { ObjectId, type Collection, type Db } from 'mongodb';
import { duplicateKeyField, isDuplicateKeyError } from '../../infra/duplicate-key.js';
import { parseObjectId } from '../../infra/ids.js';
import { errors } from '../../errors.js';
import {
  domainEvent,
  noWake,
  OUTBOX_INDEX,
  outboxOnInsert,
  type OutboxFields,
  type OutboxWritten,
} from '../events/outbox.js';
import { userSearchKeys, userSearchPrefix } from '../../lib/fold.js';

export type Role = 'user' | 'admin';

export interface User {
  id: string;
  username: string;
  email: string;
  passwordHash: string;
  displayName: string;
  bio: string;
  avatarUrl: string | null;
  role: Role;
  isActive: boolean;
  lastSeenAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export type NewUser = Pick<User, 'username' | 'email' | 'passwordHash' | 'displayName' | 'role'>;
export type UserPatch = Partial<Pick<User, 'displayName' | 'bio' | 'avatarUrl' | 'passwordHash'>>;
export type UserSummary = Pick<
  User,
  'id' | 'username' | 'displayName' | 'avatarUrl' | 'lastSeenAt'
>;

interface UserDoc extends Omit<User, 'id'>, OutboxFields {
  _id: ObjectId;
  /** Folded username, display name and its parts (lib/fold.ts): what `list`'s search walks. */
  searchKeys?: string[];
}

/** Users whose keys are written per startup batch by `backfillSearchKeys`. */
const BACKFILL_BATCH = 500;

/** Everything a new account stores besides its id: the defaults every sign-up starts with. */
export function newUserFields(data: NewUser, now: Date): Omit<User, 'id'> {
  return {
    ...data,
    bio: '',
    avatarUrl: null,
    isActive: true,
    lastSeenAt: null,
    createdAt: now,
    updatedAt: now,
  };
}

const SUMMARY = { username: 1, displayName: 1, avatarUrl: 1, lastSeenAt: 1 } as const;

/**
 * `users` collection. Indexes:
 * - `username` unique: usernames are stored lower-cased, which makes uniqueness case-insensitive
 *   and lets the list's prefix search walk the same index.
 * - `email` unique (stored lower-cased).
 * - `isActive, _id`: the nightly planner streams active user ids in `_id` order.
 * - `searchKeys` (multikey): the list's search, a prefix range over folded usernames, display
 *   names and their parts, so `istanbul` finds `İstanbul Ekibi` and `ozge` finds `Özge`.
 */
export class UsersRepository {
  private readonly users: Collection<UserDoc>;

  constructor(
    db: Db,
    private readonly written: OutboxWritten = noWake,
    /** After a user's document changed: caches of it elsewhere stop matching (UserCache). */
    private readonly changed: (userId: string) => Promise<void> = () => Promise.resolve(),
  ) {
    this.users = db.collection<UserDoc>('users');
  }

  async ensureIndexes(): Promise<void> {
    await this.users.createIndexes([
      { key: { username: 1 }, name: 'username_unique', unique: true },
      { key: { email: 1 }, name: 'email_unique', unique: true },
      { key: { isActive: 1, _id: 1 }, name: 'active_by_id' },
      { key: { searchKeys: 1 }, name: 'search_keys' },
      OUTBOX_INDEX,
    ]);
    await this.backfillSearchKeys();
  }

  /** Users stored before `searchKeys` existed get theirs (a no-op once every user has them). */
  private async backfillSearchKeys(): Promise<void> {
    for (;;) {
      const batch = await this.users
        .find({ searchKeys: { $exists: false } }, { projection: { username: 1, displayName: 1 } })
        .limit(BACKFILL_BATCH)
        .toArray();
      if (batch.length === 0) return;
      await this.users.bulkWrite(
        batch.map((u) => ({
          updateOne: {
            filter: { _id: u._id, searchKeys: { $exists: false } },
            update: { $set: { searchKeys: userSearchKeys(u.username, u.displayName) } },
          },
        })),
      );
    }
  }

  async create(data: NewUser): Promise<User> {
    const now = new Date();
    const _id = new ObjectId();
    const userId = _id.toHexString();
    const registered = domainEvent('user.registered', userId, userId, {
      userId,
      username: data.username,
      displayName: data.displayName,
    });
    const fields = newUserFields(data, now);
    const doc: UserDoc = {
      _id,
      ...fields,
      searchKeys: userSearchKeys(fields.username, fields.displayName),
      ...outboxOnInsert([registered], now),
    };
    try {
      await this.users.insertOne(doc);
      this.written();
      return toUser(doc);
    } catch (error) {
      if (isDuplicateKeyError(error)) {
        const field = duplicateKeyField(error) ?? 'username';
        throw errors.conflict(`That ${field} is already taken`, { field });
      }
      throw error;
    }
  }

  async findById(id: string): Promise<User | null> {
    const _id = parseObjectId(id);
    if (!_id) return null;
    const doc = await this.users.findOne({ _id });
    return doc ? toUser(doc) : null;
  }

  /** Whole users (unknown ids left out), for UserCache's misses. */
  async findByIds(ids: readonly string[]): Promise<User[]> {
    const objectIds = ids.map(parseObjectId).filter((id): id is ObjectId => id !== null);
    if (objectIds.length === 0) return [];
    const docs = await this.users.find({ _id: { $in: objectIds } }).toArray();
    return docs.map(toUser);
  }

  /** `login` is a username or an email; both are stored lower-cased. */
  async findByLogin(login: string): Promise<User | null> {
    const value = login.toLowerCase();
    const doc = await this.users.findOne(
      value.includes('@') ? { email: value } : { username: value },
    );
    return doc ? toUser(doc) : null;
  }

  async update(id: string, patch: UserPatch): Promise<User | null> {
    const _id = parseObjectId(id);
    if (!_id) return null;
    const doc = await this.users.findOneAndUpdate(
      { _id },
      { $set: { ...patch, updatedAt: new Date() } },
      { returnDocument: 'after' },
    );
    if (doc && patch.displayName !== undefined) {
      // Only while the name is still this one: a concurrent rename writes its own keys.
      await this.users.updateOne(
        { _id, displayName: doc.displayName },
        { $set: { searchKeys: userSearchKeys(doc.username, doc.displayName) } },
      );
    }
    if (doc) await this.changed(id);
    return doc ? toUser(doc) : null;
  }

  async setRoleByEmail(email: string, role: Role): Promise<User | null> {
    const doc = await this.users.findOneAndUpdate(
      { email: email.toLowerCase() },
      { $set: { role, updatedAt: new Date() } },
      { returnDocument: 'after' },
    );
    if (doc) await this.changed(doc._id.toHexString());
    return doc ? toUser(doc) : null;
  }

  async setLastSeen(id: string, at: Date): Promise<void> {
    const _id = parseObjectId(id);
    if (!_id) return;
    await this.users.updateOne({ _id }, { $set: { lastSeenAt: at } });
    await this.changed(id);
  }

  /**
   * A page of users ordered by username; `search` is a prefix of the username, the display
   * name or one of its parts, case- and diacritics-insensitive.
   */
  async list(options: { search?: string; after?: string; limit: number }): Promise<UserSummary[]> {
    if (options.search && userSearchPrefix(options.search)) return this.search(options);
    const range: Record<string, string> = {};
    if (options.search) {
      range.$gte = options.search;
      range.$lt = `${options.search}\uffff`;
    }
    if (options.after && (!range.$gte || options.after >= range.$gte)) {
      delete range.$gte;
      range.$gt = options.after;
    }
    const filter = Object.keys(range).length ? { username: range } : {};
    const docs = await this.users
      .find(filter, { projection: SUMMARY })
      .sort({ username: 1 })
      .limit(options.limit)
      .toArray();
    return docs.map(toSummary);
  }

  /** Through the `searchKeys` index; the matches are sorted by username after the range walk. */
  private async search(options: { search?: string; after?: string; limit: number }) {
    const prefix = userSearchPrefix(options.search ?? '');
    const docs = await this.users
      .find(
        {
          // $elemMatch: one key must be in the range (without it, any key ≥ and any other <).
          searchKeys: { $elemMatch: { $gte: prefix, $lt: `${prefix}\uffff` } },
          ...(options.after ? { username: { $gt: options.after } } : {}),
        },
        { projection: SUMMARY },
      )
      .sort({ username: 1 })
      .limit(options.limit)
      .toArray();
    return docs.map(toSummary);
  }

  async findSummaries(ids: string[]): Promise<UserSummary[]> {
    const objectIds = ids.map(parseObjectId).filter((id): id is ObjectId => id !== null);
    if (objectIds.length === 0) return [];
    const docs = await this.users
      .find({ _id: { $in: objectIds } }, { projection: SUMMARY })
      .toArray();
    return docs.map(toSummary);
  }

  /** Active user ids in `_id` order, streamed: the planner never holds whole documents. */
  async *activeUserIds(): AsyncGenerator<string> {
    const cursor = this.users
      .find({ isActive: true }, { projection: { _id: 1 } })
      .sort({ _id: 1 })
      .batchSize(5000);
    for await (const doc of cursor) yield doc._id.toHexString();
  }
}

function toUser(doc: UserDoc): User {
  const { _id, outbox: _o, outboxAt: _a, outboxSeq: _s, searchKeys: _k, ...rest } = doc;
  return { id: _id.toHexString(), ...rest };
}

function toSummary(doc: Pick<UserDoc, '_id' | keyof typeof SUMMARY>): UserSummary {
  return {
    id: doc._id.toHexString(),
    username: doc.username,
    displayName: doc.displayName,
    avatarUrl: doc.avatarUrl ?? null,
    lastSeenAt: doc.lastSeenAt ?? null,
  };
}
