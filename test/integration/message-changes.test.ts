import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { MessageView } from '../../src/contracts/messages.js';
import { isolatedEnv, startTestApp, type TestApp } from '../support/app.js';
import { directConversation, http, registerUser, type Registered } from '../support/http.js';
import {
  history,
  messagePath,
  reactionPath,
  seenAs,
  sendText,
  callAs,
  errorCode,
  startWithCast,
} from '../support/messaging.js';
import { connectSocket, eventually, record, type ClientSocket } from '../support/sockets.js';

interface ConversationBody {
  conversation: { id: string; unreadCount: number; lastMessage?: { id: string; preview: string } };
}

describe('edit, delete and reactions (SPEC §9)', () => {
  let app: TestApp;
  let alice: Registered;
  let bob: Registered;
  let carol: Registered;
  let dave: Registered;
  let direct: string;
  let group: string;
  const sockets = new Map<Registered, ClientSocket>();

  const call = (who: Registered, method: string, path: string, body?: unknown) =>
    callAs(app.url, who, method, path, body);
  const code = errorCode;

  /** Records `event` on every user's socket. */
  const watch = <E extends 'message_updated' | 'message_deleted' | 'reaction_updated'>(event: E) =>
    new Map([...sockets].map(([user, socket]) => [user, record(socket, event)]));

  /**
   * Events reach each socket in order: once everyone has this message, every event emitted
   * before it has arrived, so a count taken afterwards is final. Dave is fenced in a direct
   * conversation with alice.
   */
  const fence = async () => {
    const seen = new Map(
      [...sockets].map(([user, socket]) => [user, record(socket, 'message_received')]),
    );
    const inGroup = await sendText(app.url, alice, group, 'fence');
    const toDave = await sendText(
      app.url,
      alice,
      await directConversation(app.url, alice, dave),
      'fence',
    );
    await eventually(
      () =>
        [...seen].every(([user, got]) =>
          got.some((p) => p.message.id === (user === dave ? toDave.id : inGroup.id)),
        ),
      5000,
      'the fence message on every socket',
    );
  };

  before(async () => {
    ({ app, alice, bob, carol, dave, direct, group } = await startWithCast());
    for (const user of [alice, bob, carol, dave]) {
      sockets.set(user, await connectSocket(app.url, user.accessToken));
    }
  });

  test('the sender edits: 200 with editedAt, message_updated once to each member, nobody else', async () => {
    const sent = await sendText(app.url, alice, group, 'first draft');
    const updates = watch('message_updated');
    const res = await call(alice, 'PATCH', messagePath(group, sent.id), { content: '  final  ' });
    assert.equal(res.status, 200);
    const edited = res.body.message as MessageView;
    assert.equal(edited.content, 'final');
    assert.ok(edited.editedAt && Date.parse(edited.editedAt) >= Date.parse(sent.createdAt));
    await fence();
    for (const user of [alice, bob, carol]) {
      assert.deepEqual(
        updates.get(user)?.map((p) => [p.message.id, p.message.content]),
        [[sent.id, 'final']],
      );
    }
    assert.deepEqual(updates.get(dave), [], 'not a member: nothing');
    assert.equal((await seenAs(app.url, carol, group, sent.id))?.content, 'final');
  });

  test('edits that must fail change nothing: not the sender, empty, 5,000 characters, not a member', async () => {
    const sent = await sendText(app.url, alice, group, 'original');
    const updates = watch('message_updated');
    const refused = [
      [bob, { content: 'bob was here' }, 403, 'forbidden'],
      [alice, { content: '   ' }, 400, 'validation_failed'],
      [alice, { content: 'x'.repeat(5000) }, 400, 'validation_failed'],
      [alice, { content: 'ok', extra: true }, 400, 'validation_failed'],
      [alice, { content: { $gt: '' } }, 400, 'validation_failed'],
      [dave, { content: 'outsider' }, 404, 'not_found'],
    ] as const;
    for (const [who, body, status, errorCode] of refused) {
      const res = await call(who, 'PATCH', messagePath(group, sent.id), body);
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(code(res), errorCode);
    }
    const missing = await call(alice, 'PATCH', messagePath(group, '0'.repeat(24)), {
      content: 'x',
    });
    assert.equal(missing.status, 404);
    const wrongConversation = await call(alice, 'PATCH', messagePath(direct, sent.id), {
      content: 'x',
    });
    assert.equal(wrongConversation.status, 404, 'the message is not in that conversation');
    const stored = await seenAs(app.url, alice, group, sent.id);
    assert.equal(stored?.content, 'original');
    assert.equal(stored?.editedAt, undefined);
    await fence();
    assert.ok(
      [...updates.values()].every((got) => got.length === 0),
      'no message_updated',
    );
  });

  test('delete leaves a tombstone in its slot; events once; edit then answers 409', async () => {
    const before = await sendText(app.url, bob, direct, 'before');
    const doomed = await sendText(app.url, bob, direct, 'secret');
    await call(bob, 'PUT', reactionPath(direct, doomed.id, '👍'));
    const deletions = watch('message_deleted');
    assert.equal((await call(bob, 'DELETE', messagePath(direct, doomed.id))).status, 204);
    assert.equal((await call(bob, 'DELETE', messagePath(direct, doomed.id))).status, 204, 'again');
    await fence();
    for (const user of [alice, bob]) {
      assert.deepEqual(deletions.get(user), [{ conversationId: direct, messageId: doomed.id }]);
    }
    assert.deepEqual(deletions.get(carol), []);
    assert.deepEqual(deletions.get(dave), []);

    const page = (await history(app.url, alice, direct)).body.items;
    const tombstone = page.find((m) => m.id === doomed.id);
    assert.equal(tombstone?.content, '');
    assert.ok(tombstone?.deletedAt);
    assert.deepEqual(tombstone?.reactions, []);
    assert.ok(!JSON.stringify(page).includes('secret'), 'the content is gone everywhere');
    assert.ok(
      page.some((m) => m.id === before.id),
      'its neighbours stay',
    );

    const edit = await call(bob, 'PATCH', messagePath(direct, doomed.id), { content: 'back' });
    assert.equal(edit.status, 409);
    assert.equal(code(edit), 'conflict');
    const react = await call(alice, 'PUT', reactionPath(direct, doomed.id, '🎉'));
    assert.equal(react.status, 409);
    assert.deepEqual((await seenAs(app.url, alice, direct, doomed.id))?.reactions, []);
  });

  test('who may delete: the sender; in groups also the owner and admins; never another member', async () => {
    const bobs = await sendText(app.url, bob, group, 'bob in the group');
    const denied = await call(carol, 'DELETE', messagePath(group, bobs.id));
    assert.equal(denied.status, 403);
    assert.equal((await seenAs(app.url, carol, group, bobs.id))?.content, 'bob in the group');
    assert.equal((await call(dave, 'DELETE', messagePath(group, bobs.id))).status, 404);
    assert.equal((await call(alice, 'DELETE', messagePath(group, bobs.id))).status, 204, 'owner');
    assert.ok((await seenAs(app.url, carol, group, bobs.id))?.deletedAt);

    const alices = await sendText(app.url, alice, direct, 'alice to bob');
    assert.equal((await call(bob, 'DELETE', messagePath(direct, alices.id))).status, 403);
    assert.equal((await seenAs(app.url, bob, direct, alices.id))?.deletedAt, undefined);
  });

  test('the conversation preview follows an edit and a delete of its last message', async () => {
    const last = await sendText(app.url, alice, direct, 'preview me');
    await call(alice, 'PATCH', messagePath(direct, last.id), { content: 'edited preview' });
    const preview = async () =>
      (await call(bob, 'GET', `/api/conversations/${direct}`)).body as unknown as ConversationBody;
    assert.equal((await preview()).conversation.lastMessage?.preview, 'edited preview');
    await call(alice, 'DELETE', messagePath(direct, last.id));
    const after = await preview();
    assert.equal(after.conversation.lastMessage?.id, last.id);
    assert.equal(after.conversation.lastMessage?.preview, '');
  });

  test('reactions: idempotent PUT and DELETE, counts with `me`, one event per real change', async () => {
    const sent = await sendText(app.url, alice, group, 'react to me');
    const events = watch('reaction_updated');
    const thumbs = reactionPath(group, sent.id, '👍');
    assert.equal((await call(bob, 'PUT', thumbs)).status, 204);
    assert.equal((await call(bob, 'PUT', thumbs)).status, 204, 'again: no-op');
    assert.equal((await call(carol, 'PUT', thumbs)).status, 204);
    assert.equal((await call(carol, 'PUT', reactionPath(group, sent.id, '❤'))).status, 204);
    assert.equal(
      (await call(carol, 'PUT', reactionPath(group, sent.id, '❤️'))).status,
      204,
      'same',
    );

    assert.deepEqual((await seenAs(app.url, bob, group, sent.id))?.reactions, [
      { emoji: '👍', count: 2, me: true },
      { emoji: '❤️', count: 1, me: false },
    ]);
    assert.deepEqual((await seenAs(app.url, alice, group, sent.id))?.reactions, [
      { emoji: '👍', count: 2, me: false },
      { emoji: '❤️', count: 1, me: false },
    ]);

    assert.equal((await call(bob, 'DELETE', thumbs)).status, 204);
    assert.equal((await call(bob, 'DELETE', thumbs)).status, 204, 'again: no-op');
    assert.equal((await call(alice, 'DELETE', thumbs)).status, 204, 'never reacted: no-op');
    assert.equal((await call(carol, 'DELETE', reactionPath(group, sent.id, '❤️'))).status, 204);
    assert.deepEqual((await seenAs(app.url, carol, group, sent.id))?.reactions, [
      { emoji: '👍', count: 1, me: true },
    ]);

    await fence();
    const expected = [
      { conversationId: group, messageId: sent.id, emoji: '👍', userId: bob.user.id, added: true },
      {
        conversationId: group,
        messageId: sent.id,
        emoji: '👍',
        userId: carol.user.id,
        added: true,
      },
      {
        conversationId: group,
        messageId: sent.id,
        emoji: '❤️',
        userId: carol.user.id,
        added: true,
      },
      { conversationId: group, messageId: sent.id, emoji: '👍', userId: bob.user.id, added: false },
      {
        conversationId: group,
        messageId: sent.id,
        emoji: '❤️',
        userId: carol.user.id,
        added: false,
      },
    ];
    for (const user of [alice, bob, carol]) assert.deepEqual(events.get(user), expected);
    assert.deepEqual(events.get(dave), []);
    assert.equal((await call(dave, 'PUT', thumbs)).status, 404, 'outsiders cannot react');
  });

  test('message_updated carries each recipient their own `me`', async () => {
    const sent = await sendText(app.url, alice, group, 'me per socket');
    await call(bob, 'PUT', reactionPath(group, sent.id, '🔥'));
    const updates = watch('message_updated');
    await call(alice, 'PATCH', messagePath(group, sent.id), { content: 'edited' });
    await fence();
    const mine = (user: Registered) => updates.get(user)?.[0]?.message.reactions;
    assert.deepEqual(mine(bob), [{ emoji: '🔥', count: 1, me: true }]);
    assert.deepEqual(mine(alice), [{ emoji: '🔥', count: 1, me: false }]);
    assert.deepEqual(mine(carol), [{ emoji: '🔥', count: 1, me: false }]);
  });

  test('an emoji segment must be exactly one emoji; refused ones change nothing', async () => {
    const sent = await sendText(app.url, alice, group, 'no junk');
    for (const junk of ['x'.repeat(40), 'ab', '👍👍', '1', ':+1:', '👍 ', '%F0%9F']) {
      const res = await call(bob, 'PUT', reactionPath(group, sent.id, junk));
      assert.equal(res.status, 400, junk);
      assert.equal(code(res), 'validation_failed');
    }
    const raw = await call(bob, 'PUT', `${messagePath(group, sent.id)}/reactions/%F0%9F`);
    assert.equal(raw.status, 400, 'a broken UTF-8 escape');
    for (const emoji of ['👨‍👩‍👧‍👦', '🇹🇷', '#️⃣', '👍🏽']) {
      assert.equal(
        (await call(bob, 'PUT', reactionPath(group, sent.id, emoji))).status,
        204,
        emoji,
      );
    }
    assert.deepEqual(
      (await seenAs(app.url, bob, group, sent.id))?.reactions.map((r) => r.emoji),
      ['👨‍👩‍👧‍👦', '🇹🇷', '#️⃣', '👍🏽'],
    );
  });

  test('at most 20 distinct emoji per message; existing ones still take more reactions', async () => {
    const sent = await sendText(app.url, alice, group, 'popular');
    const emoji = [...'😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗😙😚🙂🤗'];
    assert.equal(emoji.length, 20);
    for (const e of emoji) {
      assert.equal((await call(bob, 'PUT', reactionPath(group, sent.id, e))).status, 204, e);
    }
    const over = await call(bob, 'PUT', reactionPath(group, sent.id, '🤔'));
    assert.equal(over.status, 409);
    assert.equal(code(over), 'conflict');
    assert.equal((await call(carol, 'PUT', reactionPath(group, sent.id, '😀'))).status, 204);
    const reactions = (await seenAs(app.url, carol, group, sent.id))?.reactions ?? [];
    assert.equal(reactions.length, 20);
    assert.deepEqual(reactions[0], { emoji: '😀', count: 2, me: true });
    assert.ok(!reactions.some((r) => r.emoji === '🤔'));
    // Freeing a slot makes room again.
    assert.equal((await call(bob, 'DELETE', reactionPath(group, sent.id, '🤗'))).status, 204);
    assert.equal((await call(bob, 'PUT', reactionPath(group, sent.id, '🤔'))).status, 204);
  });

  test('unread counts skip deleted messages; a read pointer on a deleted message still counts', async () => {
    const [a, b, c] = [
      await sendText(app.url, bob, direct, 'u1'),
      await sendText(app.url, bob, direct, 'u2'),
      await sendText(app.url, bob, direct, 'u3'),
    ];
    assert.equal(
      (await call(alice, 'POST', `/api/conversations/${direct}/read`, { messageId: a.id })).status,
      204,
    );
    const unread = async () =>
      (
        (await call(alice, 'GET', `/api/conversations/${direct}`))
          .body as unknown as ConversationBody
      ).conversation.unreadCount;
    assert.equal(await unread(), 2);
    await call(bob, 'DELETE', messagePath(direct, b.id));
    assert.equal(await unread(), 1);
    await call(bob, 'DELETE', messagePath(direct, a.id));
    assert.equal(await unread(), 1, 'the pointer sits on a tombstone and still works');
    const read = await call(alice, 'POST', `/api/conversations/${direct}/read`, {
      messageId: b.id,
    });
    assert.equal(read.status, 204, 'a deleted message can be marked read');
    assert.equal(await unread(), 1);
    await call(alice, 'POST', `/api/conversations/${direct}/read`, { messageId: c.id });
    assert.equal(await unread(), 0);
  });
});

describe('edits, deletes and reactions count against the message rate limit', () => {
  test('like sends, per user', async () => {
    const app = await startTestApp(await isolatedEnv({ RATE_LIMIT_MESSAGES_PER_MINUTE: '4' }));
    const [alice, bob] = [await registerUser(app.url), await registerUser(app.url)];
    const direct = await directConversation(app.url, alice, bob);
    const sent = await sendText(app.url, alice, direct, 'one'); // 1
    const call = (method: string, path: string, body?: unknown) =>
      http(app.url, method, path, { token: alice.accessToken, ...(body ? { body } : {}) });
    assert.equal(
      (await call('PATCH', messagePath(direct, sent.id), { content: 'two' })).status,
      200,
    );
    assert.equal((await call('PUT', reactionPath(direct, sent.id, '👍'))).status, 204);
    assert.equal((await call('DELETE', reactionPath(direct, sent.id, '👍'))).status, 204);
    const limited = await call('DELETE', messagePath(direct, sent.id));
    assert.equal(limited.status, 429);
    assert.equal((await seenAs(app.url, alice, direct, sent.id))?.deletedAt, undefined);
    const other = await http(app.url, 'PUT', reactionPath(direct, sent.id, '👍'), {
      token: bob.accessToken,
    });
    assert.equal(other.status, 204, "another user's budget is their own");
  });
});
