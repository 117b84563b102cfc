import type { Logger } from '../logger.js';
import { luaScript, type RedisHandles } from './redis.js';

// KEYS: value, generation. ARGV: generation the reader saw before loading, value, ttl, hash field
// ('' for a plain string). Stores only if no invalidation happened since the reader looked: a
// load that raced with a change never caches what was there before it.
const SET_IF_UNCHANGED = luaScript(`
if (redis.call('GET', KEYS[2]) or '0') == ARGV[1] then
  if ARGV[4] == '' then
    redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  else
    redis.call('HSET', KEYS[1], ARGV[4], ARGV[2])
    redis.call('EXPIRE', KEYS[1], ARGV[3])
  end
end
return 0
`);

// KEYS: value, generation, value, generation, … ARGV: the generations' ttl. One atomic step for a
// whole batch of names (a group commit's histories and lists): one command, not three per name.
const INVALIDATE = luaScript(`
for i = 1, #KEYS, 2 do
  redis.call('INCR', KEYS[i + 1])
  redis.call('EXPIRE', KEYS[i + 1], ARGV[1])
  redis.call('DEL', KEYS[i])
end
return 0
`);

export interface ReadOptions<T> {
  /** A field of a hash: one invalidation drops every field (e.g. every page size) at once. */
  field?: string;
  /** Turns the parsed JSON back into `T` (dates); identity when absent. */
  revive?: (json: unknown) => T;
}

/**
 * Redis read-through cache shared by every instance, with invalidation that is correct under
 * races. MongoDB stays the truth: a miss or a Redis error loads, never guesses.
 *
 * A writer changes MongoDB first, then `invalidate`s: each name's generation is bumped and its
 * value deleted, so every instance's next read loads. A reader caches what it loaded only if
 * the generation it saw *before* loading is still current (SET_IF_UNCHANGED), so a load that
 * overlapped a change is used once and never stored.
 */
export class ReadCache {
  /** Generations outlive any value they guard, so a reader's generation never comes round. */
  private readonly generationTtlSeconds: number;

  constructor(
    private readonly redis: RedisHandles,
    private readonly logger: Logger,
    private readonly ttlSeconds: number,
  ) {
    this.generationTtlSeconds = 2 * ttlSeconds;
  }

  async read<T>(
    name: string,
    load: () => Promise<T | null>,
    options: ReadOptions<T> = {},
  ): Promise<T | null> {
    const { client } = this.redis;
    const key = this.redis.key(name);
    const generationKey = this.redis.key(generationOf(name));
    const field = options.field;
    let generation: string;
    try {
      // Auto-pipelined: one round trip either way.
      const [hit, seen] = field
        ? await Promise.all([client.hget(key, field), client.get(generationKey)])
        : await client.mget(key, generationKey);
      if (hit) {
        const json: unknown = JSON.parse(hit);
        return options.revive ? options.revive(json) : (json as T);
      }
      generation = seen ?? '0';
    } catch (error) {
      this.logger.warn({ err: error, key }, 'cache read failed; reading MongoDB');
      return load();
    }
    const value = await load();
    if (value !== null) {
      SET_IF_UNCHANGED.run(
        client,
        [key, generationKey],
        [generation, JSON.stringify(value), this.ttlSeconds, field ?? ''],
      ).catch((error: unknown) => this.logger.warn({ err: error, key }, 'cache write failed'));
    }
    return value;
  }

  /** After the change is stored. Throws when Redis did not take it: callers decide if it matters. */
  async invalidate(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    const keys: string[] = [];
    for (const name of names) keys.push(this.redis.key(name), this.redis.key(generationOf(name)));
    await INVALIDATE.run(this.redis.client, keys, [this.generationTtlSeconds]);
  }
}

const generationOf = (name: string) => `cache_gen:${name}`;
