import {
  BurstyRateLimiter,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { Config } from '../config.js';
import { errors } from '../errors.js';
import type { RedisHandles } from './redis.js';

export type LimitKind = 'api' | 'auth' | 'messages' | 'socket' | 'handshake' | 'groups' | 'uploads';

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
 * Rate limits shared by every instance through Redis. Callers pass the key they limit by
 * (a user id or a client IP) — keying is explicit here so two clients never share a bucket
 * by accident.
 */
export class RateLimits {
  private readonly limiters: Record<LimitKind, Pick<RateLimiterAbstract, 'consume'>>;
  private readonly passwordGuesses: RateLimiterRedis;

  constructor(redis: RedisHandles, config: Config) {
    const make = (name: string, points: number, duration: number) =>
      new RateLimiterRedis({
        storeClient: redis.client,
        keyPrefix: redis.key(`rl:${name}`),
        points,
        duration,
      });
    const socketBurst = Math.max(
      0,
      config.RATE_LIMIT_SOCKET_BURST - config.RATE_LIMIT_SOCKET_PER_SECOND,
    );
    this.limiters = {
      api: make('api', config.RATE_LIMIT_API_PER_MINUTE, 60),
      auth: make('auth', config.RATE_LIMIT_AUTH_PER_MINUTE, 60),
      messages: make('msg', config.RATE_LIMIT_MESSAGES_PER_MINUTE, 60),
      handshake: make('hs', config.RATE_LIMIT_SOCKET_HANDSHAKES_PER_MINUTE, 60),
      groups: make('groups', config.RATE_LIMIT_GROUPS_PER_HOUR, 3600),
      uploads: make('uploads', config.RATE_LIMIT_UPLOADS_PER_MINUTE, 60),
      socket: new BurstyRateLimiter(
        make('sock', config.RATE_LIMIT_SOCKET_PER_SECOND, 1),
        make('sockburst', Math.max(1, socketBurst), 2),
      ),
    };
    this.passwordGuesses = make('loginfail', config.RATE_LIMIT_LOGIN_FAILURES_PER_15_MIN, 15 * 60);
  }

  /** Counts one event against `key`; throws rate_limited (429) when over the limit. */
  async consume(kind: LimitKind, key: string): Promise<void> {
    try {
      await this.limiters[kind].consume(key);
    } catch (result) {
      throw toRateLimitError(result);
    }
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
