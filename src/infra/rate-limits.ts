import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { errors } from '../errors.js';
import { luaScript, type RedisHandles } from './redis.js';

export type LimitKind = 'api' | 'auth' | 'messages' | 'socket' | 'handshake' | 'groups' | 'uploads';

/** One limit a request counts against: which one, and whose bucket (`userKey` / `ipKey`). */
export type Limit = readonly [kind: LimitKind, key: string];

/** The bucket of a signed-in user: every device, socket and instance of theirs shares it. */
export function userKey(userId: string): string {
  return `u:${userId}`;
}

/** The bucket of one client address (each address its own: never one bucket for all IPv4). */
export function ipKey(ip: string): string {
  return `ip:${ip}`;
}

/**
 * The limits one HTTP request counts against: the API-wide one per caller (the user when signed
 * in, else the address) and the route's own. `auth` routes always count per address, so a
 * guesser's budget does not depend on holding a token.
 */
export function requestLimits(
  route: LimitKind | undefined,
  userId: string | null,
  ip: string,
): [LimitKind, string][] {
  const caller = userId === null ? ipKey(ip) : userKey(userId);
  const limits: [LimitKind, string][] = [['api', caller]];
  if (route) limits.push([route, route === 'auth' ? ipKey(ip) : caller]);
  return limits;
}

/**
 * A session checked in the same script as the limits: usable only if the token is not
 * denylisted and the session hash still names the token's user (SessionsRepository's keys).
 */
export interface SessionProbe {
  denylistKey: string;
  sessionKey: string;
  userId: string;
}

/** A fixed window: `points` events per `ms`, counted under `prefix:<key>`. */
interface Window {
  prefix: string;
  points: number;
  ms: number;
}

/** A limit's window, and for `socket` the burst window tried when the first is used up. */
interface Rule {
  window: Window;
  burst?: Window;
}

/**
 * Counts every limit of one request, optionally after a session check, atomically.
 * KEYS: [denylist, session]? then one counter per limit, then one burst counter per limit
 * that has a burst. ARGV: check session ('1'/'0'), the token's user id, the number of limits,
 * then per limit: points, window ms, burst points (0: none), burst window ms.
 * Returns {0} admitted, {1, ms} refused (ms until the tightest refusing window lets one more
 * through), {2} session revoked — checked first: a revoked token spends nobody's budget.
 * Counters are rate-limiter-flexible's (a number with the window's TTL, set on the first event),
 * so counts carry over between versions; an event over the limit still counts, as there.
 */
const CONSUME_ALL = luaScript(`
local k = 1
if ARGV[1] == '1' then
  if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('HGET', KEYS[2], 'userId') ~= ARGV[2] then
    return {2}
  end
  k = 3
end
local n = tonumber(ARGV[3])
local nextBurst = k + n
local function count(key, ms)
  redis.call('SET', key, 0, 'PX', ms, 'NX')
  local used = redis.call('INCR', key)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then
    redis.call('PEXPIRE', key, ms)
    ttl = tonumber(ms)
  end
  return used, ttl
end
local wait = -1
for i = 0, n - 1 do
  local a = 4 + i * 4
  local points, burstPoints = tonumber(ARGV[a]), tonumber(ARGV[a + 2])
  local used, ttl = count(KEYS[k + i], ARGV[a + 1])
  local burstKey = nil
  if burstPoints > 0 then
    burstKey = KEYS[nextBurst]
    nextBurst = nextBurst + 1
  end
  if used > points then
    local refused = true
    if burstKey then
      local burstUsed, burstTtl = count(burstKey, ARGV[a + 3])
      if burstUsed <= burstPoints then refused = false elseif burstTtl < ttl then ttl = burstTtl end
    end
    if refused and ttl > wait then wait = ttl end
  end
end
if wait >= 0 then return {1, wait} end
return {0}
`);

type ConsumeReply = [0] | [1, number] | [2];

/**
 * Rate limits shared by every instance through Redis. Callers pass the key they limit by
 * (a user id or a client IP) — keying is explicit here so two clients never share a bucket
 * by accident. Every limit of one request is counted by one script call (`consumeAll`).
 */
export class RateLimits {
  private readonly rules: Record<LimitKind, Rule>;
  private readonly client: Redis;
  private readonly passwordGuesses: RateLimiterRedis;

  constructor(redis: RedisHandles, config: Config) {
    const window = (name: string, points: number, seconds: number): Window => ({
      prefix: redis.key(`rl:${name}:`),
      points,
      ms: seconds * 1000,
    });
    const socketBurst = Math.max(
      0,
      config.RATE_LIMIT_SOCKET_BURST - config.RATE_LIMIT_SOCKET_PER_SECOND,
    );
    this.rules = {
      api: { window: window('api', config.RATE_LIMIT_API_PER_MINUTE, 60) },
      auth: { window: window('auth', config.RATE_LIMIT_AUTH_PER_MINUTE, 60) },
      messages: { window: window('msg', config.RATE_LIMIT_MESSAGES_PER_MINUTE, 60) },
      handshake: { window: window('hs', config.RATE_LIMIT_SOCKET_HANDSHAKES_PER_MINUTE, 60) },
      groups: { window: window('groups', config.RATE_LIMIT_GROUPS_PER_HOUR, 3600) },
      uploads: { window: window('uploads', config.RATE_LIMIT_UPLOADS_PER_MINUTE, 60) },
      // Up to PER_SECOND events a second, and once those are used up, BURST - PER_SECOND more
      // over two seconds (what rate-limiter-flexible's BurstyRateLimiter did).
      socket: {
        window: window('sock', config.RATE_LIMIT_SOCKET_PER_SECOND, 1),
        burst: window('sockburst', Math.max(1, socketBurst), 2),
      },
    };
    this.client = redis.client;
    this.passwordGuesses = new RateLimiterRedis({
      storeClient: redis.client,
      keyPrefix: redis.key('rl:loginfail'),
      points: config.RATE_LIMIT_LOGIN_FAILURES_PER_15_MIN,
      duration: 15 * 60,
    });
  }

  /** Counts one event against `key`; throws rate_limited (429) when over the limit. */
  consume(kind: LimitKind, key: string): Promise<void> {
    return this.consumeAll([[kind, key]]);
  }

  /**
   * Counts one event against every limit in `limits` in one Redis call; every limit counts even
   * when another refuses. Throws rate_limited (429, Retry-After: when every refusing limit lets
   * one more through) if any is over. With `session`, first checks the token's session in the
   * same call and throws unauthorized, counting nothing, when it was revoked.
   */
  async consumeAll(limits: readonly Limit[], extra?: { session?: SessionProbe }): Promise<void> {
    const session = extra?.session;
    const keys: string[] = session ? [session.denylistKey, session.sessionKey] : [];
    const bursts: string[] = [];
    const args: (string | number)[] = [session ? '1' : '0', session?.userId ?? '', limits.length];
    for (const [kind, key] of limits) {
      const { window, burst } = this.rules[kind];
      keys.push(window.prefix + key);
      if (burst) bursts.push(burst.prefix + key);
      args.push(window.points, window.ms, burst?.points ?? 0, burst?.ms ?? 0);
    }
    const reply = (await CONSUME_ALL.run(this.client, [...keys, ...bursts], args)) as ConsumeReply;
    if (reply[0] === 2) throw errors.unauthorized('Session revoked');
    if (reply[0] === 1) throw errors.rateLimited(Math.max(1, Math.ceil(reply[1] / 1000)));
  }

  /**
   * Counts one password guess for an account, atomically, before the hash is checked: over the
   * limit it throws rate_limited, so at most the limit of guesses per window reach argon2.
   */
  async countGuess(account: string): Promise<void> {
    try {
      await this.passwordGuesses.consume(account);
    } catch (result) {
      throw toRateLimitError(result);
    }
  }

  /** A right password resets the account's count. */
  async clearGuesses(account: string): Promise<void> {
    await this.passwordGuesses.delete(account);
  }
}

function toRateLimitError(result: unknown): Error {
  if (result instanceof RateLimiterRes) {
    return errors.rateLimited(Math.max(1, Math.ceil(result.msBeforeNext / 1000)));
  }
  return result instanceof Error ? result : new Error(String(result));
}
