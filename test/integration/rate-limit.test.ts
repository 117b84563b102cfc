import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { isAppError } from '../../src/errors.js';
import { RateLimits, type Limit } from '../../src/infra/rate-limits.js';
import { connectRedis, type RedisHandles } from '../../src/infra/redis.js';
import { silentLogger } from '../../src/logger.js';
import { http, registerUser } from '../support/http.js';
import { atEnd, cleanUpEnv, isolatedEnv, startTestApp, uniqueId } from '../support/app.js';

describe('rate limits', () => {
  test('the auth limit is shared by two instances through Redis', async () => {
    const env = await isolatedEnv({ RATE_LIMIT_AUTH_PER_MINUTE: '4' });
    const [a, b] = [await startTestApp(env), await startTestApp(env)];
    const statuses: number[] = [];
    for (const app of [a, b, a, b, a]) {
      const res = await http(app.url, 'POST', '/api/auth/login', {
        body: { login: 'nobody', password: 'whatever1' },
      });
      statuses.push(res.status);
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 429]);
    const limited = await http(b.url, 'POST', '/api/auth/login', {
      body: { login: 'nobody', password: 'whatever1' },
    });
    assert.equal(limited.status, 429);
    assert.equal((limited.body.error as { code: string }).code, 'rate_limited');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  });

  test('behind one trusted proxy, two client addresses get separate buckets', async () => {
    const app = await startTestApp(
      await isolatedEnv({ RATE_LIMIT_AUTH_PER_MINUTE: '2', TRUST_PROXY: '1' }),
    );
    const login = (ip: string) =>
      http(app.url, 'POST', '/api/auth/login', {
        headers: { 'x-forwarded-for': ip },
        body: { login: 'nobody', password: 'whatever1' },
      });
    assert.equal((await login('203.0.113.1')).status, 401);
    assert.equal((await login('203.0.113.1')).status, 401);
    assert.equal((await login('203.0.113.1')).status, 429);
    assert.equal((await login('203.0.113.2')).status, 401, 'another client is not limited');
  });

  test('failed logins lock the account, not the whole service', async () => {
    const app = await startTestApp(
      await isolatedEnv({ RATE_LIMIT_LOGIN_FAILURES_PER_15_MIN: '3' }),
    );
    const victim = await registerUser(app.url);
    const bystander = await registerUser(app.url);
    for (let i = 0; i < 3; i += 1) {
      const res = await http(app.url, 'POST', '/api/auth/login', {
        body: { login: victim.user.username, password: 'wrong password' },
      });
      assert.equal(res.status, 401);
    }
    const locked = await http(app.url, 'POST', '/api/auth/login', {
      body: { login: victim.user.username, password: victim.password },
    });
    assert.equal(locked.status, 429);
    const other = await http(app.url, 'POST', '/api/auth/login', {
      body: { login: bystander.user.username, password: bystander.password },
    });
    assert.equal(other.status, 200);
  });

  test('the per-user API limit applies per user', async () => {
    const app = await startTestApp(await isolatedEnv({ RATE_LIMIT_API_PER_MINUTE: '3' }));
    const [u1, u2] = [await registerUser(app.url), await registerUser(app.url)];
    const codes: number[] = [];
    for (let i = 0; i < 4; i += 1)
      codes.push((await http(app.url, 'GET', '/api/auth/me', { token: u1.accessToken })).status);
    assert.deepEqual(codes, [200, 200, 200, 429]);
    assert.equal(
      (await http(app.url, 'GET', '/api/auth/me', { token: u2.accessToken })).status,
      200,
    );
  });
});

/** RateLimits on its own Redis prefix, with the limits given. */
async function limitsWith(
  overrides: Record<string, string>,
): Promise<{ limits: RateLimits; redis: RedisHandles }> {
  const env = await isolatedEnv(overrides);
  const config = loadConfig(env);
  const redis = await connectRedis(config.REDIS_URL, config.REDIS_KEY_PREFIX, silentLogger);
  atEnd(() => cleanUpEnv(env));
  atEnd(() => redis.close());
  return { limits: new RateLimits(redis, config), redis };
}

/** The error a call failed with (null when it succeeded): its code and Retry-After. */
async function outcome(call: Promise<void>): Promise<{ code: string; retryAfter?: number } | null> {
  try {
    await call;
    return null;
  } catch (error) {
    if (!isAppError(error)) throw error;
    return { code: error.code, ...(error.retryAfter ? { retryAfter: error.retryAfter } : {}) };
  }
}

describe('rate limits: every limit of an event in one call (consumeAll)', () => {
  test('two limits in one call both count, and the tighter one answers 429', async () => {
    const { limits } = await limitsWith({
      RATE_LIMIT_API_PER_MINUTE: '4',
      RATE_LIMIT_GROUPS_PER_HOUR: '2',
    });
    // The tighter one first: counting must not stop at the limit that refuses.
    const both: Limit[] = [
      ['groups', 'u:a'],
      ['api', 'u:a'],
    ];
    assert.equal(await outcome(limits.consumeAll(both)), null);
    assert.equal(await outcome(limits.consumeAll(both)), null);
    // The hourly limit refuses the third: Retry-After is its window's, not the minute's.
    const third = await outcome(limits.consumeAll(both));
    assert.equal(third?.code, 'rate_limited');
    assert.ok(third.retryAfter! > 60 && third.retryAfter! <= 3600, `${third.retryAfter}`);
    // The refused call counted against the API limit too: one more fits, then it refuses.
    assert.equal(await outcome(limits.consume('api', 'u:a')), null);
    const api = await outcome(limits.consume('api', 'u:a'));
    assert.equal(api?.code, 'rate_limited');
    assert.ok(api.retryAfter! >= 1 && api.retryAfter! <= 60, `${api.retryAfter}`);
    // Both refusing: retry when both let one through, after the longer window.
    const again = await outcome(limits.consumeAll(both));
    assert.ok(again?.retryAfter && again.retryAfter > 60, `${again?.retryAfter}`);
    // Another user's buckets are untouched.
    assert.equal(
      await outcome(
        limits.consumeAll([
          ['api', 'u:b'],
          ['groups', 'u:b'],
        ]),
      ),
      null,
    );
  });

  test('the socket limit lets a burst through once its second is used up, then refuses', async () => {
    const { limits } = await limitsWith({
      RATE_LIMIT_SOCKET_PER_SECOND: '2',
      RATE_LIMIT_SOCKET_BURST: '4',
    });
    // Within one call no time passes: 2 a second plus 4 - 2 of burst fit, a fifth does not.
    const times = (n: number, key: string): Limit[] =>
      Array.from({ length: n }, () => ['socket', key]);
    assert.equal(await outcome(limits.consumeAll(times(4, 'u:a'))), null);
    const fifth = await outcome(limits.consumeAll(times(5, 'u:b')));
    assert.equal(fifth?.code, 'rate_limited');
    assert.equal(fifth.retryAfter, 1);
  });

  test('a revoked session is refused before any limit counts', async () => {
    const { limits, redis } = await limitsWith({ RATE_LIMIT_API_PER_MINUTE: '1' });
    const sid = uniqueId();
    const probe = {
      denylistKey: redis.key(`denylist:${uniqueId()}`),
      sessionKey: redis.key(`session:${sid}`),
      userId: 'alice',
    };
    const api: Limit[] = [['api', 'u:alice']];
    // No session yet, then a session of another user: both refused, nothing counted.
    assert.equal((await outcome(limits.consumeAll(api, { session: probe })))?.code, 'unauthorized');
    await redis.client.hset(probe.sessionKey, 'userId', 'mallory');
    assert.equal((await outcome(limits.consumeAll(api, { session: probe })))?.code, 'unauthorized');
    await redis.client.hset(probe.sessionKey, 'userId', 'alice');
    assert.equal(await outcome(limits.consumeAll(api, { session: probe })), null);
    // A denylisted token of a live session: refused, not rate limited (the limit is used up).
    await redis.client.set(probe.denylistKey, '1');
    assert.equal((await outcome(limits.consumeAll(api, { session: probe })))?.code, 'unauthorized');
    assert.equal((await outcome(limits.consumeAll(api)))?.code, 'rate_limited');
  });
});
