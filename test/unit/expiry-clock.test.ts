import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ExpiryClock, type ParleySocket } from '../../src/modules/realtime/socket.handlers.js';

/** What the clock reads of a socket: its token's expiry (seconds since epoch). */
function socketExpiringAt(expiresAt: number, name: string): ParleySocket {
  return { id: name, data: { expiresAt } } as unknown as ParleySocket;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('ExpiryClock', () => {
  test('expires each socket once its second has passed, and never one removed or renewed', async () => {
    const expired: string[] = [];
    let last: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (last = resolve));
    const clock = new ExpiryClock((socket) => {
      expired.push(socket.id);
      if (socket.id === 'b') last();
    });
    const a = socketExpiringAt(nowSeconds() - 1, 'a');
    const b = socketExpiringAt(nowSeconds() + 1, 'b');
    const gone = socketExpiringAt(nowSeconds() - 1, 'gone');
    const renewed = socketExpiringAt(nowSeconds() + 1, 'renewed');
    const later = socketExpiringAt(nowSeconds() + 3600, 'later');
    for (const s of [later, b, renewed, gone, a]) clock.add(s);
    clock.remove(gone);
    // A renewal: out under the old expiry, back under the new one.
    clock.remove(renewed);
    renewed.data.expiresAt = nowSeconds() + 3600;
    clock.add(renewed);
    // The clock's timer does not hold the process open (sockets do): this test must.
    const alive = setInterval(() => undefined, 1000);
    await done;
    clearInterval(alive);
    assert.deepEqual(expired, ['a', 'b']);
    clock.remove(later);
    clock.remove(renewed);
  });
});
