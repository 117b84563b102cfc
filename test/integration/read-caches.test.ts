import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { ConversationView } from '../../src/contracts/conversations.js';
import type { MessageView } from '../../src/contracts/messages.js';
import { ReadCache } from '../../src/infra/read-cache.js';
import { silentLogger } from '../../src/logger.js';
import type { UserView } from '../../src/contracts/users.js';
import {
  isolatedEnv,
  promoteToAdmin,
  startTestApp,
  uniqueId,
  type TestApp,
} from '../support/app.js';
import { directConversation, http, type Registered } from '../support/http.js';
import {
  callAs,
  createGroup,
  messagePath,
  reactionPath,
  registerUsers,
  removeMember,
  sendText,
} from '../support/messaging.js';
import { connectSocket, eventually } from '../support/sockets.js';

/**
 * The newest history page and each user's conversation list are cached in Redis, users in each
 * process behind a version kept in Redis (issue #19).
 * Each test warms the caches through instance two, changes something through instance one, and
 * reads through two at once: every change path must have invalidated what two would serve.
 */
describe('read caches across two api instances', () => {
  let one: TestApp;
  let two: TestApp;
  let env: Record<string, string>;

  before(async () => {
    env = await isolatedEnv({ RATE_LIMIT_MESSAGES_PER_MINUTE: '100000' });
    [one, two] = [await startTestApp(env), await startTestApp(env)];
  });

  /** The newest page as `who` sees it through `app`, at the default size and at 100. */
  async function newest(app: TestApp, who: Registered, conversationId: string) {
    const path = `/api/conversations/${conversationId}/messages`;
    const pages = await Promise.all(
      [path, `${path}?limit=100`].map((p) =>
        http<{ items: MessageView[] }>(app.url, 'GET', p, { token: who.accessToken }),
      ),
    );
    for (const page of pages) assert.equal(page.status, 200);
    const [small, large] = pages.map((p) => p.body.items);
    assert.deepEqual(small, large?.slice(0, 50), 'both page sizes agree');
    return small ?? [];
  }

  async function list(app: TestApp, who: Registered): Promise<ConversationView[]> {
    const res = await http<{ items: ConversationView[] }>(app.url, 'GET', '/api/conversations', {
      token: who.accessToken,
    });
    assert.equal(res.status, 200);
    return res.body.items;
  }

  async function listed(app: TestApp, who: Registered, conversationId: string) {
    return (await list(app, who)).find((c) => c.id === conversationId);
  }

  test('history: sends, edits, reactions and deletes on one are seen on two at once', async () => {
    const [alice, bob] = await registerUsers(one.url, 3);
    const direct = await directConversation(one.url, alice, bob);
    const first = await sendText(one.url, alice, direct, 'first');
    assert.deepEqual(
      (await newest(two, bob, direct)).map((m) => m.content),
      ['first'],
    );
    // Cached now: a second read through two is served from Redis and must be the same.
    assert.deepEqual(
      (await newest(two, bob, direct)).map((m) => m.content),
      ['first'],
    );

    const second = await sendText(one.url, bob, direct, 'second');
    assert.deepEqual(
      (await newest(two, alice, direct)).map((m) => m.content),
      ['second', 'first'],
    );

    const edited = await callAs(one.url, alice, 'PATCH', messagePath(direct, first.id), {
      content: 'first, edited',
    });
    assert.equal(edited.status, 200);
    const afterEdit = await newest(two, bob, direct);
    assert.equal(afterEdit[1]?.content, 'first, edited');
    assert.ok(afterEdit[1]?.editedAt);

    // Reactions are per viewer (`me`) although the page is cached once for everyone.
    const reacted = await callAs(one.url, bob, 'PUT', reactionPath(direct, second.id, '👍'));
    assert.equal(reacted.status, 204);
    assert.deepEqual((await newest(two, bob, direct))[0]?.reactions, [
      { emoji: '👍', count: 1, me: true },
    ]);
    assert.deepEqual((await newest(two, alice, direct))[0]?.reactions, [
      { emoji: '👍', count: 1, me: false },
    ]);
    const unreacted = await callAs(one.url, bob, 'DELETE', reactionPath(direct, second.id, '👍'));
    assert.equal(unreacted.status, 204);
    assert.deepEqual((await newest(two, alice, direct))[0]?.reactions, []);

    const deleted = await callAs(one.url, bob, 'DELETE', messagePath(direct, second.id));
    assert.equal(deleted.status, 204);
    const afterDelete = await newest(two, alice, direct);
    assert.equal(afterDelete[0]?.content, '');
    assert.ok(afterDelete[0]?.deletedAt);
  });

  test('history: group notices and removals apply on two at once', async () => {
    const [alice, bob, carol] = await registerUsers(one.url, 3);
    const group = await createGroup(one.url, alice, [bob, carol]);
    await sendText(two.url, carol, group, 'hi all');
    const before = await newest(two, carol, group);
    const renamed = await callAs(one.url, alice, 'PATCH', `/api/conversations/${group}`, {
      name: 'renamed',
    });
    assert.equal(renamed.status, 200);
    const after = await newest(two, bob, group);
    assert.equal(after.length, before.length + 1);
    assert.equal(after[0]?.type, 'system');

    const removed = await removeMember(one.url, alice, group, carol);
    assert.equal(removed.status, 204);
    const refused = await http(two.url, 'GET', `/api/conversations/${group}/messages`, {
      token: carol.accessToken,
    });
    assert.equal(refused.status, 404, 'a cached page is never served to a former member');
  });

  test('lists: last message, unread counts, reads, edits and deletes on one seen on two', async () => {
    const [alice, bob] = await registerUsers(one.url, 3);
    const direct = await directConversation(one.url, alice, bob);
    assert.equal((await listed(two, alice, direct))?.unreadCount, 0);

    const first = await sendText(one.url, bob, direct, 'one');
    const second = await sendText(one.url, bob, direct, 'two');
    let seen = await listed(two, alice, direct);
    assert.equal(seen?.lastMessage?.preview, 'two');
    assert.equal(seen?.unreadCount, 2);
    assert.equal((await listed(two, bob, direct))?.unreadCount, 0, "a sender's own don't count");

    const read = await callAs(one.url, alice, 'POST', `/api/conversations/${direct}/read`, {
      messageId: first.id,
    });
    assert.equal(read.status, 204);
    assert.equal((await listed(two, alice, direct))?.unreadCount, 1);

    const edited = await callAs(one.url, bob, 'PATCH', messagePath(direct, second.id), {
      content: 'two, edited',
    });
    assert.equal(edited.status, 200);
    assert.equal((await listed(two, alice, direct))?.lastMessage?.preview, 'two, edited');

    const deleted = await callAs(one.url, bob, 'DELETE', messagePath(direct, second.id));
    assert.equal(deleted.status, 204);
    seen = await listed(two, alice, direct);
    assert.equal(seen?.lastMessage?.preview, '');
    assert.equal(seen?.unreadCount, 0);
  });

  test('lists: new conversations, membership, renames and profiles on one seen on two', async () => {
    const [alice, bob, carol] = await registerUsers(one.url, 3);
    assert.deepEqual(await list(two, carol), []);
    const group = await createGroup(one.url, alice, [bob, carol], 'first name');
    assert.equal((await listed(two, carol, group))?.name, 'first name');
    const direct = await directConversation(one.url, carol, bob);
    assert.ok(await listed(two, carol, direct), 'a new direct conversation is listed');

    const renamed = await callAs(one.url, alice, 'PATCH', `/api/conversations/${group}`, {
      name: 'second name',
    });
    assert.equal(renamed.status, 200);
    assert.equal((await listed(two, carol, group))?.name, 'second name');

    const promoted = await callAs(
      one.url,
      alice,
      'PATCH',
      `/api/conversations/${group}/members/${carol.user.id}`,
      { role: 'admin' },
    );
    assert.equal(promoted.status, 200);
    const roles = (await listed(two, bob, group))?.participants.map((p) => [p.id, p.role]);
    assert.ok(roles?.some(([id, role]) => id === carol.user.id && role === 'admin'));

    // Profiles are never cached with the list: a new display name shows at once.
    const profile = await callAs(one.url, bob, 'PATCH', '/api/auth/me', { displayName: 'Bobby' });
    assert.equal(profile.status, 200);
    const bobSeen = (await listed(two, carol, direct))?.participants.find(
      (p) => p.id === bob.user.id,
    );
    assert.equal(bobSeen?.displayName, 'Bobby');

    const removed = await removeMember(one.url, alice, group, carol);
    assert.equal(removed.status, 204);
    assert.equal(await listed(two, carol, group), undefined);
    assert.ok(await listed(two, carol, direct));
  });

  test('/me: profile, role and last-seen changes through one are seen on two at once', async () => {
    const [alice] = await registerUsers(one.url, 3);
    const me = async (app: TestApp) => {
      const res = await http<{ user: UserView }>(app.url, 'GET', '/api/auth/me', {
        token: alice.accessToken,
      });
      assert.equal(res.status, 200);
      return res.body.user;
    };
    assert.equal((await me(two)).username, alice.user.username);
    assert.equal((await me(two)).lastSeenAt, null); // cached in two now

    const patched = await callAs(one.url, alice, 'PATCH', '/api/auth/me', { bio: 'hello' });
    assert.equal(patched.status, 200);
    assert.equal((await me(two)).bio, 'hello');

    // An operator's promotion runs in another process (the CLI): it bumps the version too.
    await promoteToAdmin(env, alice.user.email ?? '');
    assert.equal((await me(two)).role, 'admin');

    const socket = await connectSocket(one.url, alice.accessToken);
    socket.disconnect();
    await eventually(async () => (await me(two)).lastSeenAt !== null, 5000, 'last seen on two');
  });

  test('a load that overlaps an invalidation is used once and never cached', async () => {
    const cache = new ReadCache(one.infra.redis, silentLogger, 60);
    const name = `race:${uniqueId()}`;
    let loads = 0;
    const stale = await cache.read(name, async () => {
      loads += 1;
      // The change lands (and invalidates) while this load is still reading the old value.
      await cache.invalidate([name]);
      return 'old';
    });
    assert.equal(stale, 'old');
    const fresh = await cache.read(name, () => {
      loads += 1;
      return Promise.resolve('new');
    });
    assert.equal(fresh, 'new', 'the overlapping load was not stored');
    assert.equal(loads, 2);
    // Stored once nothing raced: the next read does not load.
    await eventually(
      async () => (await cache.read(name, () => Promise.resolve('loaded again'))) === 'new',
      5000,
      'the value cached',
    );
  });
});
