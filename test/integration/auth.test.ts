import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { http, registerUser } from '../support/http.js';
import { isolatedEnv, startTestApp, type TestApp } from '../support/app.js';

describe('auth', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp(await isolatedEnv());
  });

  test('register returns the user without secrets, and tokens that work', async () => {
    const res = await http(app.url, 'POST', '/api/auth/register', {
      body: { username: 'Alice.W', email: 'Alice@Example.TEST', password: 'password123' },
    });
    assert.equal(res.status, 201);
    const user = res.body.user as Record<string, unknown>;
    assert.equal(user.username, 'alice.w');
    assert.equal(user.email, 'alice@example.test');
    assert.equal(user.role, 'user');
    assert.equal('passwordHash' in user, false);
    assert.equal(JSON.stringify(res.body).includes('argon2'), false);
    const me = await http(app.url, 'GET', '/api/auth/me', {
      token: res.body.accessToken as string,
    });
    assert.equal(me.status, 200);
    assert.equal((me.body.user as { id: string }).id, user.id);
  });

  test('usernames and emails are unique, case-insensitively (409)', async () => {
    const first = await registerUser(app.url);
    const again = await http(app.url, 'POST', '/api/auth/register', {
      body: {
        username: first.user.username.toUpperCase(),
        email: 'other@example.test',
        password: 'password123',
      },
    });
    assert.equal(again.status, 409);
    assert.equal((again.body.error as { code: string }).code, 'conflict');
    const sameEmail = await http(app.url, 'POST', '/api/auth/register', {
      body: {
        username: 'someone_else',
        email: first.user.email?.toUpperCase(),
        password: 'password123',
      },
    });
    assert.equal(sameEmail.status, 409);
  });

  test('bad input is refused with 400 and stores nothing', async () => {
    const cases: unknown[] = [
      { username: 'ab', email: 'x@example.test', password: 'password123' },
      { username: 'has space', email: 'x@example.test', password: 'password123' },
      { username: 'valid_name', email: 'not-an-email', password: 'password123' },
      { username: 'valid_name', email: 'x@example.test', password: 'short' },
      { username: 'valid_name', email: 'x@example.test', password: 'p'.repeat(129) },
      { username: { $gt: '' }, email: 'x@example.test', password: 'password123' },
      { username: ['valid_name'], email: 'x@example.test', password: 'password123' },
      { username: 'valid_name', email: 'x@example.test', password: 'password123', role: 'admin' },
    ];
    for (const body of cases) {
      const res = await http(app.url, 'POST', '/api/auth/register', { body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal((res.body.error as { code: string }).code, 'validation_failed');
    }
    const login = await http(app.url, 'POST', '/api/auth/login', {
      body: { login: 'valid_name', password: 'password123' },
    });
    assert.equal(login.status, 401, 'none of the refused registrations created an account');
  });

  test('operator objects in login are 400, not a bypass', async () => {
    const res = await http(app.url, 'POST', '/api/auth/login', {
      body: { login: { $gt: '' }, password: { $gt: '' } },
    });
    assert.equal(res.status, 400);
  });

  test('login by username or email; unknown user and wrong password look the same', async () => {
    const u = await registerUser(app.url);
    const byName = await http(app.url, 'POST', '/api/auth/login', {
      body: { login: u.user.username, password: u.password },
    });
    assert.equal(byName.status, 200);
    assert.equal(byName.body.expiresIn, 900);
    const byEmail = await http(app.url, 'POST', '/api/auth/login', {
      body: { login: u.user.email, password: u.password },
    });
    assert.equal(byEmail.status, 200);
    const wrong = await http(app.url, 'POST', '/api/auth/login', {
      body: { login: u.user.username, password: 'wrong password' },
    });
    const unknown = await http(app.url, 'POST', '/api/auth/login', {
      body: { login: 'nobody_here', password: 'wrong password' },
    });
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.body, unknown.body);
  });

  test('refresh rotates; presenting a used refresh token revokes the session', async () => {
    const u = await registerUser(app.url);
    const first = await http(app.url, 'POST', '/api/auth/refresh', {
      body: { refreshToken: u.refreshToken },
    });
    assert.equal(first.status, 200);
    assert.notEqual(first.body.refreshToken, u.refreshToken);
    const newAccess = first.body.accessToken as string;
    assert.equal((await http(app.url, 'GET', '/api/auth/me', { token: newAccess })).status, 200);

    const reuse = await http(app.url, 'POST', '/api/auth/refresh', {
      body: { refreshToken: u.refreshToken },
    });
    assert.equal(reuse.status, 401);
    const afterReuse = await http(app.url, 'POST', '/api/auth/refresh', {
      body: { refreshToken: first.body.refreshToken },
    });
    assert.equal(
      afterReuse.status,
      401,
      'the whole session is revoked, including the newest token',
    );
    assert.equal((await http(app.url, 'GET', '/api/auth/me', { token: newAccess })).status, 401);
  });

  test('logout revokes that session only', async () => {
    const u = await registerUser(app.url);
    const other = await http(app.url, 'POST', '/api/auth/login', {
      body: { login: u.user.username, password: u.password },
    });
    const logout = await http(app.url, 'POST', '/api/auth/logout', {
      token: u.accessToken,
      body: { refreshToken: u.refreshToken },
    });
    assert.equal(logout.status, 204);
    assert.equal(
      (await http(app.url, 'GET', '/api/auth/me', { token: u.accessToken })).status,
      401,
    );
    const refresh = await http(app.url, 'POST', '/api/auth/refresh', {
      body: { refreshToken: u.refreshToken },
    });
    assert.equal(refresh.status, 401);
    assert.equal(
      (await http(app.url, 'GET', '/api/auth/me', { token: other.body.accessToken as string }))
        .status,
      200,
    );
  });

  test('missing, malformed and forged tokens are 401', async () => {
    assert.equal((await http(app.url, 'GET', '/api/auth/me')).status, 401);
    assert.equal((await http(app.url, 'GET', '/api/auth/me', { token: 'not.a.jwt' })).status, 401);
    const u = await registerUser(app.url);
    const [h, p] = u.accessToken.split('.');
    const forged = `${h}.${p}.${'A'.repeat(43)}`;
    assert.equal((await http(app.url, 'GET', '/api/auth/me', { token: forged })).status, 401);
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${p}.`;
    assert.equal((await http(app.url, 'GET', '/api/auth/me', { token: none })).status, 401);
  });

  test('PATCH /me updates the profile, never the role; password change needs the current one', async () => {
    const u = await registerUser(app.url);
    const patched = await http(app.url, 'PATCH', '/api/auth/me', {
      token: u.accessToken,
      body: { displayName: 'Alice W', bio: 'hi', avatarUrl: 'https://example.test/a.png' },
    });
    assert.equal(patched.status, 200);
    assert.equal((patched.body.user as { displayName: string }).displayName, 'Alice W');
    const role = await http(app.url, 'PATCH', '/api/auth/me', {
      token: u.accessToken,
      body: { role: 'admin' },
    });
    assert.equal(role.status, 400);
    const noCurrent = await http(app.url, 'PATCH', '/api/auth/me', {
      token: u.accessToken,
      body: { newPassword: 'another password' },
    });
    assert.equal(noCurrent.status, 400);
    const wrongCurrent = await http(app.url, 'PATCH', '/api/auth/me', {
      token: u.accessToken,
      body: { currentPassword: 'nope nope', newPassword: 'another password' },
    });
    assert.equal(wrongCurrent.status, 401);
    const changed = await http(app.url, 'PATCH', '/api/auth/me', {
      token: u.accessToken,
      body: { currentPassword: u.password, newPassword: 'another password' },
    });
    assert.equal(changed.status, 200);
    const oldLogin = await http(app.url, 'POST', '/api/auth/login', {
      body: { login: u.user.username, password: u.password },
    });
    assert.equal(oldLogin.status, 401);
    const newLogin = await http(app.url, 'POST', '/api/auth/login', {
      body: { login: u.user.username, password: 'another password' },
    });
    assert.equal(newLogin.status, 200);
    const me = await http<{ user: { role: string } }>(app.url, 'GET', '/api/auth/me', {
      token: u.accessToken,
    });
    assert.equal(me.body.user.role, 'user');
  });

  test('malformed JSON is 400, an oversized body 413', async () => {
    const malformed = await http(app.url, 'POST', '/api/auth/login', { rawBody: '{"login": ' });
    assert.equal(malformed.status, 400);
    assert.equal((malformed.body.error as { code: string }).code, 'malformed_json');
    const huge = await http(app.url, 'POST', '/api/auth/login', {
      body: { login: 'x'.repeat(200_000), password: 'x' },
    });
    assert.equal(huge.status, 413);
  });

  test('unknown routes are a JSON 404', async () => {
    const res = await http(app.url, 'GET', '/api/nope');
    assert.equal(res.status, 404);
    assert.equal((res.body.error as { code: string }).code, 'not_found');
  });
});
