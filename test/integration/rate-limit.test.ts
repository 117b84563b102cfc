import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { http, registerUser } from '../support/http.js';
import { isolatedEnv, startTestApp } from '../support/app.js';

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
