import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { directConversation, http, registerUser, type Registered } from '../support/http.js';
import { io } from 'socket.io-client';
import { startTestApp, type TestApp } from '../support/app.js';
import {
  connectError,
  connectSocket,
  eventually,
  nextEvent,
  record,
  request,
  requestOffContract,
  requestOk,
  type ClientSocket,
} from '../support/sockets.js';
import type { ClientEvent } from '../../src/contracts/socket.js';

interface ConversationBody {
  conversation: { id: string };
}

describe('real-time gateway', () => {
  let app: TestApp;
  let alice: Registered;
  let bob: Registered;
  let carol: Registered;
  let direct: string;
  let group: string;

  const open = (a: Registered, b: Registered) => directConversation(app.url, a, b);

  before(async () => {
    app = await startTestApp();
    [alice, bob, carol] = [
      await registerUser(app.url),
      await registerUser(app.url),
      await registerUser(app.url),
    ];
    direct = await open(alice, bob);
    const res = await http<ConversationBody>(app.url, 'POST', '/api/conversations', {
      token: alice.accessToken,
      body: { participantIds: [bob.user.id, carol.user.id], name: 'g' },
    });
    group = res.body.conversation.id;
  });

  test('the handshake needs a valid, unrevoked token', async () => {
    assert.equal(await connectError(app.url, undefined), 'unauthorized');
    assert.equal(await connectError(app.url, 'garbage'), 'unauthorized');
    assert.equal(await connectError(app.url, alice.accessToken), null);
  });

  test('send_message is acked and delivered exactly once to each member socket, joined or not', async () => {
    const a = await connectSocket(app.url, alice.accessToken);
    const b1 = await connectSocket(app.url, bob.accessToken);
    const b2 = await connectSocket(app.url, bob.accessToken);
    assert.equal((await request(b1, 'join_room', { conversationId: direct })).ok, true);
    const seen1 = record(b1, 'message_received');
    const seen2 = record(b2, 'message_received');
    const ack = await requestOk(a, 'send_message', {
      conversationId: direct,
      content: 'hi bob',
      clientMessageId: 'rt-1',
    });
    const messageId = ack.message.id;
    // A second message acts as a fence: events arrive in order, so once it is seen, any
    // duplicate of the first would already have arrived.
    await request(a, 'send_message', { conversationId: direct, content: 'fence' });
    await eventually(() => seen1.length >= 2 && seen2.length >= 2, 5000, 'both messages');
    for (const seen of [seen1, seen2]) {
      assert.deepEqual(
        seen.map((p) => p.message.content),
        ['hi bob', 'fence'],
      );
      assert.equal(seen[0]?.message.id, messageId);
    }
  });

  test('a retried send_message returns the original and emits nothing new', async () => {
    const a = await connectSocket(app.url, alice.accessToken);
    const b = await connectSocket(app.url, bob.accessToken);
    const seen = record(b, 'message_received');
    const first = await requestOk(a, 'send_message', {
      conversationId: direct,
      content: 'once',
      clientMessageId: 'retry-1',
    });
    const again = await requestOk(a, 'send_message', {
      conversationId: direct,
      content: 'once',
      clientMessageId: 'retry-1',
    });
    assert.deepEqual(again.message, first.message);
    await request(a, 'send_message', { conversationId: direct, content: 'fence' });
    await eventually(() => seen.some((p) => p.message.content === 'fence'), 5000, 'fence');
    assert.equal(seen.filter((p) => p.message.content === 'once').length, 1);
  });

  test('concurrent sends (one group commit) each get their own ack; a concurrent retry gets the original', async () => {
    const a = await connectSocket(app.url, alice.accessToken);
    const b = await connectSocket(app.url, bob.accessToken);
    const seen = record(b, 'message_received');
    const sends = ['c1', 'c2', 'c3'].map((content) =>
      requestOk(a, 'send_message', { conversationId: direct, content }),
    );
    const twice = [1, 2].map(() =>
      requestOk(a, 'send_message', {
        conversationId: direct,
        content: 'twice',
        clientMessageId: 'concurrent-1',
      }),
    );
    const acks = await Promise.all(sends);
    assert.deepEqual(
      acks.map((ack) => ack.message.content),
      ['c1', 'c2', 'c3'],
    );
    assert.equal(new Set(acks.map((ack) => ack.message.id)).size, 3);
    const [first, second] = await Promise.all(twice);
    assert.deepEqual(second?.message, first?.message);
    await request(a, 'send_message', { conversationId: direct, content: 'fence 2' });
    await eventually(() => seen.some((p) => p.message.content === 'fence 2'), 5000, 'fence');
    for (const content of ['c1', 'c2', 'c3', 'twice'])
      assert.equal(seen.filter((p) => p.message.content === content).length, 1, content);
  });

  test('bad payloads and outsiders get an error ack; nothing is stored or emitted; the socket stays', async () => {
    const outsider = await registerUser(app.url);
    const o = await connectSocket(app.url, outsider.accessToken);
    const b = await connectSocket(app.url, bob.accessToken);
    const seen = record(b, 'message_received');
    const cases: [ClientEvent, unknown, string][] = [
      ['send_message', { conversationId: direct, content: '' }, 'validation_failed'],
      ['send_message', { conversationId: direct, content: '   ' }, 'validation_failed'],
      ['send_message', { conversationId: direct, content: 'x'.repeat(4001) }, 'validation_failed'],
      ['send_message', { conversationId: { $gt: '' }, content: 'x' }, 'validation_failed'],
      ['send_message', 'not an object', 'validation_failed'],
      ['send_message', { conversationId: direct, content: 'intruder' }, 'not_found'],
      ['join_room', { conversationId: direct }, 'not_found'],
      ['typing', { conversationId: direct, isTyping: true }, 'not_found'],
      [
        'message_read',
        { conversationId: direct, messageId: '0123456789abcdef01234567' },
        'not_found',
      ],
      ['send_message', { conversationId: '0123456789abcdef01234567', content: 'x' }, 'not_found'],
    ];
    for (const [event, payload, code] of cases) {
      const ack = await requestOffContract(o, event, payload);
      assert.equal(ack.ok, false, `${event} ${JSON.stringify(payload).slice(0, 60)}`);
      if (!ack.ok) assert.equal(ack.error.code, code);
    }
    assert.equal(o.connected, true);
    const a = await connectSocket(app.url, alice.accessToken);
    await request(a, 'send_message', { conversationId: direct, content: 'fence' });
    await eventually(() => seen.length > 0, 5000, 'fence');
    assert.deepEqual(
      seen.map((p) => p.message.content),
      ['fence'],
    );
  });

  test('typing reaches the other members only', async () => {
    const a = await connectSocket(app.url, alice.accessToken);
    const a2 = await connectSocket(app.url, alice.accessToken);
    const b = await connectSocket(app.url, bob.accessToken);
    const c = await connectSocket(app.url, carol.accessToken);
    const selfSeen = record(a2, 'typing');
    const carolDirect = record(c, 'typing');
    const atBob = nextEvent(b, 'typing', (p) => p.conversationId === direct);
    assert.equal((await request(a, 'typing', { conversationId: direct, isTyping: true })).ok, true);
    assert.deepEqual(await atBob, {
      conversationId: direct,
      userId: alice.user.id,
      isTyping: true,
    });
    const atCarol = nextEvent(c, 'typing', (p) => p.conversationId === group);
    await request(a, 'typing', { conversationId: group, isTyping: false });
    assert.deepEqual(await atCarol, {
      conversationId: group,
      userId: alice.user.id,
      isTyping: false,
    });
    assert.equal(
      carolDirect.filter((p) => p.conversationId === direct).length,
      0,
      'carol is not in the direct conversation',
    );
    assert.equal(selfSeen.length, 0, "the typist's own tabs are not told");
  });

  test('message_read is relayed to members and moves the unread count', async () => {
    const a = await connectSocket(app.url, alice.accessToken);
    const b = await connectSocket(app.url, bob.accessToken);
    const ack = await requestOk(b, 'send_message', { conversationId: direct, content: 'read me' });
    const messageId = ack.message.id;
    const receipt = nextEvent(b, 'message_read', (p) => p.messageId === messageId);
    assert.equal(
      (await request(a, 'message_read', { conversationId: direct, messageId })).ok,
      true,
    );
    const event = await receipt;
    assert.equal(event.userId, alice.user.id);
    assert.ok(!Number.isNaN(Date.parse(event.readAt)));
    const conv = await http<{ conversation: { unreadCount: number } }>(
      app.url,
      'GET',
      `/api/conversations/${direct}`,
      { token: alice.accessToken },
    );
    assert.equal(conv.body.conversation.unreadCount, 0);
  });

  test('REST sends fan out like socket sends', async () => {
    const c = await connectSocket(app.url, carol.accessToken);
    const incoming = nextEvent(c, 'message_received', (p) => p.message.content === 'via rest');
    const res = await http(app.url, 'POST', `/api/conversations/${group}/messages`, {
      token: bob.accessToken,
      body: { content: 'via rest' },
    });
    assert.equal(res.status, 201);
    assert.equal((await incoming).message.senderId, bob.user.id);
  });

  test("logout disconnects that session's sockets, and its token can no longer connect", async () => {
    const frank = await registerUser(app.url);
    const other = await http<{ accessToken: string }>(app.url, 'POST', '/api/auth/login', {
      body: { login: frank.user.username, password: frank.password },
    });
    const s1 = await connectSocket(app.url, frank.accessToken);
    const s2 = await connectSocket(app.url, other.body.accessToken);
    const closed = new Promise<string>((resolve) =>
      s1.once('disconnect', (reason) => resolve(reason)),
    );
    assert.equal(
      (await http(app.url, 'POST', '/api/auth/logout', { token: frank.accessToken })).status,
      204,
    );
    assert.equal(await closed, 'io server disconnect');
    assert.equal(s2.connected, true, 'another session stays connected');
    assert.equal(await connectError(app.url, frank.accessToken), 'unauthorized');
  });

  test('a browser Origin outside the allow-list cannot open a socket', async () => {
    const attempt = (origin: string) =>
      new Promise<string | null>((resolve) => {
        const socket = io(app.url, {
          auth: { token: alice.accessToken },
          transports: ['websocket'],
          reconnection: false,
          forceNew: true,
          extraHeaders: { origin },
        });
        socket.once('connect', () => {
          socket.disconnect();
          resolve(null);
        });
        socket.once('connect_error', (error) => {
          socket.disconnect();
          resolve(error.message);
        });
      });
    assert.notEqual(await attempt('https://evil.test'), null);
    assert.equal(await attempt('http://localhost:3000'), null);
  });

  test('after a reconnect, sync (deduped by id) returns exactly the messages missed', async () => {
    const b = await connectSocket(app.url, bob.accessToken);
    const seen = record(b, 'message_received');
    const a = await connectSocket(app.url, alice.accessToken);
    const before = await requestOk(a, 'send_message', {
      conversationId: direct,
      content: 'before the gap',
    });
    await eventually(() => seen.length === 1, 5000, 'first message');
    const lastSeen = seen[0]?.message.id ?? '';
    // Bob's local store: everything in his conversations so far, as a real client would keep.
    const knownBeforeGap: string[] = [];
    for (const id of [direct, group]) {
      const page = await http<{ items: { id: string }[] }>(
        app.url,
        'GET',
        `/api/conversations/${id}/messages?limit=100`,
        { token: bob.accessToken },
      );
      knownBeforeGap.push(...page.body.items.map((m) => m.id));
    }
    assert.equal(lastSeen, before.message.id);
    b.disconnect();
    const missed: string[] = [];
    for (const content of ['gap 1', 'gap 2']) {
      missed.push(
        (await requestOk(a, 'send_message', { conversationId: direct, content })).message.id,
      );
    }
    const viaRest = await http<{ message: { id: string } }>(
      app.url,
      'POST',
      `/api/conversations/${group}/messages`,
      {
        token: carol.accessToken,
        body: { content: 'gap 3' },
      },
    );
    missed.push(viaRest.body.message.id);
    const back = await connectSocket(app.url, bob.accessToken);
    const live = record(back, 'message_received');
    const sync = await http<{ items: { id: string }[]; nextCursor: string | null }>(
      app.url,
      'GET',
      `/api/sync?since=${lastSeen}`,
      {
        token: bob.accessToken,
      },
    );
    // Deduped by what bob already had, the catch-up is exactly what he missed.
    const had = new Set(seen.map((p) => p.message.id));
    for (const id of knownBeforeGap) had.add(id);
    assert.deepEqual(
      sync.body.items.map((m) => m.id).filter((id) => !had.has(id)),
      missed,
    );
    assert.equal(sync.body.nextCursor, null);
    const after = await requestOk(a, 'send_message', {
      conversationId: direct,
      content: 'after the gap',
    });
    await eventually(() => live.length === 1, 5000, 'live again');
    assert.equal(live[0]?.message.id, after.message.id);
  });

  test('a flood of events from one user is limited without affecting others', async () => {
    const flooder = await registerUser(app.url);
    const conv = await open(flooder, carol);
    const fs: ClientSocket = await connectSocket(app.url, flooder.accessToken);
    const acks = await Promise.all(
      Array.from({ length: 60 }, () =>
        request(fs, 'typing', { conversationId: conv, isTyping: true }),
      ),
    );
    const limited = acks.filter((a) => !a.ok && a.error.code === 'rate_limited').length;
    assert.ok(limited >= 10, `expected some of 60 events to be limited, got ${limited}`);
    assert.equal(fs.connected, true);
    const c = await connectSocket(app.url, carol.accessToken);
    assert.equal((await request(c, 'typing', { conversationId: conv, isTyping: true })).ok, true);
  });
});
