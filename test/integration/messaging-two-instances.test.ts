import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { rooms } from '../../src/contracts/socket.js';
import { ConversationsRepository } from '../../src/modules/conversations/conversations.repository.js';
import { MembershipCache } from '../../src/modules/conversations/membership.cache.js';
import { silentLogger } from '../../src/logger.js';
import { isolatedEnv, startTestApp, type TestApp } from '../support/app.js';
import { directConversation, http, registerUser, type Registered } from '../support/http.js';
import {
  callAs,
  createGroup,
  history,
  messagePath,
  reactionPath,
  registerUsers,
  removeMember,
  sendText,
} from '../support/messaging.js';
import {
  connectSocket,
  eventually,
  nextEvent,
  record,
  request,
  type ClientSocket,
} from '../support/sockets.js';

/**
 * Membership is cached in Redis for every instance. These tests warm that cache on one instance,
 * change the membership through the other, and check the change holds everywhere at once.
 */
describe('messaging changes across two api instances', () => {
  let one: TestApp;
  let two: TestApp;

  before(async () => {
    const env = await isolatedEnv({ RATE_LIMIT_MESSAGES_PER_MINUTE: '100000' });
    [one, two] = [await startTestApp(env), await startTestApp(env)];
  });

  test('removed on instance one, cut off on instance two at once; re-added, back at once', async () => {
    const [alice, bob, carol] = await registerUsers(one.url);
    const group = await createGroup(one.url, alice, [bob, carol]);
    const aliceCarol = await directConversation(one.url, alice, carol);
    const carolSocket = await connectSocket(two.url, carol.accessToken);
    const bobSocket = await connectSocket(one.url, bob.accessToken);
    // Carol uses the group on instance two: its membership is cached and her socket is in the room.
    assert.equal((await request(carolSocket, 'join_room', { conversationId: group })).ok, true);
    assert.equal(
      (await request(carolSocket, 'send_message', { conversationId: group, content: 'hello' })).ok,
      true,
    );
    assert.equal((await history(two.url, carol, group)).status, 200);
    const room = rooms.conversation(group);
    const localRoom = async (app: TestApp) =>
      (await app.io?.local.in(room).fetchSockets())?.map((s) => s.data.userId) ?? [];
    assert.deepEqual(await localRoom(two), [carol.user.id]);

    const carolUpdated = nextEvent(carolSocket, 'conversation_updated');
    const carolGot = record(carolSocket, 'message_received');
    const removed = await removeMember(one.url, alice, group, carol);
    assert.equal(removed.status, 204);

    // Instance two, immediately after the 204.
    assert.equal((await history(two.url, carol, group)).status, 404);
    const restSend = await http(two.url, 'POST', `/api/conversations/${group}/messages`, {
      token: carol.accessToken,
      body: { content: 'am I still in?' },
    });
    assert.equal(restSend.status, 404);
    const socketSend = await request(carolSocket, 'send_message', {
      conversationId: group,
      content: 'socket?',
    });
    assert.equal(socketSend.ok ? 'ok' : socketSend.error.code, 'not_found');
    await eventually(
      async () => (await localRoom(two)).length === 0,
      5000,
      'carol out of the room',
    );
    assert.ok(!(await carolUpdated).conversation.participants.some((p) => p.id === carol.user.id));

    // Nothing of the group reaches her any more, on either instance's fan-out.
    await sendText(one.url, bob, group, 'secret plans');
    await sendText(two.url, alice, group, 'more secrets');
    await sendText(one.url, alice, aliceCarol, 'fence');
    await eventually(() => carolGot.some((p) => p.message.content === 'fence'), 5000, 'fence');
    assert.deepEqual(
      carolGot.map((p) => p.message.content),
      ['fence'],
    );

    // Added back through instance two: instance one's cached view learns that too.
    const bobSaw = nextEvent(bobSocket, 'message_received', (p) => p.message.content === 'back');
    const added = await http(two.url, 'POST', `/api/conversations/${group}/members`, {
      token: alice.accessToken,
      body: { userIds: [carol.user.id] },
    });
    assert.equal(added.status, 200);
    assert.equal((await sendText(one.url, carol, group, 'back')).content, 'back');
    await bobSaw;
    assert.equal((await history(one.url, carol, group)).status, 200);
  });

  test('edits, deletes and reactions made on one instance reach members on both, once each', async () => {
    const [alice, bob, carol] = await registerUsers(one.url);
    const group = await createGroup(one.url, alice, [bob, carol]);
    const outsider = await registerUser(one.url);
    const sockets = [
      await connectSocket(one.url, alice.accessToken),
      await connectSocket(two.url, bob.accessToken),
      await connectSocket(two.url, carol.accessToken),
    ];
    const outsiderSocket = await connectSocket(two.url, outsider.accessToken);
    const watched = [...sockets, outsiderSocket].map((socket) => ({
      updated: record(socket, 'message_updated'),
      deleted: record(socket, 'message_deleted'),
      reacted: record(socket, 'reaction_updated'),
    }));
    const sent = await sendText(two.url, bob, group, 'draft');
    const as = (who: Registered, url: string, method: string, path: string, body?: unknown) =>
      callAs(url, who, method, path, body);
    assert.equal(
      (await as(bob, one.url, 'PATCH', messagePath(group, sent.id), { content: 'final' })).status,
      200,
    );
    assert.equal((await as(carol, one.url, 'PUT', reactionPath(group, sent.id, '🎉'))).status, 204);
    assert.equal((await as(carol, two.url, 'PUT', reactionPath(group, sent.id, '🎉'))).status, 204);
    assert.equal((await as(alice, two.url, 'DELETE', messagePath(group, sent.id))).status, 204);

    // Per socket, events arrive in order: once the fence is there, everything before it is.
    // The outsider is fenced through a direct conversation of their own.
    const fenceSeen = [...sockets, outsiderSocket].map((s) => record(s, 'message_received'));
    const fences = [
      await sendText(one.url, alice, group, 'fence'),
      await sendText(one.url, alice, await directConversation(one.url, alice, outsider), 'fence'),
    ];
    await eventually(
      () => fenceSeen.every((got) => got.some((p) => fences.some((f) => f.id === p.message.id))),
      5000,
      'the fence on every socket',
    );
    for (const [i, got] of watched.slice(0, 3).entries()) {
      assert.deepEqual(
        got.updated.map((p) => p.message.content),
        ['final'],
        `socket ${i}`,
      );
      assert.deepEqual(
        got.reacted.map((p) => [p.emoji, p.userId, p.added]),
        [['🎉', carol.user.id, true]],
      );
      assert.deepEqual(got.deleted, [{ conversationId: group, messageId: sent.id }]);
    }
    const outsiderGot = watched[3];
    assert.deepEqual(
      [outsiderGot?.updated, outsiderGot?.reacted, outsiderGot?.deleted],
      [[], [], []],
    );
  });

  test('a cache fill that raced with a change never caches the old members', async () => {
    const [alice, bob, carol] = await registerUsers(one.url);
    const group = await createGroup(one.url, alice, [bob, carol]);
    // A reader on "another instance" whose MongoDB read is held until the change is done.
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let loaded = false;
    class SlowReader extends ConversationsRepository {
      override async membershipOf(id: string) {
        const membership = await super.membershipOf(id);
        loaded = true;
        await held;
        return membership;
      }
    }
    const slow = new MembershipCache(two.redis, new SlowReader(two.mongo.db), silentLogger);
    await two.services.membership.membershipChanged(group, []); // start from a cold cache
    const racing = slow.participants(group);
    await eventually(() => loaded, 5000, 'the slow read');
    const removed = await removeMember(one.url, alice, group, carol);
    assert.equal(removed.status, 204);
    release();
    assert.ok((await racing)?.includes(carol.user.id), 'the racing read saw the old members');
    // Its late cache write went out on this connection before the PING: it has been applied, or
    // refused. Refused it must be: every instance reads the new members.
    await two.redis.client.ping();
    for (const app of [two, one, two]) {
      assert.equal(await app.services.membership.isMember(group, carol.user.id), null);
    }
    const socket: ClientSocket = await connectSocket(two.url, carol.accessToken);
    const ack = await request(socket, 'send_message', { conversationId: group, content: 'no' });
    assert.equal(ack.ok ? 'ok' : ack.error.code, 'not_found');
  });

  test("a direct conversation's members are read once per process; a group's come from the shared cache", async () => {
    const [alice, bob, carol] = await registerUsers(one.url);
    const direct = await directConversation(one.url, alice, bob);
    const group = await createGroup(one.url, alice, [bob, carol]);
    const reads: string[] = [];
    class CountingReader extends ConversationsRepository {
      override async membershipOf(id: string) {
        reads.push(id);
        return super.membershipOf(id);
      }
    }
    const cache = new MembershipCache(two.redis, new CountingReader(two.mongo.db), silentLogger);
    // Cold shared cache for both, so this process reads MongoDB once for each.
    await two.services.membership.membershipChanged(direct, []);
    await two.services.membership.membershipChanged(group, []);
    for (const id of [direct, group]) assert.ok(await cache.isMember(id, alice.user.id));
    assert.deepEqual(reads, [direct, group]);
    // Emptied again: the group is read anew, the direct conversation is served from memory.
    await two.services.membership.membershipChanged(direct, []);
    await two.services.membership.membershipChanged(group, []);
    assert.deepEqual(
      new Set(await cache.participants(direct)),
      new Set([alice.user.id, bob.user.id]),
    );
    assert.equal(await cache.isMember(direct, carol.user.id), null);
    assert.ok(await cache.isMember(group, carol.user.id));
    assert.deepEqual(reads, [direct, group, group]);
  });
});
