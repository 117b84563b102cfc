import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { ConversationView } from '../../src/contracts/conversations.js';
import type { MessageView } from '../../src/contracts/messages.js';
import { rooms } from '../../src/contracts/socket.js';
import { isolatedEnv, startTestApp, uniqueId, type TestApp } from '../support/app.js';
import { directConversation, registerUser, type Registered } from '../support/http.js';
import { callAs, createGroup, errorCode, history, sendText } from '../support/messaging.js';
import {
  connectSocket,
  eventually,
  nextEvent,
  record,
  request,
  type ClientSocket,
} from '../support/sockets.js';

interface ConversationBody {
  conversation: ConversationView;
}

describe('groups that change (SPEC §9)', () => {
  let app: TestApp;
  const sockets = new Map<string, ClientSocket>();

  const call = (who: Registered, method: string, path: string, body?: unknown) =>
    callAs(app.url, who, method, path, body);
  const code = errorCode;
  const conversationAs = async (who: Registered, id: string) =>
    (await call(who, 'GET', `/api/conversations/${id}`)) as unknown as {
      status: number;
      body: ConversationBody;
    };
  const roles = async (who: Registered, id: string) =>
    Object.fromEntries(
      (await conversationAs(who, id)).body.conversation.participants.map((p) => [p.id, p.role]),
    );
  const systemMessages = async (who: Registered, id: string) =>
    (await history(app.url, who, id)).body.items
      .filter((m) => m.type === 'system')
      .map((m) => m.system);
  const users = async (n: number) => {
    const made: Registered[] = [];
    for (let i = 0; i < n; i += 1) {
      const user = await registerUser(app.url);
      sockets.set(user.user.id, await connectSocket(app.url, user.accessToken));
      made.push(user);
    }
    return made as [Registered, Registered, Registered, Registered, Registered];
  };
  const socketOf = (user: Registered) => sockets.get(user.user.id) as ClientSocket;

  /** Waits until a message sent to `group` now has reached `members` (events before it have too). */
  const fence = async (sender: Registered, group: string, members: Registered[]) => {
    const seen = members.map((m) => record(socketOf(m), 'message_received'));
    const { id } = await sendText(app.url, sender, group, 'fence');
    await eventually(
      () => seen.every((got) => got.some((p) => p.message.id === id)),
      5000,
      'the fence',
    );
  };

  before(async () => {
    app = await startTestApp(await isolatedEnv({ RATE_LIMIT_MESSAGES_PER_MINUTE: '100000' }));
  });

  test('the owner adds members: system message, conversation_updated once to each old and new member', async () => {
    const [alice, bob, carol, dave, eve] = await users(5);
    const group = await createGroup(app.url, alice, [bob, carol], 'team');
    await sendText(app.url, bob, group, 'before dave');
    const updates = [alice, bob, carol, dave, eve].map((u) =>
      record(socketOf(u), 'conversation_updated'),
    );
    const res = await call(alice, 'POST', `/api/conversations/${group}/members`, {
      userIds: [dave.user.id, bob.user.id],
    });
    assert.equal(res.status, 200);
    const view = (res.body as unknown as ConversationBody).conversation;
    assert.deepEqual(
      view.participants.map((p) => [p.id, p.role]),
      [
        [alice.user.id, 'owner'],
        [bob.user.id, 'member'],
        [carol.user.id, 'member'],
        [dave.user.id, 'member'],
      ],
    );
    await fence(alice, group, [alice, bob, carol, dave]);
    for (const got of updates.slice(0, 4)) {
      assert.equal(got.length, 1);
      assert.equal(got[0]?.conversation.participants.length, 4);
    }
    assert.deepEqual(updates[4], [], 'eve is not involved');
    assert.deepEqual(await systemMessages(dave, group), [
      { action: 'members_added', userIds: [dave.user.id] },
    ]);
    const [notice] = (await history(app.url, dave, group)).body.items.filter(
      (m) => m.type === 'system',
    );
    assert.match(notice?.content ?? '', /added/);
    const unread = async () => (await conversationAs(dave, group)).body.conversation.unreadCount;
    assert.equal(await unread(), 1, 'only the fence: history from before joining is not unread');
    await sendText(app.url, bob, group, 'welcome');
    assert.equal(await unread(), 2);

    const again = await call(alice, 'POST', `/api/conversations/${group}/members`, {
      userIds: [dave.user.id],
    });
    assert.equal(again.status, 200, 'already members: nothing to do');
    assert.equal((await systemMessages(alice, group)).length, 1, 'and no second notice');
  });

  test('who may add: not a plain member; bad input is refused and changes nothing', async () => {
    const [alice, bob, carol, dave] = await users(4);
    const group = await createGroup(app.url, alice, [bob, carol]);
    const direct = await directConversation(app.url, alice, bob);
    const add = (who: Registered, id: string, body: unknown) =>
      call(who, 'POST', `/api/conversations/${id}/members`, body);
    const refusals: [Promise<{ status: number; body: Record<string, unknown> }>, number, string][] =
      [
        [add(carol, group, { userIds: [dave.user.id] }), 403, 'forbidden'],
        [add(dave, group, { userIds: [dave.user.id] }), 404, 'not_found'],
        [add(alice, group, { userIds: ['0'.repeat(24)] }), 400, 'validation_failed'],
        [add(alice, group, { userIds: [] }), 400, 'validation_failed'],
        [add(alice, group, { userIds: dave.user.id }), 400, 'validation_failed'],
        [add(alice, group, { userIds: [{ $gt: '' }] }), 400, 'validation_failed'],
        [add(alice, group, { userIds: [dave.user.id], role: 'owner' }), 400, 'validation_failed'],
        [add(alice, direct, { userIds: [dave.user.id] }), 400, 'validation_failed'],
      ];
    for (const [pending, status, errorCode] of refusals) {
      const res = await pending;
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.equal(code(res), errorCode);
    }
    assert.equal(Object.keys(await roles(alice, group)).length, 3);
    assert.equal((await conversationAs(alice, direct)).body.conversation.participants.length, 2);
    assert.deepEqual(await systemMessages(alice, group), []);
  });

  test('at most 100 members', async () => {
    const [alice, bob, carol] = await users(3);
    const group = await createGroup(app.url, alice, [bob, carol]);
    const many: string[] = [];
    // Stored directly: 98 registrations would spend seconds hashing passwords nobody uses.
    for (let i = 0; i < 98; i += 1) {
      const name = `cap_${uniqueId()}`;
      const user = await app.services.repos.users.create({
        username: name,
        email: `${name}@example.test`,
        passwordHash: 'unused',
        displayName: name,
        role: 'user',
      });
      many.push(user.id);
    }
    const full = await call(alice, 'POST', `/api/conversations/${group}/members`, {
      userIds: many.slice(0, 97),
    });
    assert.equal(full.status, 200);
    assert.equal((full.body as unknown as ConversationBody).conversation.participants.length, 100);
    const over = await call(alice, 'POST', `/api/conversations/${group}/members`, {
      userIds: [many[97]],
    });
    assert.equal(over.status, 400);
    assert.equal(Object.keys(await roles(alice, group)).length, 100);
  });

  test('roles: the owner promotes and demotes; admins manage members but not roles, admins or the owner', async () => {
    const [alice, bob, carol, dave, eve] = await users(5);
    const group = await createGroup(app.url, alice, [bob, carol, dave]);
    const member = (id: string) => `/api/conversations/${group}/members/${id}`;
    assert.equal((await call(alice, 'PATCH', member(bob.user.id), { role: 'admin' })).status, 200);
    assert.equal((await roles(carol, group))[bob.user.id], 'admin');
    assert.equal((await call(bob, 'PATCH', member(carol.user.id), { role: 'admin' })).status, 403);
    assert.equal((await call(carol, 'PATCH', member(dave.user.id), { role: 'admin' })).status, 403);
    assert.equal(
      (await call(alice, 'PATCH', member(alice.user.id), { role: 'member' })).status,
      400,
    );
    assert.equal(
      (await call(alice, 'PATCH', member(carol.user.id), { role: 'owner' })).status,
      400,
    );
    assert.equal((await call(alice, 'PATCH', member(eve.user.id), { role: 'admin' })).status, 404);

    assert.equal(
      (await call(bob, 'POST', `/api/conversations/${group}/members`, { userIds: [eve.user.id] }))
        .status,
      200,
    );
    assert.equal(
      (await call(bob, 'DELETE', member(alice.user.id))).status,
      403,
      'nobody removes the owner',
    );
    assert.equal(
      (await call(alice, 'PATCH', member(carol.user.id), { role: 'admin' })).status,
      200,
    );
    assert.equal(
      (await call(bob, 'DELETE', member(carol.user.id))).status,
      403,
      'an admin cannot remove an admin',
    );
    assert.equal(
      (await call(dave, 'DELETE', member(eve.user.id))).status,
      403,
      'a member cannot remove anyone',
    );
    assert.equal(
      (await call(bob, 'DELETE', member(eve.user.id))).status,
      204,
      'an admin removes a member',
    );
    assert.equal(
      (await call(alice, 'DELETE', member(carol.user.id))).status,
      204,
      'the owner removes an admin',
    );
    assert.equal(
      (await call(alice, 'DELETE', member(carol.user.id))).status,
      404,
      'no longer a member',
    );
    assert.equal((await call(alice, 'PATCH', member(bob.user.id), { role: 'member' })).status, 200);
    assert.deepEqual(await roles(alice, group), {
      [alice.user.id]: 'owner',
      [bob.user.id]: 'member',
      [dave.user.id]: 'member',
    });
    assert.deepEqual(
      (await systemMessages(alice, group)).map((s) => [s?.action, s?.role]),
      [
        ['role_changed', 'admin'],
        ['members_added', undefined],
        ['role_changed', 'admin'],
        ['member_removed', undefined],
        ['member_removed', undefined],
        ['role_changed', 'member'],
      ].reverse(),
    );
  });

  test('rename: owner or admin; a system message and conversation_updated; bad names refused', async () => {
    const [alice, bob, carol] = await users(3);
    const group = await createGroup(app.url, alice, [bob, carol], 'old name');
    const path = `/api/conversations/${group}`;
    assert.equal((await call(bob, 'PATCH', path, { name: 'by a member' })).status, 403);
    assert.equal((await call(alice, 'PATCH', path, { name: '   ' })).status, 400);
    assert.equal((await call(alice, 'PATCH', path, { name: 'x'.repeat(101) })).status, 400);
    assert.equal((await call(alice, 'PATCH', path, { name: 'ok', type: 'direct' })).status, 400);
    assert.equal((await conversationAs(bob, group)).body.conversation.name, 'old name');
    const updated = nextEvent(socketOf(carol), 'conversation_updated');
    const res = await call(alice, 'PATCH', path, { name: '  new name ' });
    assert.equal(res.status, 200);
    assert.equal((res.body as unknown as ConversationBody).conversation.name, 'new name');
    assert.equal((await updated).conversation.name, 'new name');
    assert.deepEqual(await systemMessages(bob, group), [{ action: 'renamed', name: 'new name' }]);
    assert.equal((await call(alice, 'PATCH', path, { name: 'new name' })).status, 200);
    assert.equal((await systemMessages(bob, group)).length, 1, 'the same name: no notice');
    const direct = await directConversation(app.url, alice, bob);
    assert.equal(
      (await call(alice, 'PATCH', `/api/conversations/${direct}`, { name: 'x' })).status,
      400,
    );
  });

  test('direct conversations keep their two members: every member route answers 400', async () => {
    const [alice, bob, carol] = await users(3);
    const direct = await directConversation(app.url, alice, bob);
    const base = `/api/conversations/${direct}/members`;
    for (const [method, path, body] of [
      ['POST', base, { userIds: [carol.user.id] }],
      ['DELETE', `${base}/${alice.user.id}`, undefined],
      ['DELETE', `${base}/${bob.user.id}`, undefined],
      ['PATCH', `${base}/${bob.user.id}`, { role: 'admin' }],
    ] as const) {
      const res = await call(alice, method, path, body);
      assert.equal(res.status, 400, `${method} ${path}`);
    }
    assert.equal(
      (await call(carol, 'DELETE', `${base}/${carol.user.id}`)).status,
      404,
      'outsiders: 404',
    );
    assert.equal((await conversationAs(bob, direct)).body.conversation.participants.length, 2);
  });

  test('a removed member is cut off mid-conversation: room, history, sends, events, presence', async () => {
    const [alice, bob, carol] = await users(3);
    const group = await createGroup(app.url, alice, [bob, carol]);
    const aliceCarol = await directConversation(app.url, alice, carol);
    const carolSocket = socketOf(carol);
    assert.equal((await request(carolSocket, 'join_room', { conversationId: group })).ok, true);
    assert.equal(
      (await request(carolSocket, 'send_message', { conversationId: group, content: 'hi all' })).ok,
      true,
    );
    const room = rooms.conversation(group);
    const io = app.io;
    assert.ok(io);
    const inRoom = async () => (await io.in(room).fetchSockets()).map((s) => s.data.userId);
    assert.ok((await inRoom()).includes(carol.user.id));

    const carolUpdated = nextEvent(carolSocket, 'conversation_updated');
    const updates = [alice, bob, carol].map((u) => record(socketOf(u), 'conversation_updated'));
    const carolGot = record(carolSocket, 'message_received');
    const bobGot = record(socketOf(bob), 'message_received');
    assert.equal(
      (await call(alice, 'DELETE', `/api/conversations/${group}/members/${carol.user.id}`)).status,
      204,
    );

    // At once: no waiting between the 204 and these.
    assert.equal((await history(app.url, carol, group)).status, 404);
    assert.equal((await conversationAs(carol, group)).status, 404);
    const send = await call(carol, 'POST', `/api/conversations/${group}/messages`, {
      content: 'still here?',
    });
    assert.equal(send.status, 404);
    for (const [event, payload] of [
      ['send_message', { conversationId: group, content: 'socket?' }],
      ['typing', { conversationId: group, isTyping: true }],
      ['join_room', { conversationId: group }],
    ] as const) {
      const ack = await request(carolSocket, event, payload);
      assert.deepEqual(ack.ok ? ack : ack.error.code, 'not_found', event);
    }
    assert.ok(!(await inRoom()).includes(carol.user.id), 'her sockets left the room');
    const list = (await call(carol, 'GET', '/api/conversations')).body as unknown as {
      items: { id: string }[];
    };
    assert.ok(!list.items.some((c) => c.id === group));

    const her = (await carolUpdated).conversation;
    assert.equal(her.id, group);
    assert.ok(!her.participants.some((p) => p.id === carol.user.id));
    await sendText(app.url, alice, group, 'after carol');
    await sendText(app.url, alice, aliceCarol, 'fence for carol');
    await eventually(
      () => carolGot.some((p) => p.message.content === 'fence for carol'),
      5000,
      'carol fence',
    );
    assert.deepEqual(
      carolGot.map((p) => p.message.content),
      ['fence for carol'],
      'nothing from the group after removal, not even its system message',
    );
    await eventually(() => bobGot.some((p) => p.message.content === 'after carol'), 5000, 'bob');
    await fence(alice, group, [alice]);
    assert.deepEqual(
      updates.map((got) => got.length),
      [1, 1, 1],
      'conversation_updated once to each member before and after, carol included',
    );
    const notice = bobGot.find((p) => p.message.type === 'system');
    assert.deepEqual(notice?.message.system, {
      action: 'member_removed',
      userIds: [carol.user.id],
    });
  });

  test('presence learns it: a removed member stops telling the group when they come and go', async () => {
    const [alice, frank] = await users(2);
    const gina = await registerUser(app.url);
    const group = await createGroup(app.url, alice, [frank, gina]);
    await directConversation(app.url, alice, gina);
    const ginaOnline = nextEvent(socketOf(frank), 'user_online', (p) => p.userId === gina.user.id);
    let ginaSocket = await connectSocket(app.url, gina.accessToken);
    await ginaOnline; // frank is gina's contact through the group (and the cache knows it)
    assert.equal(
      (await call(alice, 'DELETE', `/api/conversations/${group}/members/${gina.user.id}`)).status,
      204,
    );
    const frankSaw = record(socketOf(frank), 'user_offline');
    const aliceSaw = nextEvent(socketOf(alice), 'user_offline', (p) => p.userId === gina.user.id);
    ginaSocket.disconnect();
    await aliceSaw; // alice still shares a direct conversation with her
    await fence(alice, group, [frank]); // anything emitted to frank before this has arrived
    assert.deepEqual(frankSaw, [], 'frank shares nothing with gina any more');
    const frankOnline = record(socketOf(frank), 'user_online');
    const aliceOnline = nextEvent(socketOf(alice), 'user_online', (p) => p.userId === gina.user.id);
    ginaSocket = await connectSocket(app.url, gina.accessToken);
    await aliceOnline;
    await fence(alice, group, [frank]);
    assert.deepEqual(
      frankOnline.filter((p) => p.userId === gina.user.id),
      [],
    );
    ginaSocket.disconnect();
  });

  test('the owner leaving hands over to the oldest admin, else the oldest member', async () => {
    const [alice, bob, carol, dave] = await users(4);
    const withAdmin = await createGroup(app.url, alice, [bob, carol]);
    await call(alice, 'PATCH', `/api/conversations/${withAdmin}/members/${carol.user.id}`, {
      role: 'admin',
    });
    const aliceUpdated = nextEvent(
      socketOf(alice),
      'conversation_updated',
      (p) => p.conversation.id === withAdmin,
    );
    assert.equal(
      (await call(alice, 'DELETE', `/api/conversations/${withAdmin}/members/${alice.user.id}`))
        .status,
      204,
    );
    assert.deepEqual(await roles(bob, withAdmin), {
      [bob.user.id]: 'member',
      [carol.user.id]: 'owner',
    });
    assert.ok(!(await aliceUpdated).conversation.participants.some((p) => p.id === alice.user.id));
    assert.equal((await history(app.url, alice, withAdmin)).status, 404);
    assert.deepEqual((await systemMessages(bob, withAdmin)).slice(0, 2), [
      { action: 'role_changed', userIds: [carol.user.id], role: 'owner' },
      { action: 'member_left', userIds: [alice.user.id] },
    ]);

    const noAdmin = await createGroup(app.url, alice, [bob, carol]);
    await call(alice, 'POST', `/api/conversations/${noAdmin}/members`, { userIds: [dave.user.id] });
    await call(alice, 'DELETE', `/api/conversations/${noAdmin}/members/${alice.user.id}`);
    assert.equal(
      (await roles(dave, noAdmin))[bob.user.id],
      'owner',
      'bob joined first (listed first)',
    );
    // The new owner has every right: they add members, and leaving hands on again.
    assert.equal(
      (
        await call(bob, 'POST', `/api/conversations/${noAdmin}/members`, {
          userIds: [alice.user.id],
        })
      ).status,
      200,
    );
    await call(bob, 'DELETE', `/api/conversations/${noAdmin}/members/${bob.user.id}`);
    assert.equal((await roles(dave, noAdmin))[carol.user.id], 'owner');
  });

  test('unread counts follow member churn: a re-added member starts from the moment they rejoin', async () => {
    const [alice, bob, carol] = await users(3);
    const group = await createGroup(app.url, alice, [bob, carol]);
    await sendText(app.url, alice, group, 'one');
    const unread = async (who: Registered) =>
      (await conversationAs(who, group)).body.conversation.unreadCount;
    assert.equal(await unread(bob), 1);
    await call(alice, 'DELETE', `/api/conversations/${group}/members/${bob.user.id}`);
    await sendText(app.url, alice, group, 'while bob was away');
    await call(alice, 'POST', `/api/conversations/${group}/members`, { userIds: [bob.user.id] });
    assert.equal(await unread(bob), 0);
    assert.equal(await unread(carol), 2, 'system notices are not unread');
    const m = await sendText(app.url, carol, group, 'welcome back');
    assert.equal(await unread(bob), 1);
    assert.equal(
      (await call(bob, 'POST', `/api/conversations/${group}/read`, { messageId: m.id })).status,
      204,
    );
    assert.equal(await unread(bob), 0);
    const items: MessageView[] = (await history(app.url, bob, group)).body.items;
    assert.ok(
      items.some((x) => x.content === 'while bob was away'),
      'the whole history is visible again',
    );
  });
});
