import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decode } from 'notepack.io';
import {
  clientEvents,
  type AckBody,
  type ClientPayload,
  type ParsedPayload,
  type ServerPayload,
} from '../../src/contracts/socket.js';
import { broadcastFrame } from '../../src/modules/realtime/adapter-frame.js';

// Compile-time checks: if the contract stopped rejecting these, the build fails with
// "Unused '@ts-expect-error' directive".
type Handler<E extends keyof typeof clientEvents> = (p: ParsedPayload<E>) => Promise<AckBody<E>>;
// @ts-expect-error a send_message ack must carry the message
export const wrongAck: Handler<'send_message'> = () => Promise.resolve({});
// @ts-expect-error an empty ack carries nothing but ok
export const extraAck: Handler<'join_room'> = () => Promise.resolve({ joined: true });
// @ts-expect-error typing needs isTyping
export const missingField: ClientPayload<'typing'> = { conversationId: 'x' };
// @ts-expect-error readAt is part of message_read
export const partialEvent: ServerPayload<'message_read'> = {
  conversationId: 'c',
  userId: 'u',
  messageId: 'm',
};

describe('contracts', () => {
  test('every client payload refuses unknown fields (they are never passed on)', () => {
    const id = '0123456789abcdef01234567';
    for (const [event, { payload }] of Object.entries(clientEvents)) {
      const result = payload.safeParse({ conversationId: id, $where: '1' });
      assert.equal(result.success, false, event);
      if (!result.success) {
        assert.ok(
          result.error.issues.some((i) => i.code === 'unrecognized_keys'),
          `${event}: ${JSON.stringify(result.error.issues)}`,
        );
      }
    }
  });

  test("an announce frame is the adapter's [sender, EVENT packet, {rooms, except, flags}]", () => {
    const one = broadcastFrame('p:socket.io', ['user:a'], 'typing', [{ isTyping: true }]);
    assert.equal(one.channel, 'p:socket.io#/#user:a#');
    assert.deepEqual(decode(one.message), [
      'parley-notifier',
      { type: 2, data: ['typing', { isTyping: true }], nsp: '/' },
      { rooms: ['user:a'], except: [], flags: {} },
    ]);
    const many = broadcastFrame('p:socket.io', ['user:a', 'user:b'], 'typing', [{}]);
    assert.equal(many.channel, 'p:socket.io#/#');
  });
});
