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

  async get(userId: string, load: (id: string) => Promise<User | null>): Promise<User | null> {
    const [found] = await this.getMany([userId], async () => {
      const user = await load(userId);
      return user ? [user] : [];
    });
    return found ?? null;
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
      const entry = this.entries.get(id);
      const version = versions[i] ?? '0';
      if (entry && entry.version === version && now - entry.storedAt < ENTRY_TTL_MS) {
        found.set(id, entry.user);
      } else {
        missing.push(id);
      }
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

  private store(user: User, version: string, now: number): void {
    this.entries.set(user.id, { user, version, storedAt: now });
  }
}
