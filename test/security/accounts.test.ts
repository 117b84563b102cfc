import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { ObjectId } from 'mongodb';
import { isolatedEnv, startTestApp, type TestApp } from '../support/app.js';
import { http, registerUser } from '../support/http.js';

describe('security: account lifecycle', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp(
      await isolatedEnv({ RATE_LIMIT_GROUPS_PER_HOUR: '2', ADMIN_EMAILS: 'boss@example.test' }),
    );
  });

  test('refresh is refused once the account is deactivated', async () => {
    const user = await registerUser(app.url);
    await app.mongo.db
      .collection('users')
      .updateOne({ _id: new ObjectId(user.user.id) }, { $set: { isActive: false } });
    const res = await http(app.url, 'POST', '/api/auth/refresh', {
      body: { refreshToken: user.refreshToken },
    });
    assert.equal(res.status, 401, 'a deactivated account got fresh tokens');
  });

  test('group creation is limited per user per hour', async () => {
    const [owner, a, b] = [
      await registerUser(app.url),
      await registerUser(app.url),
      await registerUser(app.url),
    ];
    const group = (by: typeof owner, name: string) =>
      http(app.url, 'POST', '/api/conversations', {
        token: by.accessToken,
        body: {
          participantIds: [owner, a, b].filter((u) => u !== by).map((u) => u.user.id),
          name,
        },
      });
    assert.equal((await group(owner, 'g1')).status, 201);
    assert.equal((await group(owner, 'g2')).status, 201);
    const third = await group(owner, 'g3');
    assert.equal(third.status, 429, 'a third group within the hour was created');
    assert.equal((await group(a, 'theirs')).status, 201, 'the limit is per user');
  });

  test('ADMIN_EMAILS does not make whoever registers a listed address first an admin', async () => {
    const squatter = await registerUser(app.url, { email: 'boss@example.test' });
    assert.equal(squatter.user.role, 'user');
    const login = await http<{ user: { role: string } }>(app.url, 'POST', '/api/auth/login', {
      body: { login: 'boss@example.test', password: squatter.password },
    });
    assert.equal(login.status, 200);
    assert.equal(login.body.user.role, 'user');
  });

  test('ADMIN_EMAILS promotes, at login, an account that existed before it was listed', async () => {
    const env = await isolatedEnv();
    const before = await startTestApp(env);
    const owner = await registerUser(before.url, { email: 'owner@example.test' });
    const after = await startTestApp({ ...env, ADMIN_EMAILS: 'owner@example.test' });
    const login = await http<{ user: { role: string } }>(after.url, 'POST', '/api/auth/login', {
      body: { login: 'owner@example.test', password: owner.password },
    });
    assert.equal(login.body.user.role, 'admin');
  });
});
