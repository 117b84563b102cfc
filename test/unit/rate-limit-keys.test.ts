import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ipKey, requestLimits, userKey } from '../../src/infra/rate-limits.js';

describe('rate-limit keys', () => {
  test('anonymous requests count per client address: two addresses, two buckets', () => {
    const a = requestLimits(undefined, null, '203.0.113.7');
    const b = requestLimits(undefined, null, '203.0.113.8');
    assert.deepEqual(a, [['api', 'ip:203.0.113.7']]);
    assert.notDeepEqual(a, b);
    assert.notEqual(ipKey('::ffff:10.0.0.1'), ipKey('::ffff:10.0.0.2'));
  });

  test('a signed-in user has one API bucket whatever address they come from', () => {
    const home = requestLimits(undefined, 'u1', '198.51.100.1');
    const office = requestLimits(undefined, 'u1', '198.51.100.2');
    assert.deepEqual(home, office);
    assert.deepEqual(home, [['api', 'u:u1']]);
    assert.notDeepEqual(requestLimits(undefined, 'u2', '198.51.100.1'), home);
  });

  test('auth routes count per address even with a token; message routes per user', () => {
    assert.deepEqual(requestLimits('auth', 'u1', '192.0.2.1'), [
      ['api', 'u:u1'],
      ['auth', 'ip:192.0.2.1'],
    ]);
    assert.deepEqual(requestLimits('messages', 'u1', '192.0.2.1'), [
      ['api', 'u:u1'],
      ['messages', 'u:u1'],
    ]);
  });

  test('REST and Socket.IO sends share the user’s message bucket', () => {
    const [, rest] = requestLimits('messages', 'u1', '192.0.2.1');
    assert.equal(rest?.[1], userKey('u1'));
  });
});
