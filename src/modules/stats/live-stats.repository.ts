import { luaScript, type RedisHandles } from '../../infra/redis.js';
import type { HourCounts } from './stats.repository.js';

/** Live counters are kept this long (the log's default retention, and a day to read them). */
const TTL_SECONDS = 8 * 24 * 3600;

/** One counter change: `hincr` adds 1 to a hash field, `sadd` adds a member to a set. */
export type StatsOp =
  { op: 'hincr'; key: string; field: string } | { op: 'sadd'; key: string; member: string };

// Applies events' counter changes once each: an event id joins its hour's `seen` set first, and
// nothing happens when it was already there. One script for many events (one round trip, atomic
// as a whole), so a crash never half-applies one. KEYS: every key the batch names, once. ARGV:
// the TTL, then per event its `seen` key's index, its id, its number of ops n, and n pairs (key
// index, op). Each key the applied events touched expires once, at the end.
const APPLY_MANY = luaScript(`
local ttl, touched, applied, i = ARGV[1], {}, 0, 2
while i <= #ARGV do
  local seen, id, n = tonumber(ARGV[i]), ARGV[i + 1], tonumber(ARGV[i + 2])
  i = i + 3
  if redis.call('SADD', KEYS[seen], id) == 1 then
    applied = applied + 1
    touched[seen] = true
    for j = i, i + 2 * n - 1, 2 do
      local k, op = tonumber(ARGV[j]), ARGV[j + 1]
      local arg = string.sub(op, 3)
      if string.sub(op, 1, 1) == 'h' then redis.call('HINCRBY', KEYS[k], arg, 1) else redis.call('SADD', KEYS[k], arg) end
      touched[k] = true
    end
  end
  i = i + 2 * n
end
for k in pairs(touched) do redis.call('EXPIRE', KEYS[k], ttl) end
return applied
`);

/** One event's counter changes, for `applyMany`. */
export interface StatsApply {
  readonly eventId: string;
  readonly hour: string;
  readonly ops: readonly StatsOp[];
}

/**
 * The `stats` consumer's counters in Redis, by the hour and day the event occurred (UTC):
 * - `stats:h:<hour>` hash: messages, autoMessages, newUsers, attachments;
 * - `stats:h:<hour>:senders` / `:active` sets: users who sent a text message / did anything;
 * - `stats:d:<day>:conversations` / `:users` hashes: messages per conversation / per sender.
 * `stats:seen:<hour>` holds the event ids applied, which makes every apply idempotent.
 */
export class LiveStatsRepository {
  constructor(private readonly redis: RedisHandles) {}

  /** True when applied now, false when this event id was applied before. */
  async apply(eventId: string, hour: string, ops: readonly StatsOp[]): Promise<boolean> {
    return (await this.applyMany([{ eventId, hour, ops }])) === 1;
  }

  /** `apply` for many events in one script call; resolves to how many were applied now. */
  async applyMany(batch: readonly StatsApply[]): Promise<number> {
    if (batch.length === 0) return 0;
    const keys: string[] = [];
    const index = new Map<string, number>();
    const keyIndex = (key: string): number => {
      let i = index.get(key);
      if (i === undefined) {
        keys.push(this.redis.key(key));
        i = keys.length; // Lua's KEYS start at 1
        index.set(key, i);
      }
      return i;
    };
    const args: (string | number)[] = [TTL_SECONDS];
    for (const { eventId, hour, ops } of batch) {
      args.push(keyIndex(`stats:seen:${hour}`), eventId, ops.length);
      for (const o of ops)
        args.push(keyIndex(o.key), o.op === 'hincr' ? `h:${o.field}` : `s:${o.member}`);
    }
    const applied = await APPLY_MANY.run(this.redis.client, keys, args);
    return Number(applied);
  }

  async hour(hour: string): Promise<HourCounts> {
    const [counts, senders] = await Promise.all([
      this.redis.client.hgetall(this.redis.key(`stats:h:${hour}`)),
      this.redis.client.scard(this.redis.key(`stats:h:${hour}:senders`)),
    ]);
    const n = (field: string) => Number(counts[field] ?? 0);
    return {
      messages: n('messages'),
      activeSenders: senders,
      newUsers: n('newUsers'),
      attachments: n('attachments'),
      autoMessages: n('autoMessages'),
    };
  }

  async activeUsers(hour: string): Promise<number> {
    return this.redis.client.scard(this.redis.key(`stats:h:${hour}:active`));
  }

  /** Messages per conversation (or per sender) on `day` (YYYY-MM-DD). */
  async perDay(day: string, of: 'conversations' | 'users'): Promise<Record<string, number>> {
    const raw = await this.redis.client.hgetall(this.redis.key(`stats:d:${day}:${of}`));
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]));
  }
}
