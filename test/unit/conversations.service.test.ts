import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError, type ErrorCode } from '../../src/errors.js';
import { ConversationsService } from '../../src/modules/conversations/conversations.service.js';
import { FakeConversations, FakeMembership, FakeUsers, NoCaches, fakeId } from './fakes.js';

async function setUp(userCount: number) {
  const users = new FakeUsers();
  const conversations = new FakeConversations();
  const membership = new FakeMembership(conversations);
  const service = new ConversationsService(
    conversations,
    { countUnread: () => Promise.resolve(0) },
    users,
    { areOnline: (ids) => Promise.resolve(ids.map(() => false)) },
    membership,
    new NoCaches(),
  );
  const ids = (await users.seed(userCount)).map((u) => u.id);
  return { service, membership, ids };
}

function rejectsWith(code: ErrorCode, detail?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.code, code);
    if (detail) assert.match(JSON.stringify(err.details) + err.message, detail);
    return true;
  };
}

describe('membership rules', () => {
  test('a direct conversation is one per pair: the second open finds the first', async () => {
    const { service, membership, ids } = await setUp(2);
    const [a, b] = ids as [string, string];
    const first = await service.create(a, { participantId: b });
    const again = await service.create(b, { participantId: a });
    assert.equal(first.created, true);
    assert.equal(again.created, false);
    assert.equal(again.conversation?.id, first.conversation?.id);
    assert.deepEqual(membership.invalidated.sort(), [a, b].sort(), 'contacts told once');
  });

  test('nobody opens a conversation with themselves or with an unknown user', async () => {
    const { service, ids } = await setUp(1);
    const [me] = ids as [string];
    await assert.rejects(
      service.create(me, { participantId: me }),
      rejectsWith('validation_failed', /yourself/),
    );
    const stranger = fakeId();
    await assert.rejects(
      service.create(me, { participantId: stranger }),
      rejectsWith('validation_failed', new RegExp(stranger)),
    );
  });

  test('a group has 3 to 100 participants, the creator included and counted once', async () => {
    const { service, ids } = await setUp(101);
    const [me, ...others] = ids as [string, ...string[]];
    await assert.rejects(
      service.create(me, { participantIds: [me, others[0] as string], name: 'two' }),
      rejectsWith('validation_failed', /"participants":2/),
    );
    await assert.rejects(
      service.create(me, { participantIds: others, name: 'too many' }),
      rejectsWith('validation_failed', /"participants":101/),
    );
    const three = await service.create(me, { participantIds: others.slice(0, 2), name: 'ok' });
    assert.equal(three.conversation?.participants.length, 3);
  });

  test('a group with an unknown participant is refused, naming only the unknown ones', async () => {
    const { service, ids } = await setUp(3);
    const [me, a] = ids as [string, string];
    const ghost = fakeId();
    await assert.rejects(
      service.create(me, { participantIds: [a, ghost], name: 'g' }),
      rejectsWith('validation_failed', new RegExp(`"unknownUserIds":\\["${ghost}"\\]`)),
    );
  });

  test('only members see a conversation; everyone else gets not found', async () => {
    const { service, ids } = await setUp(4);
    const [me, a, b, outsider] = ids as [string, string, string, string];
    const { conversation } = await service.create(me, { participantIds: [a, b], name: 'g' });
    const id = conversation?.id;
    assert.deepEqual((await service.requireMember(id, a)).sort(), [me, a, b].sort());
    await assert.rejects(service.requireMember(id, outsider), rejectsWith('not_found'));
    await assert.rejects(service.get(outsider, id), rejectsWith('not_found'));
    await assert.rejects(service.requireMember(fakeId(), me), rejectsWith('not_found'));
    assert.equal((await service.get(b, id))?.id, id);
  });
});
