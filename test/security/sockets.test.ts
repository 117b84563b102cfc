import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { io } from 'socket.io-client';
import { atEnd, isolatedEnv, startTestApp, type TestApp } from '../support/app.js';
import { directConversation, http, registerUser, type Registered } from '../support/http.js';
import { connectSocket, eventually, request, type ClientSocket } from '../support/sockets.js';
import { claimsOf } from './support.js';

const TTL_SECONDS = 5;

/** Resolves with the disconnect reason, and the `auth_expired` that came first (or null). */
function closing(socket: ClientSocket, timeoutMs = 15_000) {
  let told: { reason: string } | null = null;
  socket.once('auth_expired', (payload) => (told = payload));
  return new Promise<{ reason: string; told: { reason: string } | null }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the socket stayed connected')), timeoutMs);
    socket.once('disconnect', (reason) => {
      clearTimeout(timer);
      resolve({ reason, told });
    });
  });
}

describe('security: sockets do not outlive their credentials', () => {
  let app: TestApp;
  let alice: Registered;
  let bob: Registered;
  before(async () => {
    app = await startTestApp(await isolatedEnv({ ACCESS_TOKEN_TTL: `${TTL_SECONDS}s` }));
    [alice, bob] = [await registerUser(app.url), await registerUser(app.url)];
  });

  const fresh = async (user: Registered) => {
    const res = await http<{ accessToken: string; refreshToken: string }>(
      app.url,
      'POST',
      '/api/auth/refresh',
      { body: { refreshToken: user.refreshToken } },
    );
    assert.equal(res.status, 200);
    user.refreshToken = res.body.refreshToken;
    user.accessToken = res.body.accessToken;
    return res.body.accessToken;
  };

  /** Their direct conversation (tokens live 5 s here: alice's is renewed first). */
  const conversation = async () => {
    await fresh(alice);
    return directConversation(app.url, alice, bob);
  };

  test('a socket whose access token expires is told auth_expired and disconnected', async () => {
    const socket = await connectSocket(app.url, await fresh(alice));
    const { reason, told } = await closing(socket);
    assert.equal(reason, 'io server disconnect');
    assert.deepEqual(told, { reason: 'expired' }, 'no auth_expired event before the disconnect');
  });

  test('an auth event with a fresh token keeps the socket past the first expiry', async () => {
    const direct = await conversation();
    const first = await fresh(alice);
    const socket = await connectSocket(app.url, first);
    const firstExpiry = claimsOf(first).exp * 1000;
    // Renew shortly before the first token runs out, as a client's timer would.
    await eventually(() => Date.now() > firstExpiry - 1500, 10_000, 'time to renew');
    const renewed = await request(socket, 'auth', { token: await fresh(alice) });
    assert.equal(renewed.ok, true, JSON.stringify(renewed));
    await eventually(() => Date.now() > firstExpiry + 1000, 10_000, 'the first token to expire');
    assert.equal(socket.connected, true, 'renewed socket was disconnected');
    const sent = await request(socket, 'send_message', {
      conversationId: direct,
      content: 'still here',
    });
    assert.equal(sent.ok, true, JSON.stringify(sent));
  });

  test("auth with another user's token is refused and changes nothing", async () => {
    const direct = await conversation();
    const socket = await connectSocket(app.url, await fresh(alice));
    const outsider = await registerUser(app.url);
    const refused = await request(socket, 'auth', { token: outsider.accessToken });
    assert.equal(refused.ok, false);
    const sent = await request(socket, 'send_message', { conversationId: direct, content: 'me' });
    assert.equal(sent.ok, true, JSON.stringify(sent));
    assert.equal(sent.ok && sent.message.senderId, alice.user.id);
  });

  /**
   * What a user's rate-limit counters (RateLimits' keys) hold: a refused event must raise none.
   * The per-minute message counter outlives the test; the per-second ones may only run out.
   */
  const countsOf = (user: Registered) =>
    Promise.all(
      ['sock', 'sockburst', 'msg'].map(async (limit) =>
        Number((await app.redis.client.get(app.redis.key(`rl:${limit}:u:${user.user.id}`))) ?? 0),
      ),
    );
  const assertNotCounted = (before: number[], after: number[]) =>
    assert.ok(
      after.every((count, i) => count <= (before[i] ?? 0)),
      `the refused event was counted: ${before.join()} -> ${after.join()}`,
    );

  test('a socket whose session vanished is refused, counting nothing, and disconnected', async () => {
    const direct = await conversation();
    const token = await fresh(bob);
    const socket = await connectSocket(app.url, token);
    const before = await countsOf(bob);
    const closed = closing(socket);
    // However a session ends (revoked elsewhere, expired, lost), its key is gone.
    await app.redis.client.del(app.redis.key(`session:${claimsOf(token).sid}`));
    const sent = await request(socket, 'send_message', {
      conversationId: direct,
      content: 'ghost',
    });
    assert.equal(sent.ok, false, 'a socket without a session could still send');
    assert.equal(!sent.ok && sent.error.code, 'unauthorized');
    assert.deepEqual(await closed, { reason: 'io server disconnect', told: { reason: 'revoked' } });
    assertNotCounted(before, await countsOf(bob));
  });

  test('a socket whose token was denylisted is refused, counting nothing, and disconnected', async () => {
    // Bob's session ended in the test before: a user of its own, just registered.
    const carol = await registerUser(app.url);
    const direct = await directConversation(app.url, carol, alice);
    const token = carol.accessToken;
    const socket = await connectSocket(app.url, token);
    const before = await countsOf(carol);
    const closed = closing(socket);
    // The denylist entry alone (what logout writes for the token), the session still alive.
    await app.redis.client.set(app.redis.key(`denylist:${claimsOf(token).jti}`), '1', 'EX', 60);
    const sent = await request(socket, 'send_message', { conversationId: direct, content: 'out' });
    assert.equal(!sent.ok && sent.error.code, 'unauthorized');
    assert.deepEqual(await closed, { reason: 'io server disconnect', told: { reason: 'revoked' } });
    assertNotCounted(before, await countsOf(carol));
  });
});

describe('security: socket handshakes are rate-limited per client address', () => {
  test('the limit applies per address, not to everyone at once', async () => {
    const app = await startTestApp(
      await isolatedEnv({ RATE_LIMIT_SOCKET_HANDSHAKES_PER_MINUTE: '3', TRUST_PROXY: '1' }),
    );
    const user = await registerUser(app.url);
    const handshake = (address: string) => {
      const socket = io(app.url, {
        auth: { token: user.accessToken },
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
        extraHeaders: { 'x-forwarded-for': address },
      });
      atEnd(() => Promise.resolve(void socket.disconnect()));
      return new Promise<string>((resolve) => {
        socket.once('connect', () => resolve('connected'));
        socket.once('connect_error', (error) => resolve(error.message));
      });
    };
    for (let i = 0; i < 3; i += 1) assert.equal(await handshake('203.0.113.7'), 'connected');
    assert.equal(await handshake('203.0.113.7'), 'rate_limited');
    assert.equal(await handshake('203.0.113.8'), 'connected', 'another address was limited too');
  });
});
