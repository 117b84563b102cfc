import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { http, registerUser, type HttpResult, type Registered } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/app.js';

interface ConversationBody {
  conversation: {
    id: string;
    type: string;
    participants: { id: string }[];
    name?: string;
    unreadCount: number;
  };
}
interface MessageBody {
  message: { id: string; content: string; senderId: string; clientMessageId?: string };
}
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

describe('conversations and messages over REST', () => {
  let app: TestApp;
  let alice: Registered;
  let bob: Registered;
  let carol: Registered;
  let direct: string;

  const post = <T>(who: Registered, path: string, body: unknown) =>
    http<T>(app.url, 'POST', path, { token: who.accessToken, body });
  const get = <T>(who: Registered, path: string) =>
    http<T>(app.url, 'GET', path, { token: who.accessToken });

  before(async () => {
    app = await startTestApp();
    [alice, bob, carol] = [
      await registerUser(app.url),
      await registerUser(app.url),
      await registerUser(app.url),
    ];
    const res = await post<ConversationBody>(alice, '/api/conversations', {
      participantId: bob.user.id,
    });
    assert.equal(res.status, 201);
    direct = res.body.conversation.id;
  });

  test('a pair has exactly one direct conversation, from either side (200 when it exists)', async () => {
    const again = await post<ConversationBody>(alice, '/api/conversations', {
      participantId: bob.user.id,
    });
    const reverse = await post<ConversationBody>(bob, '/api/conversations', {
      participantId: alice.user.id,
    });
    assert.equal(again.status, 200);
    assert.equal(reverse.status, 200);
    assert.equal(again.body.conversation.id, direct);
    assert.equal(reverse.body.conversation.id, direct);
    const concurrent = await Promise.all(
      [alice, carol].map((who) =>
        post<ConversationBody>(who, '/api/conversations', {
          participantId: who === alice ? carol.user.id : alice.user.id,
        }),
      ),
    );
    const [first, second] = concurrent.map((r) => r.body.conversation.id);
    assert.equal(first, second);
    assert.deepEqual(concurrent.map((r) => r.status).sort(), [200, 201]);
  });

  test('groups need a name and 3–100 participants that exist', async () => {
    const ok = await post<ConversationBody>(alice, '/api/conversations', {
      participantIds: [bob.user.id, carol.user.id],
      name: 'trio',
    });
    assert.equal(ok.status, 201);
    assert.equal(ok.body.conversation.type, 'group');
    assert.equal(ok.body.conversation.participants.length, 3);
    const tooSmall = await post(alice, '/api/conversations', {
      participantIds: [bob.user.id, bob.user.id],
      name: 'duo',
    });
    assert.equal(tooSmall.status, 400);
    const unknown = await post(alice, '/api/conversations', {
      participantIds: [bob.user.id, '0123456789abcdef01234567'],
      name: 'x',
    });
    assert.equal(unknown.status, 400);
    const self = await post(alice, '/api/conversations', { participantId: alice.user.id });
    assert.equal(self.status, 400);
  });

  test('messages: bad content is refused and nothing is stored', async () => {
    for (const content of ['', '   ', 'x'.repeat(4001), 42, { $gt: '' }, ['a']]) {
      const res = await post(alice, `/api/conversations/${direct}/messages`, { content });
      assert.equal(res.status, 400, JSON.stringify(content));
    }
    const extra = await post(alice, `/api/conversations/${direct}/messages`, {
      content: 'hi',
      senderId: bob.user.id,
    });
    assert.equal(extra.status, 400);
    const history = await get<Page<unknown>>(alice, `/api/conversations/${direct}/messages`);
    assert.equal(history.body.items.length, 0);
  });

  test('a retried send with the same clientMessageId returns the original', async () => {
    const first = await post<MessageBody>(alice, `/api/conversations/${direct}/messages`, {
      content: ' hello ',
      clientMessageId: 'c-1',
    });
    assert.equal(first.status, 201);
    assert.equal(first.body.message.content, 'hello');
    const retry = await post<MessageBody>(alice, `/api/conversations/${direct}/messages`, {
      content: 'hello',
      clientMessageId: 'c-1',
    });
    assert.equal(retry.status, 200);
    assert.equal(retry.body.message.id, first.body.message.id);
    const history = await get<Page<MessageBody['message']>>(
      bob,
      `/api/conversations/${direct}/messages`,
    );
    assert.equal(history.body.items.filter((m) => m.clientMessageId === 'c-1').length, 1);
  });

  test('history pages newest-first without gaps or overlaps; after= catches up oldest-first', async () => {
    const group = await post<ConversationBody>(alice, '/api/conversations', {
      participantIds: [bob.user.id, carol.user.id],
      name: 'paging',
    });
    const id = group.body.conversation.id;
    const sent: string[] = [];
    for (let i = 0; i < 23; i += 1) {
      const res = await post<MessageBody>(
        i % 2 ? bob : alice,
        `/api/conversations/${id}/messages`,
        { content: `m${i}` },
      );
      sent.push(res.body.message.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=5&before=${cursor}` : '?limit=5';
      const res = await get<Page<{ id: string }>>(
        carol,
        `/api/conversations/${id}/messages${query}`,
      );
      seen.push(...res.body.items.map((m) => m.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    assert.deepEqual(seen, [...sent].reverse());
    // From a message id, catch-up looks back a few seconds (all 23 were just sent), oldest first,
    // and pages onward exactly through nextCursor: every message once, none missing.
    const caughtUp: string[] = [];
    let next: string | null = sent[19] ?? null;
    do {
      const res: HttpResult<Page<{ id: string }>> = await get<Page<{ id: string }>>(
        carol,
        `/api/conversations/${id}/messages?limit=4&after=${next}`,
      );
      caughtUp.push(...res.body.items.map((m) => m.id));
      next = res.body.nextCursor;
    } while (next);
    assert.deepEqual(caughtUp, sent, 'looked back to the start, each exactly once, in order');
    assert.equal(
      (await get(carol, `/api/conversations/${id}/messages?after=${sent[0]}&before=${sent[5]}`))
        .status,
      400,
    );
  });

  test('unread counts follow the read pointer; the list is newest activity first', async () => {
    const group = await post<ConversationBody>(bob, '/api/conversations', {
      participantIds: [alice.user.id, carol.user.id],
      name: 'unread',
    });
    const id = group.body.conversation.id;
    const ids: string[] = [];
    for (const content of ['one', 'two', 'three']) {
      ids.push(
        (await post<MessageBody>(bob, `/api/conversations/${id}/messages`, { content })).body
          .message.id,
      );
    }
    const before = await get<ConversationBody>(carol, `/api/conversations/${id}`);
    assert.equal(before.body.conversation.unreadCount, 3);
    assert.equal(
      (await get<ConversationBody>(bob, `/api/conversations/${id}`)).body.conversation.unreadCount,
      0,
    );
    assert.equal(
      (await post(carol, `/api/conversations/${id}/read`, { messageId: ids[1] })).status,
      204,
    );
    assert.equal(
      (await get<ConversationBody>(carol, `/api/conversations/${id}`)).body.conversation
        .unreadCount,
      1,
    );
    assert.equal(
      (await post(carol, `/api/conversations/${id}/read`, { messageId: ids[0] })).status,
      204,
      'moving back is a no-op',
    );
    assert.equal(
      (await get<ConversationBody>(carol, `/api/conversations/${id}`)).body.conversation
        .unreadCount,
      1,
    );
    const list = await get<
      Page<{ id: string; lastMessage?: { preview: string }; unreadCount: number }>
    >(carol, '/api/conversations');
    assert.equal(list.body.items[0]?.id, id);
    assert.equal(list.body.items[0]?.lastMessage?.preview, 'three');
    assert.equal(list.body.items[0]?.unreadCount, 1);
  });

  test('conversation list pages by activity without gaps or overlaps', async () => {
    const user = await registerUser(app.url);
    const created: string[] = [];
    for (const other of [alice, bob, carol]) {
      const res = await post<ConversationBody>(user, '/api/conversations', {
        participantId: other.user.id,
      });
      created.push(res.body.conversation.id);
      await post(user, `/api/conversations/${res.body.conversation.id}/messages`, {
        content: 'hi',
      });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
      const res = await get<Page<{ id: string }>>(user, `/api/conversations${query}`);
      seen.push(...res.body.items.map((c) => c.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    assert.deepEqual(seen, [...created].reverse());
  });

  test('outsiders get 404 on every conversation route', async () => {
    const outsider = await registerUser(app.url);
    const message = await post<MessageBody>(alice, `/api/conversations/${direct}/messages`, {
      content: 'secret',
    });
    const attempts = [
      get(outsider, `/api/conversations/${direct}`),
      get(outsider, `/api/conversations/${direct}/messages`),
      post(outsider, `/api/conversations/${direct}/messages`, { content: 'let me in' }),
      post(outsider, `/api/conversations/${direct}/read`, { messageId: message.body.message.id }),
      get(outsider, '/api/conversations/0123456789abcdef01234567'),
      get(outsider, '/api/conversations/not-an-id'),
      get(outsider, '/api/conversations/not-an-id/messages'),
      get(outsider, `/api/conversations/not-an-id/messages?before=${message.body.message.id}`),
    ];
    for (const res of await Promise.all(attempts)) assert.equal(res.status, 404);
    const history = await get<Page<{ content: string }>>(
      alice,
      `/api/conversations/${direct}/messages`,
    );
    assert.equal(
      history.body.items.some((m) => m.content === 'let me in'),
      false,
    );
  });

  test('sync returns what was missed across conversations, oldest first', async () => {
    const mark = await post<MessageBody>(alice, `/api/conversations/${direct}/messages`, {
      content: 'mark',
    });
    const group = await post<ConversationBody>(carol, '/api/conversations', {
      participantIds: [alice.user.id, bob.user.id],
      name: 'sync',
    });
    const a = await post<MessageBody>(bob, `/api/conversations/${direct}/messages`, {
      content: 'a',
    });
    const b = await post<MessageBody>(
      carol,
      `/api/conversations/${group.body.conversation.id}/messages`,
      { content: 'b' },
    );
    const res = await get<Page<{ id: string }>>(alice, `/api/sync?since=${mark.body.message.id}`);
    const ids = res.body.items.map((m) => m.id);
    // The look-back may repeat messages alice already has (she dedupes by id), never skip one.
    const newer = ids.slice(ids.indexOf(mark.body.message.id) + 1);
    assert.deepEqual(newer, [a.body.message.id, b.body.message.id]);
    assert.ok(ids.includes(mark.body.message.id));
    assert.equal(res.body.nextCursor, null);
  });

  test('a message id that starts with "c" is an id, not a continuation cursor (was a 500)', async () => {
    // Hex ids start with "c" one time in sixteen; this one is far in the future: nothing newer.
    const id = 'c0ffee00' + '0'.repeat(16);
    const sync = await get<Page<{ id: string }>>(alice, `/api/sync?since=${id}`);
    assert.equal(sync.status, 200);
    assert.deepEqual(sync.body.items, []);
    const history = await get<Page<{ id: string }>>(
      alice,
      `/api/conversations/${direct}/messages?after=${id}`,
    );
    assert.equal(history.status, 200);
    assert.deepEqual(history.body.items, []);
  });
});
