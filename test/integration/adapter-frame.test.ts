import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Notifier } from '../../src/contracts/socket.js';
import { createNotifier } from '../../src/modules/realtime/notifiers.js';
import { isolatedEnv, startTestApp, type TestApp } from '../support/app.js';
import { registerUser, type Registered } from '../support/http.js';
import { connectSocket, eventually, record } from '../support/sockets.js';

/**
 * The exactly-once announce publishes a frame it encodes itself (adapter-frame.ts) in the
 * Socket.IO Redis adapter's format. If that format and the adapter's ever part ways, these
 * frames stop reaching clients: this test is what notices.
 */
describe('exactly-once announce frames', () => {
  let first: TestApp;
  let second: TestApp;
  let worker: Notifier;
  let alice: Registered;
  let bob: Registered;

  before(async () => {
    const env = await isolatedEnv();
    first = await startTestApp(env);
    second = await startTestApp(env);
    // A notifier without sockets of its own, as in a worker process.
    worker = createNotifier(first.redis, null);
    alice = await registerUser(first.url);
    bob = await registerUser(first.url);
  });

  test('reach every socket of the users, on every instance, once per key', async () => {
    const aliceHere = await connectSocket(first.url, alice.accessToken);
    const aliceThere = await connectSocket(second.url, alice.accessToken);
    const bobThere = await connectSocket(second.url, bob.accessToken);
    const seen = [aliceHere, aliceThere, bobThere].map((s) => record(s, 'typing'));
    const announce = (key: string, userIds: string[], conversationId: string) =>
      worker.toUsersOnce(key, userIds, 'typing', { conversationId, userId: 'x', isTyping: true });

    // One room (the channel names it) and several rooms (the namespace's channel).
    await announce('frame-one-room', [alice.user.id], 'one-room');
    await announce('frame-two-rooms', [alice.user.id, bob.user.id], 'two-rooms');
    await announce('frame-one-room', [alice.user.id], 'one-room-again');
    await announce('frame-fence', [alice.user.id, bob.user.id], 'fence');
    // Events arrive in order: once the fence is in, a repeat would already have arrived.
    await eventually(
      () => seen.every((events) => events.some((e) => e.conversationId === 'fence')),
      5000,
      'the fence on every socket',
    );
    const [here, there, bobs] = seen.map((events) => events.map((e) => e.conversationId));
    assert.deepEqual(here, ['one-room', 'two-rooms', 'fence']);
    assert.deepEqual(there, ['one-room', 'two-rooms', 'fence']);
    assert.deepEqual(bobs, ['two-rooms', 'fence']);
  });

  test('announces made in one turn leave together, each key still once', async () => {
    const bobHere = await connectSocket(first.url, bob.accessToken);
    const seen = record(bobHere, 'typing');
    const announce = (key: string, conversationId: string) =>
      worker.toUsersOnce(key, [bob.user.id], 'typing', {
        conversationId,
        userId: 'x',
        isTyping: true,
      });
    // Same turn of the event loop: one batch, with a key repeated inside it and one announced
    // before it.
    await announce('batch-earlier', 'earlier');
    await Promise.all([
      announce('batch-a', 'a'),
      announce('batch-a', 'a-again'),
      announce('batch-earlier', 'earlier-again'),
      announce('batch-b', 'b'),
    ]);
    await announce('batch-fence', 'fence');
    await eventually(
      () => seen.some((e) => e.conversationId === 'fence'),
      5000,
      'the fence on the socket',
    );
    assert.deepEqual(
      seen.map((e) => e.conversationId),
      ['earlier', 'a', 'b', 'fence'],
    );
  });
});
