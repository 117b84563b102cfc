import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  withAdded,
  withRemoved,
  withRole,
  type Member,
} from '../../src/modules/conversations/group-members.js';

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute));
const member = (userId: string, role: Member['role'], minute: number): Member => ({
  userId,
  role,
  joinedAt: at(minute),
});

describe('group member rules', () => {
  test('adding skips members already in and repeated ids; nothing new is null', () => {
    const members = [member('a', 'owner', 0), member('b', 'member', 0)];
    const next = withAdded(members, ['b', 'c', 'c', 'd'], at(5));
    assert.deepEqual(next?.added, ['c', 'd']);
    assert.deepEqual(
      next?.members.map((m) => [m.userId, m.role]),
      [
        ['a', 'owner'],
        ['b', 'member'],
        ['c', 'member'],
        ['d', 'member'],
      ],
    );
    assert.equal(withAdded(members, ['a', 'b'], at(5)), null);
  });

  test('the owner leaving hands over to the longest-standing admin before any member', () => {
    const members = [
      member('owner', 'owner', 0),
      member('old-member', 'member', 1),
      member('new-admin', 'admin', 9),
      member('old-admin', 'admin', 3),
    ];
    const { members: rest, newOwner } = withRemoved(members, 'owner');
    assert.equal(newOwner, 'old-admin');
    assert.deepEqual(
      rest.map((m) => [m.userId, m.role]),
      [
        ['old-member', 'member'],
        ['new-admin', 'admin'],
        ['old-admin', 'owner'],
      ],
    );
  });

  test('without admins the longest-standing member inherits; ties go to the first added', () => {
    const members = [member('o', 'owner', 0), member('x', 'member', 2), member('y', 'member', 2)];
    assert.equal(withRemoved(members, 'o').newOwner, 'x');
    assert.deepEqual(withRemoved([member('o', 'owner', 0)], 'o'), { members: [], newOwner: null });
  });

  test('anyone else leaving hands nothing over; roles change for that member only', () => {
    const members = [member('o', 'owner', 0), member('x', 'member', 1), member('y', 'member', 2)];
    assert.equal(withRemoved(members, 'x').newOwner, null);
    assert.deepEqual(
      withRole(members, 'y', 'admin').map((m) => m.role),
      ['owner', 'member', 'admin'],
    );
  });
});
