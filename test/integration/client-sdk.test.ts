import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  createClient,
  memoryStorage,
  ParleyError,
  type MessageView,
  type ParleyClient,
  type ParleySocket,
} from '@parley/client';
import { rooms } from '../../src/contracts/socket.js';
import { isolatedEnv, startTestApp, type TestApp } from '../support/app.js';
import { eventually } from '../support/sockets.js';

let counter = 0;
/** A fresh user's registration body (unique names). */
function newUser() {
  counter += 1;
  const suffix = `${process.pid.toString(36)}${Date.now().toString(36)}${counter}`;
  return {
    username: `sdk_${suffix}`.slice(0, 32),
    email: `sdk_${suffix}@example.test`,
    password: 'correct horse battery',
  };
}

const clients: ParleyClient[] = [];
after(() => clients.forEach((c) => c.close()));

function client(app: TestApp, options: Parameters<typeof createClient>[0] = {}): ParleyClient {
  const c = createClient({ baseUrl: app.url, ...options });
  clients.push(c);
  return c;
}

/** Records every message_received the wrapper delivers. */
function received(socket: ParleySocket): MessageView[] {
  const seen: MessageView[] = [];
  socket.on('message_received', ({ message }) => seen.push(message));
  return seen;
}

function once<T>(subscribe: (listener: (value: T) => void) => () => void): Promise<T> {
  return new Promise((resolve) => {
    const stop = subscribe((value) => {
      stop();
      resolve(value);
    });
  });
}

// The server's CORS_ORIGINS lists neither the SDK nor the app's own address.
describe('@parley/client against a real server', () => {
  let app: TestApp;
  let alice: ParleyClient;
  let bob: ParleyClient;
  let direct: string;

  before(async () => {
    app = await startTestApp(await isolatedEnv({ CORS_ORIGINS: 'https://elsewhere.example.test' }));
    alice = client(app);
    bob = client(app);
    await alice.register(newUser());
    const b = await bob.register(newUser());
    const created = await alice.api.createConversation({ body: { participantId: b.user.id } });
    direct = created.conversation.id;
  });

  test('REST calls resolve with typed bodies and fail with ParleyError', async () => {
    const sent = await alice.api.sendMessage({
      params: { id: direct },
      body: { content: 'hello over REST' },
    });
    assert.equal(sent.message.content, 'hello over REST');
    const page = await bob.api.history({ params: { id: direct }, query: { limit: 10 } });
    assert.ok(page.items.some((m) => m.id === sent.message.id));
    const me = await bob.api.me();
    assert.equal(me.user.id, bob.userId);

    const invalid = await alice.api
      .sendMessage({ params: { id: direct }, body: { content: '   ' } })
      .catch((e: unknown) => e);
    assert.ok(invalid instanceof ParleyError);
    assert.equal(invalid.code, 'validation_failed');
    assert.equal(invalid.status, 400);
    assert.ok(invalid.details, 'validation errors carry details');
    const missing = await alice.api
      .getConversation({ params: { id: 'ffffffffffffffffffffffff' } })
      .catch((e: unknown) => e);
    assert.ok(missing instanceof ParleyError);
    assert.equal(missing.status, 404);
  });

  test('onResponse sees the status: 201 sent, 200 for a retry with the same clientMessageId', async () => {
    const statuses: number[] = [];
    const onResponse = (r: { status: number }) => statuses.push(r.status);
    const body = { content: 'idempotent', clientMessageId: `sdk-${Date.now()}` };
    const first = await alice.api.sendMessage({ params: { id: direct }, body }, { onResponse });
    const again = await alice.api.sendMessage({ params: { id: direct }, body }, { onResponse });
    assert.deepEqual(statuses, [201, 200]);
    assert.equal(again.message.id, first.message.id);
  });

  test('a bare access token is never refreshed: once revoked, calls fail with 401', async () => {
    const owner = client(app, { autoRefresh: false });
    await owner.register(newUser());
    const bare = client(app);
    await bare.useAccessToken(owner.session.state!.accessToken);
    assert.equal((await bare.api.me()).user.id, owner.userId);
    await owner.logout();
    const refused = await bare.api.me().catch((e: unknown) => e);
    assert.ok(refused instanceof ParleyError);
    assert.equal(refused.status, 401);
  });

  test('concurrent refreshes share one rotation; the session stays valid', async () => {
    const c = client(app, { autoRefresh: false });
    await c.register(newUser());
    const before = c.session.state?.refreshToken;
    const results = await Promise.all(Array.from({ length: 5 }, () => c.session.refresh()));
    assert.equal(new Set(results.map((r) => r.refreshToken)).size, 1, 'one rotation');
    assert.notEqual(results[0]?.refreshToken, before);
    // A second presentation of a rotated token would have revoked the session: it is alive.
    assert.equal((await c.api.me()).user.id, c.userId);
  });

  test('tabs sharing storage adopt each other’s rotation instead of reusing a spent token', async () => {
    const storage = memoryStorage();
    const tab1 = client(app, { storage, autoRefresh: false });
    await tab1.register(newUser());
    const tab2 = client(app, { storage, autoRefresh: false });
    assert.equal(await tab2.restore(), true);
    await tab1.session.refresh();
    await tab2.session.refresh(); // holds the spent token: must adopt tab1's pair
    assert.equal(tab2.session.state?.refreshToken, tab1.session.state?.refreshToken);
    assert.equal((await tab1.api.me()).user.id, tab1.userId);
    assert.equal((await tab2.api.me()).user.id, tab1.userId);
  });

  for (const transport of ['websocket', 'polling'] as const) {
    test(`${transport}: typed requests, live messages once, auto-join after reconnect`, async () => {
      const b = bob.connect({ transports: [transport] });
      const a = alice.connect({ transports: [transport] });
      await Promise.all([a.whenConnected(), b.whenConnected()]);
      const seen = received(b);
      await b.join(direct);
      const message = await a.send(direct, `live over ${transport}`);
      await eventually(() => seen.some((m) => m.id === message.id), 5000, 'live message');

      const refused = await a
        .request('join_room', { conversationId: 'ffffffffffffffffffffffff' })
        .catch((e: unknown) => e);
      assert.ok(refused instanceof ParleyError, 'a refused ack rejects');
      assert.notEqual(refused.code, 'timeout');

      // Lose the connection: Socket.IO reconnects, the wrapper joins the room again.
      const inRoom = async () =>
        (await app.io!.in(rooms.conversation(direct)).fetchSockets()).some(
          (s) => s.data.userId === bob.userId,
        );
      assert.equal(await inRoom(), true);
      const back = once<void>((l) => b.on('connected', l));
      b.raw.io.engine.close();
      await back;
      await eventually(inRoom, 5000, 'bob back in the room');
      alice.close();
      bob.close();
    });
  }

  test('catch-up after a gap delivers exactly the missed messages, once each', async () => {
    const b = bob.connect({ transports: ['websocket'] });
    await b.whenConnected();
    const seen = received(b);
    await alice.api.sendMessage({ params: { id: direct }, body: { content: 'before the gap' } });
    await eventually(() => seen.length === 1, 5000, 'the message before the gap');
    b.close();
    const missed: string[] = [];
    for (const content of ['missed 1', 'missed 2', 'missed 3']) {
      const r = await alice.api.sendMessage({ params: { id: direct }, body: { content } });
      missed.push(r.message.id);
    }
    const caughtUp = once<number>((l) => b.on('caughtUp', l));
    b.open();
    assert.equal(await caughtUp, 3, 'the sync lookback re-sends the old one; dedupe drops it');
    assert.deepEqual(
      seen.slice(1).map((m) => m.id),
      missed,
    );
    assert.equal(new Set(seen.map((m) => m.id)).size, seen.length, 'no duplicates');
    bob.close();
  });

  test('a socket that saw no message yet still catches up what arrived while it was away', async () => {
    // Fresh users with an empty conversation: the first catch-up finds no message to start from.
    const carol = client(app);
    const dave = client(app);
    await carol.register(newUser());
    const d = await dave.register(newUser());
    const { conversation } = await carol.api.createConversation({
      body: { participantId: d.user.id },
    });
    const c = carol.connect({ transports: ['websocket'] });
    const seen = received(c);
    const firstCatchUp = once<number>((l) => c.on('caughtUp', l));
    await c.whenConnected();
    await firstCatchUp;
    c.close();
    const { message } = await dave.api.sendMessage({
      params: { id: conversation.id },
      body: { content: 'sent while carol was away' },
    });
    const caughtUp = once<number>((l) => c.on('caughtUp', l));
    c.open();
    assert.equal(await caughtUp, 1);
    assert.deepEqual(
      seen.map((m) => m.id),
      [message.id],
    );
    carol.close();
    dave.close();
  });

  test('the outbox sends once across a reload, reusing the clientMessageId', async () => {
    const storage = memoryStorage();
    const page1 = client(app, { storage });
    await page1.login({
      login: (await alice.api.me()).user.username,
      password: 'correct horse battery',
    });
    const s1 = page1.connect({ transports: ['websocket'] });
    s1.close(); // offline: the send waits in the outbox (and in storage)
    const pending = s1.send(direct, 'sent from the outbox').catch((e: unknown) => e);
    await eventually(() => s1.pending.length === 1, 5000, 'queued');
    const entry = s1.pending[0]!;
    // The first attempt reached the server, its ack was lost: same clientMessageId.
    await page1.api.sendMessage({
      params: { id: direct },
      body: { content: entry.content, clientMessageId: entry.clientMessageId },
    });
    page1.close(); // the page reloads
    assert.ok((await pending) instanceof ParleyError);

    const page2 = client(app, { storage });
    assert.equal(await page2.restore(), true);
    const s2 = page2.connect({ transports: ['websocket'] });
    const sent = await once<{ clientMessageId: string; message: MessageView }>((l) =>
      s2.on('sent', l),
    );
    assert.equal(sent.clientMessageId, entry.clientMessageId);
    const history = await page2.api.history({ params: { id: direct }, query: { limit: 100 } });
    assert.equal(
      history.items.filter((m) => m.clientMessageId === entry.clientMessageId).length,
      1,
      'stored once',
    );
    assert.equal(s2.pending.length, 0);
    page2.close();
  });

  test('a revoked session is reported once through sessionExpired', async () => {
    const c = client(app);
    await c.register(newUser());
    const s = c.connect({ transports: ['websocket'] });
    await s.whenConnected();
    const expired = once<{ reason: string }>((l) => c.on('sessionExpired', l));
    // Another holder of the same session logs it out.
    const other = client(app);
    await other.useTokens({ ...c.session.state!, expiresIn: 60 });
    await other.logout();
    assert.equal((await expired).reason, 'refresh_failed');
    assert.equal(c.session.state, null);
    const after = await c.api.me().catch((e: unknown) => e);
    assert.ok(after instanceof ParleyError, String(after));
    assert.equal(after.status, 401);
    assert.ok(['session_expired', 'unauthenticated'].includes(after.code), after.code);
  });
});

describe('@parley/client token renewal', () => {
  test('a socket outlives several access tokens, renewed before expiry', async () => {
    const app = await startTestApp(await isolatedEnv({ ACCESS_TOKEN_TTL: '3s' }));
    const c = client(app);
    await c.register(newUser());
    let renewals = 0;
    c.session.on('tokens', () => (renewals += 1));
    const s = c.connect({ transports: ['websocket'] });
    await s.whenConnected();
    const expired: unknown[] = [];
    s.on('auth_expired', (p) => expired.push(p));
    const disconnects: string[] = [];
    s.on('disconnected', (r) => disconnects.push(r));
    await eventually(() => renewals >= 3, 15000, 'three renewals');
    assert.deepEqual(expired, [], 'the server never had to expire the socket');
    assert.deepEqual(disconnects, []);
    assert.equal(s.connected, true);
    // The renewed credentials are the socket's: an event still passes the session check.
    await s.request('leave_room', { conversationId: 'ffffffffffffffffffffffff' });
    c.close();
  });
});
