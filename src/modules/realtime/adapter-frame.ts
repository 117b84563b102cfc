import notepack from 'notepack.io';
import { PacketType } from 'socket.io-parser';

/** notepack's typings say `any`; in Node it returns a Buffer. */
const msgpack: (value: unknown) => Buffer = notepack.encode;

/** The namespace every Parley event goes through. */
const NAMESPACE = '/';
/**
 * Who the frame says it is from. An adapter drops frames carrying its own id (six random
 * characters), so this one, longer, is never mistaken for an adapter's own.
 */
const SENDER_ID = 'parley-notifier';

/**
 * A broadcast of `event` to `rooms` encoded exactly as @socket.io/redis-adapter publishes and
 * reads it (its `broadcast` and `onmessage`): msgpack (notepack.io) of `[senderId, packet,
 * {rooms, except, flags}]`, the packet a socket.io-parser EVENT, published on
 * `<key>#<namespace>#`, plus `<room>#` when there is exactly one room (adapters only subscribe
 * to the rooms they have, by pattern). Built here, not captured from the Redis emitter, so it can
 * be published inside a Lua script; test/integration/adapter-frame.test.ts proves every instance
 * delivers it.
 */
export function broadcastFrame(
  key: string,
  rooms: readonly string[],
  event: string,
  args: readonly unknown[],
): { channel: string; message: Buffer } {
  const packet = { type: PacketType.EVENT, data: [event, ...args], nsp: NAMESPACE };
  const options = { rooms: [...rooms], except: [], flags: {} };
  const base = `${key}#${NAMESPACE}#`;
  return {
    channel: rooms.length === 1 ? `${base}${rooms[0]}#` : base,
    message: msgpack([SENDER_ID, packet, options]),
  };
}
