import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { isolatedEnv, startTestApp, type TestApp } from '../support/app.js';
import { registerUser } from '../support/http.js';
import { connectSocket, eventually } from '../support/sockets.js';

/** A flush, limited to this test's keys (the Redis server is shared by every test). */
async function flushPrefix(client: Redis, prefix: string): Promise<string[]> {
  const deleted: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length) await client.del(...keys);
    deleted.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return deleted;
}

describe('security: presence survives Redis losing its data', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp(
      await isolatedEnv({ PRESENCE_HEARTBEAT_MS: '200', PRESENCE_STALE_MS: '2000' }),
    );
  });

  const online = (userId: string) =>
    app.redis.client.sismember(app.redis.key('online_users'), userId).then((flag) => flag === 1);

  test('after a flush, the next heartbeat puts connected users back, and they can still leave', async () => {
    const user = await registerUser(app.url);
    const tab1 = await connectSocket(app.url, user.accessToken);
    const tab2 = await connectSocket(app.url, user.accessToken);
    await eventually(() => online(user.user.id), 5000, 'the user to be online');
    // Not "offline right after the flush": a heartbeat (every 200 ms) may already have run.
    const deleted = await flushPrefix(app.redis.client, app.redis.prefix);
    assert.ok(deleted.includes(app.redis.key('online_users')), 'the flush took presence');
    await eventually(() => online(user.user.id), 5000, 'the heartbeat to restore presence');
    // The restored count is right: closing one tab keeps the user online, closing both does not.
    tab1.disconnect();
    await eventually(
      async () =>
        (await app.redis.client.hget(
          app.redis.key(`presence:user:${user.user.id}`),
          app.instanceId,
        )) === '1',
      5000,
      'one connection left',
    );
    assert.equal(await online(user.user.id), true);
    tab2.disconnect();
    await eventually(async () => !(await online(user.user.id)), 5000, 'the user to go offline');
  });
});
