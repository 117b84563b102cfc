import type { RedisHandles } from '../../infra/redis.js';
import { BoundedMap } from '../../lib/bounded-map.js';
import type { Logger } from '../../logger.js';
import type { User } from './users.repository.js';

/** How long this process keeps a user; must stay far below VERSION_TTL_SECONDS (see below). */
const ENTRY_TTL_MS = 60_000;
const MAX_ENTRIES = 10_000;
/**
 * A user's version key outlives every entry labelled with an older version: once it expires a
 * reader sees "no version" again, which can only match entries loaded before the first change,
 * and those are long gone.
 */
const VERSION_TTL_SECONDS = 24 * 3600;

const versionKey = (userId: string) => `user_ver:${userId}`;

/**
 * Bumps a user's version after their document changed (profile, role, last seen): every
 * instance's cached copy stops matching. Also for processes without a UserCache (the CLI).
 */
export async function bumpUserVersion(redis: RedisHandles, userId: string): Promise<void> {
  const key = redis.key(versionKey(userId));
  await redis.client.multi().incr(key).expire(key, VERSION_TTL_SECONDS).exec();
}

interface Entry {
  user: User;
  version: string;
  storedAt: number;
}

/**
 * Users kept in this process for `/me` and the participants of conversation lists, checked
 * against a per-user version in Redis on every read: one small Redis read replaces a MongoDB
 * round trip, and a change made through any instance is seen by the next read everywhere (the
 * writer stores first, then bumps; an entry loaded before the bump carries the old version).
 * Authorisation (requireAdmin, login) never reads through it.
 */
export class UserCache {
  private readonly entries = new BoundedMap<string, Entry>(MAX_ENTRIES);

  constructor(
    private readonly redis: RedisHandles,
    private readonly logger: Logger,
  ) {}

  /** `getMany` for one user (every `/me`), without its arrays, maps and closures. */
  async get(userId: string, load: (id: string) => Promise<User | null>): Promise<User | null> {
    let version: string;
    try {
      version = (await this.redis.client.get(this.redis.key(versionKey(userId)))) ?? '0';
    } catch (error) {
      this.logger.warn({ err: error }, 'user versions unreadable; reading MongoDB');
      return load(userId);
    }
    const now = Date.now();
    const cached = this.current(userId, version, now);
    if (cached) return cached;
    const user = await load(userId);
    if (user) this.store(user, version, now);
    return user;
  }

  /** Users of `ids` in that order (unknown ids left out), loading only those not cached. */
  async getMany(ids: readonly string[], load: (ids: string[]) => Promise<User[]>): Promise<User[]> {
    if (ids.length === 0) return [];
    let versions: (string | null)[];
    try {
      versions = await this.redis.client.mget(ids.map((id) => this.redis.key(versionKey(id))));
    } catch (error) {
      this.logger.warn({ err: error }, 'user versions unreadable; reading MongoDB');
      return load([...ids]);
    }
    const now = Date.now();
    const found = new Map<string, User>();
    const missing: string[] = [];
    ids.forEach((id, i) => {
      const cached = this.current(id, versions[i] ?? '0', now);
      if (cached) found.set(id, cached);
      else missing.push(id);
    });
    if (missing.length > 0) {
      const versionOf = new Map(ids.map((id, i) => [id, versions[i] ?? '0']));
      for (const user of await load(missing)) {
        found.set(user.id, user);
        this.store(user, versionOf.get(user.id) ?? '0', now);
      }
    }
    return ids.flatMap((id) => {
      const user = found.get(id);
      return user ? [user] : [];
    });
  }

  /** The cached user if their entry carries `version` and is young enough, else null. */
  private current(userId: string, version: string, now: number): User | null {
    const entry = this.entries.get(userId);
    return entry && entry.version === version && now - entry.storedAt < ENTRY_TTL_MS
      ? entry.user
      : null;
  }

  private store(user: User, version: string, now: number): void {
    this.entries.set(user.id, { user, version, storedAt: now });
  }
}
