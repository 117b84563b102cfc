import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { atEnd, cleanUpEnv, isolatedEnv, startTestApp } from '../support/app.js';
import { directConversation, http, registerUser } from '../support/http.js';
import { startRoleProcess } from '../support/processes.js';
import { freePort } from '../support/ports.js';
import { startPrivateRedis } from '../support/redis-server.js';
import { connectSocket, eventually, nextEvent } from '../support/sockets.js';

const OUTAGE_MS = 10_000;

describe('security: a Redis outage does not take api processes down', () => {
  test('Redis stopped ~10 s under traffic: the api stays up, reports not-ready, recovers by itself', async () => {
    const redis = await startPrivateRedis();
    const port = await freePort();
    const env = await isolatedEnv({
      REDIS_URL: redis.url,
      PORT: String(port),
      RATE_LIMIT_MESSAGES_PER_MINUTE: '100000',
    });
    atEnd(async () => {
      await redis.start(); // if a failure left it stopped: the cleanup needs it
      await cleanUpEnv(env);
    });
    const api = startRoleProcess('api', env);
    let exited: number | string | null = null;
    void api.exited.then((code) => (exited = code));
    const url = `http://127.0.0.1:${port}`;
    const ready = () =>
      fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.status,
        () => 0,
      );
    await eventually(async () => (await ready()) === 200, 20_000, 'the api to be ready');

    const [alice, bob] = [await registerUser(url), await registerUser(url)];
    const conversationId = await directConversation(url, alice, bob);
    await connectSocket(url, bob.accessToken);
    // Traffic: sends whose fan-out goes through the Socket.IO Redis adapter.
    let traffic = true;
    let sent = 0;
    const sender = async () => {
      while (traffic) {
        const res = await http(url, 'POST', `/api/conversations/${conversationId}/messages`, {
          token: alice.accessToken,
          body: { content: `m${sent}` },
        }).catch(() => null);
        if (res) sent += 1;
        if (!res && exited !== null) break;
      }
    };
    const senders = Array.from({ length: 16 }, sender);
    await eventually(() => sent > 20, 10_000, 'traffic to flow');

    // The outage: Redis dies while requests are in flight, and stays away ~10 s.
    const outageEnds = Date.now() + OUTAGE_MS;
    await redis.stop();
    await eventually(
      async () => exited !== null || (await ready()) === 503,
      10_000,
      'the api to report not-ready',
    );
    await eventually(
      () => Date.now() > outageEnds || exited !== null,
      OUTAGE_MS + 5000,
      'the outage to last',
    );
    assert.equal(exited, null, `the api died during the outage: ${api.stderr()}`);
    await redis.start();
    await eventually(async () => (await ready()) === 200, 30_000, 'the api to recover');
    traffic = false;
    await Promise.all(senders);
    assert.equal(exited, null, `the api died: ${api.stderr()}`);

    // Redis came back empty (sessions too): new sessions chat in real time again.
    const [carol, dave] = [await registerUser(url), await registerUser(url)];
    const fresh = await directConversation(url, carol, dave);
    const daveSocket = await connectSocket(url, dave.accessToken);
    const delivered = nextEvent(
      daveSocket,
      'message_received',
      (p) => p.message.content === 'back',
    );
    const res = await http(url, 'POST', `/api/conversations/${fresh}/messages`, {
      token: carol.accessToken,
      body: { content: 'back' },
    });
    assert.equal(res.status, 201);
    await delivered;
  });

  test('sockets connected before a Redis restart are made to reconnect, and receive again', async () => {
    const redis = await startPrivateRedis({ persistent: true });
    const env = await isolatedEnv({ REDIS_URL: redis.url, ROLE: 'api' });
    atEnd(async () => {
      await redis.start();
      await cleanUpEnv(env);
    });
    const app = await startTestApp(env);
    const [alice, bob] = [await registerUser(app.url), await registerUser(app.url)];
    const conversationId = await directConversation(app.url, alice, bob);
    const bobSocket = await connectSocket(app.url, bob.accessToken, { reconnection: true });
    let connects = 0;
    bobSocket.io.on('reconnect', () => (connects += 1));

    await redis.stop();
    await redis.start();
    // Pub/sub kept nothing of the outage: the server must not leave bob's socket silently behind.
    await eventually(() => connects > 0 && bobSocket.connected, 20_000, 'bob to be reconnected');
    const delivered = nextEvent(
      bobSocket,
      'message_received',
      (p) => p.message.content === 'after',
    );
    const res = await http(app.url, 'POST', `/api/conversations/${conversationId}/messages`, {
      token: alice.accessToken,
      body: { content: 'after' },
    });
    assert.equal(res.status, 201);
    await delivered;
  });

  test('fan-out while Redis is down leaves no unhandled rejection behind', async () => {
    const redis = await startPrivateRedis();
    const env = await isolatedEnv({ REDIS_URL: redis.url, ROLE: 'api' });
    atEnd(async () => {
      await redis.start();
      await cleanUpEnv(env);
    });
    const app = await startTestApp(env);
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      await redis.stop();
      // What a message send does after its checks passed: publish through the Redis adapter.
      const started = Date.now();
      await eventually(
        () => {
          app.io
            ?.to('user:nobody')
            .emit('typing', { conversationId: 'c', userId: 'u', isTyping: true });
          return unhandled.length > 0 || Date.now() - started > 3000;
        },
        10_000,
        'publishes to fail',
        100,
      );
      assert.deepEqual(unhandled.map(String), [], 'a failed adapter publish was left unhandled');
    } finally {
      process.off('unhandledRejection', record);
      await redis.start(); // so the app can stop cleanly
    }
  });
});
