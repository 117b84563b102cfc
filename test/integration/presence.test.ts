import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { directConversation, http, registerUser, type Registered } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { connectSocket, eventually, nextEvent, record } from '../support/sockets.js';

describe('presence', () => {
  let app: TestApp;

  const open = (a: Registered, b: Registered) => directConversation(app.url, a, b);

  before(async () => {
    app = await startTestApp();
  });

  test('presence: online while any tab is open; contacts hear online/offline; lastSeenAt stored', async () => {
    const dave = await registerUser(app.url);
    const erin = await registerUser(app.url);
    const stranger = await registerUser(app.url);
    await open(dave, erin);
    const e = await connectSocket(app.url, erin.accessToken);
    const s = await connectSocket(app.url, stranger.accessToken);
    const strangerHeard = record(s, 'user_online');
    const online = nextEvent(e, 'user_online', (p) => p.userId === dave.user.id);
    const tab1 = await connectSocket(app.url, dave.accessToken);
    await online;
    const tab2 = await connectSocket(app.url, dave.accessToken);
    const isOnline = async () =>
      (
        await http<{ isOnline: boolean }>(app.url, 'GET', `/api/user/${dave.user.id}/online`, {
          token: erin.accessToken,
        })
      ).body.isOnline;
    assert.equal(await isOnline(), true);
    tab1.disconnect();
    await eventually(
      async () =>
        (await app.redis.client.hget(
          app.redis.key(`presence:user:${dave.user.id}`),
          app.instanceId,
        )) === '1',
      5000,
      'one tab left',
    );
    assert.equal(await isOnline(), true, 'a second tab keeps the user online');
    const offline = nextEvent(e, 'user_offline', (p) => p.userId === dave.user.id);
    tab2.disconnect();
    const event = await offline;
    assert.equal(await isOnline(), false);
    const list = await http<{ items: { id: string; lastSeenAt: string | null }[] }>(
      app.url,
      'GET',
      `/api/user/list?search=${dave.user.username}`,
      { token: erin.accessToken },
    );
    assert.equal(list.body.items[0]?.lastSeenAt, event.lastSeenAt);
    assert.equal(
      strangerHeard.filter((p) => p.userId === dave.user.id).length,
      0,
      'non-contacts are not told',
    );
  });

  test("a crashed instance's users leave online_users when its heartbeat goes stale", async () => {
    const ghost = await registerUser(app.url);
    const friend = await registerUser(app.url);
    await open(ghost, friend);
    const f = await connectSocket(app.url, friend.accessToken);
    // Simulate an instance that connected the ghost and then died without cleaning up.
    const deadInstance = 'dead-instance-for-test';
    await app.redis.client.hincrby(
      app.redis.key(`presence:user:${ghost.user.id}`),
      deadInstance,
      1,
    );
    await app.redis.client.sadd(
      app.redis.key(`presence:instance_users:${deadInstance}`),
      ghost.user.id,
    );
    await app.redis.client.sadd(app.redis.key('online_users'), ghost.user.id);
    await app.redis.client.hset(
      app.redis.key('presence:instances'),
      deadInstance,
      String(Date.now() - 60_000),
    );
    const offline = nextEvent(f, 'user_offline', (p) => p.userId === ghost.user.id);
    await app.presence?.tick();
    await offline;
    assert.equal(await app.redis.client.sismember(app.redis.key('online_users'), ghost.user.id), 0);
    assert.equal(
      await app.redis.client.hexists(app.redis.key('presence:instances'), deadInstance),
      0,
    );
  });
});
