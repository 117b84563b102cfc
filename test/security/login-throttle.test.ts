import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { isolatedEnv, startTestApp, type TestApp } from '../support/app.js';
import { http, registerUser } from '../support/http.js';

const LIMIT = 10; // RATE_LIMIT_LOGIN_FAILURES_PER_15_MIN's default

describe('security: password guessing is throttled per account', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp(await isolatedEnv());
  });

  const login = (login: string, password: string) =>
    http(app.url, 'POST', '/api/auth/login', { body: { login, password } });

  test('25 parallel wrong logins: at most the limit reach the password check, the rest get 429', async () => {
    const user = await registerUser(app.url);
    const statuses = await Promise.all(
      Array.from({ length: 25 }, () =>
        login(user.user.username, 'wrong password!').then((r) => r.status),
      ),
    );
    const checked = statuses.filter((s) => s === 401).length;
    const limited = statuses.filter((s) => s === 429).length;
    assert.ok(checked <= LIMIT, `${checked} guesses reached the hash check: ${statuses.join(',')}`);
    assert.equal(checked + limited, 25, statuses.join(','));
  });

  test('failures by username lock the account for its email too', async () => {
    const user = await registerUser(app.url);
    for (let i = 0; i < LIMIT; i += 1) {
      assert.equal((await login(user.user.username, 'wrong password!')).status, 401);
    }
    const byEmail = await login(user.user.email ?? '', user.password);
    assert.equal(byEmail.status, 429, 'the right password by email got past the lock');
  });

  test('PATCH /api/auth/me: guessing the current password is throttled like login', async () => {
    const user = await registerUser(app.url);
    const change = (currentPassword: string) =>
      http(app.url, 'PATCH', '/api/auth/me', {
        token: user.accessToken,
        body: { currentPassword, newPassword: 'a brand new password' },
      });
    for (let i = 0; i < LIMIT; i += 1) assert.equal((await change('wrong password!')).status, 401);
    const right = await change(user.password);
    assert.equal(right.status, 429, 'an 11th guess reached the hash check');
    assert.equal((right.body.error as { code: string }).code, 'rate_limited');
    // Per account: someone else's password change is unaffected.
    const other = await registerUser(app.url);
    const theirs = await http(app.url, 'PATCH', '/api/auth/me', {
      token: other.accessToken,
      body: { currentPassword: other.password, newPassword: 'a brand new password' },
    });
    assert.equal(theirs.status, 200);
  });
});
