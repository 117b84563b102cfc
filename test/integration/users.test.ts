import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { http, registerUser, type Registered } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/app.js';

interface Page {
  items: { id: string; username: string; isOnline: boolean; email?: string }[];
  nextCursor: string | null;
}

describe('users', () => {
  let app: TestApp;
  let me: Registered;
  before(async () => {
    app = await startTestApp();
    me = await registerUser(app.url, { username: 'zz_me' });
    for (const name of ['bob_1', 'bob_2', 'bob_3', 'bob_4', 'bobby', 'carol']) {
      await registerUser(app.url, { username: name, email: `${name}@example.test` });
    }
  });

  test('list pages by username without gaps or overlaps', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : '?limit=2';
      const res = await http<Page>(app.url, 'GET', `/api/user/list${query}`, {
        token: me.accessToken,
      });
      assert.equal(res.status, 200);
      assert.ok(res.body.items.length <= 2);
      seen.push(...res.body.items.map((u) => u.username));
      cursor = res.body.nextCursor;
    } while (cursor);
    assert.deepEqual(seen, ['bob_1', 'bob_2', 'bob_3', 'bob_4', 'bobby', 'carol', 'zz_me']);
  });

  test('search is a username prefix, case-insensitive; emails are not listed', async () => {
    const res = await http<Page>(app.url, 'GET', '/api/user/list?search=BOB_', {
      token: me.accessToken,
    });
    assert.deepEqual(
      res.body.items.map((u) => u.username),
      ['bob_1', 'bob_2', 'bob_3', 'bob_4'],
    );
    assert.ok(res.body.items.every((u) => u.email === undefined && u.isOnline === false));
    const paged = await http<Page>(
      app.url,
      'GET',
      '/api/user/list?search=bob&limit=3&cursor=bob_3',
      { token: me.accessToken },
    );
    assert.deepEqual(
      paged.body.items.map((u) => u.username),
      ['bob_4', 'bobby'],
    );
  });

  test('search also matches display names and their words, case- and diacritics-insensitive', async () => {
    const ozge = await registerUser(app.url, { username: 'oz_1' });
    const named = await http(app.url, 'PATCH', '/api/auth/me', {
      token: ozge.accessToken,
      body: { displayName: 'Özge  Işıkoğlu' },
    });
    assert.equal(named.status, 200);
    const usernames = async (search: string) =>
      (
        await http<Page>(app.url, 'GET', `/api/user/list?search=${encodeURIComponent(search)}`, {
          token: me.accessToken,
        })
      ).body.items.map((u) => u.username);
    for (const search of ['ozge', 'ÖZGE', 'isik', 'IŞIKOĞLU', 'özge ışı', 'oz_']) {
      assert.deepEqual(await usernames(search), ['oz_1'], search);
    }
    assert.deepEqual(await usernames('koglu'), [], 'prefixes, not infixes');
    const renamed = await http(app.url, 'PATCH', '/api/auth/me', {
      token: ozge.accessToken,
      body: { displayName: 'Ayşe' },
    });
    assert.equal(renamed.status, 200);
    assert.deepEqual(await usernames('ozge'), [], 'the old name no longer matches');
    assert.deepEqual(await usernames('ayse'), ['oz_1']);
  });

  test('users stored before search keys existed get them at start-up', async () => {
    const users = app.mongo.db.collection('users');
    const now = new Date();
    await users.insertOne({
      username: 'legacy_1',
      email: 'legacy_1@example.test',
      passwordHash: 'x',
      displayName: 'Çağrı Öztürk',
      bio: '',
      avatarUrl: null,
      role: 'user',
      isActive: true,
      lastSeenAt: null,
      createdAt: now,
      updatedAt: now,
    });
    const list = (search: string) =>
      http<Page>(app.url, 'GET', `/api/user/list?search=${search}`, { token: me.accessToken });
    assert.deepEqual((await list('cagri')).body.items, [], 'not yet');
    await app.services.repos.users.ensureIndexes();
    assert.deepEqual(
      (await list('cagri')).body.items.map((u) => u.username),
      ['legacy_1'],
    );
  });

  test('bad list queries are 400; anonymous callers 401', async () => {
    assert.equal(
      (await http(app.url, 'GET', '/api/user/list?limit=0', { token: me.accessToken })).status,
      400,
    );
    assert.equal(
      (await http(app.url, 'GET', '/api/user/list?limit=101', { token: me.accessToken })).status,
      400,
    );
    assert.equal((await http(app.url, 'GET', '/api/user/list')).status, 401);
  });

  test('online endpoints read the online_users set', async () => {
    await app.redis.client.sadd(app.redis.key('online_users'), me.user.id);
    const online = await http<{ count: number; userIds: string[] }>(
      app.url,
      'GET',
      '/api/user/online',
      { token: me.accessToken },
    );
    assert.deepEqual(online.body, { count: 1, userIds: [me.user.id] });
    const count = await http(app.url, 'GET', '/api/user/online/count', { token: me.accessToken });
    assert.deepEqual(count.body, { count: 1 });
    const one = await http(app.url, 'GET', `/api/user/${me.user.id}/online`, {
      token: me.accessToken,
    });
    assert.deepEqual(one.body, { userId: me.user.id, isOnline: true });
    const list = await http<Page>(app.url, 'GET', '/api/user/list?search=zz_', {
      token: me.accessToken,
    });
    assert.equal(list.body.items[0]?.isOnline, true);
    await app.redis.client.srem(app.redis.key('online_users'), me.user.id);
    const after = await http(app.url, 'GET', `/api/user/${me.user.id}/online`, {
      token: me.accessToken,
    });
    assert.deepEqual(after.body, { userId: me.user.id, isOnline: false });
  });
});
