import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RedisHandles } from '../../src/infra/redis.js';
import { silentLogger } from '../../src/logger.js';
import { MembershipCache } from '../../src/modules/conversations/membership.cache.js';
import type { Membership } from '../../src/modules/conversations/conversations.repository.js';

/** Redis that never has anything cached and accepts every write: each miss reaches `reads`. */
const emptyRedis = {
  client: { mget: () => Promise.resolve([null, null]), evalsha: () => Promise.resolve(0) },
  key: (name: string) => name,
} as unknown as RedisHandles;

describe('MembershipCache', () => {
  test('keeps at most its bound of direct conversations, dropping the least recently used', async () => {
    const reads: string[] = [];
    const conversations = {
      membershipOf: (id: string): Promise<Membership> => {
        reads.push(id);
        return Promise.resolve({ participants: [`${id}-a`, `${id}-b`], fixed: true });
      },
      contactsOf: () => Promise.resolve([]),
    };
    const cache = new MembershipCache(emptyRedis, conversations, silentLogger, 2);
    await cache.participants('c1');
    await cache.participants('c2');
    await cache.participants('c1'); // from memory, and now the most recently used
    await cache.participants('c3'); // over the bound: c2 goes
    assert.deepEqual(reads, ['c1', 'c2', 'c3']);
    assert.deepEqual(await cache.participants('c1'), ['c1-a', 'c1-b']);
    await cache.participants('c2');
    assert.deepEqual(reads, ['c1', 'c2', 'c3', 'c2']);
  });
});
