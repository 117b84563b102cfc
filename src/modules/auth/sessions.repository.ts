import type { SessionProbe } from '../../infra/rate-limits.js';
import { luaScript, type RedisHandles } from '../../infra/redis.js';

export type RotateOutcome = 'rotated' | 'reused' | 'missing';

// Compare-and-swap of the current refresh-token hash. A mismatch means an old (already used)
// token was presented: the whole session is revoked (RFC 9700 §4.14.2).
const ROTATE = luaScript(`
local current = redis.call('HGET', KEYS[1], 'tokenHash')
if not current then return 0 end
if current ~= ARGV[1] then
  local user = redis.call('HGET', KEYS[1], 'userId')
  redis.call('DEL', KEYS[1])
  return {-1, user}
end
redis.call('HSET', KEYS[1], 'tokenHash', ARGV[2], 'lastUsedAt', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return {1, redis.call('HGET', KEYS[1], 'userId')}
`);

/**
 * Refresh sessions and the access-token denylist, in Redis:
 * `session:<sid>` hash {userId, family, tokenHash, createdAt, lastUsedAt} (TTL = refresh TTL),
 * `user_sessions:<userId>` set of sids, `denylist:<jti>` until the access token expires.
 */
export class SessionsRepository {
  constructor(
    private readonly redis: RedisHandles,
    private readonly ttlSeconds: number,
  ) {}

  async create(sessionId: string, userId: string, tokenHash: string): Promise<void> {
    const now = new Date().toISOString();
    const key = this.redis.key(`session:${sessionId}`);
    await this.redis.client
      .multi()
      .hset(key, { userId, family: sessionId, tokenHash, createdAt: now, lastUsedAt: now })
      .expire(key, this.ttlSeconds)
      .sadd(this.redis.key(`user_sessions:${userId}`), sessionId)
      .expire(this.redis.key(`user_sessions:${userId}`), this.ttlSeconds)
      .exec();
  }

  async rotate(
    sessionId: string,
    presentedHash: string,
    nextHash: string,
  ): Promise<{ outcome: RotateOutcome; userId: string | null }> {
    const result = (await ROTATE.run(
      this.redis.client,
      [this.redis.key(`session:${sessionId}`)],
      [presentedHash, nextHash, new Date().toISOString(), this.ttlSeconds],
    )) as 0 | [number, string | null];
    if (result === 0) return { outcome: 'missing', userId: null };
    return { outcome: result[0] === 1 ? 'rotated' : 'reused', userId: result[1] };
  }

  async userIdOf(sessionId: string): Promise<string | null> {
    return this.redis.client.hget(this.redis.key(`session:${sessionId}`), 'userId');
  }

  async revoke(sessionId: string, userId: string): Promise<void> {
    await this.redis.client
      .multi()
      .del(this.redis.key(`session:${sessionId}`))
      .srem(this.redis.key(`user_sessions:${userId}`), sessionId)
      .exec();
  }

  async sessionsOf(userId: string): Promise<string[]> {
    return this.redis.client.smembers(this.redis.key(`user_sessions:${userId}`));
  }

  async denylist(tokenId: string, untilEpochSeconds: number): Promise<void> {
    const ttl = Math.max(1, untilEpochSeconds - Math.floor(Date.now() / 1000));
    await this.redis.client.set(this.redis.key(`denylist:${tokenId}`), '1', 'EX', ttl);
  }

  /**
   * One round trip: the access token is usable only if it is not denylisted and its session
   * lives *and belongs to the token's user* — a session id alone proves nothing, since anyone
   * holding the signing key could pair their own sid with someone else's user id.
   */
  async isAccessAllowed(tokenId: string, sessionId: string, userId: string): Promise<boolean> {
    // Plain commands, not an explicit pipeline: auto-pipelining sends them in the same write as
    // the event's rate-limit command, without building a Pipeline object per event.
    const { client } = this.redis;
    const [denied, owner] = await Promise.all([
      client.exists(this.redis.key(`denylist:${tokenId}`)),
      client.hget(this.redis.key(`session:${sessionId}`), 'userId'),
    ]);
    return denied === 0 && owner === userId;
  }

  /** The same check as `isAccessAllowed`, as keys for the rate-limit script to run first. */
  accessProbe(tokenId: string, sessionId: string, userId: string): SessionProbe {
    return {
      denylistKey: this.redis.key(`denylist:${tokenId}`),
      sessionKey: this.redis.key(`session:${sessionId}`),
      userId,
    };
  }
}
