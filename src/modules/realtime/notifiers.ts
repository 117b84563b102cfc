import { Emitter } from '@socket.io/redis-emitter';
import type { Server } from 'socket.io';
import {
  rooms,
  type ClientToServerEvents,
  type InterServerEvents,
  type Notifier,
  type ServerToClientEvents,
  type SocketData,
} from '../../contracts/socket.js';
import { luaScript, type RedisHandles } from '../../infra/redis.js';
import { MicroBatcher } from '../../lib/micro-batcher.js';
import { broadcastFrame } from './adapter-frame.js';

export type ParleyServer = Server<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;

/** How long an "already announced" mark lives: longer than any retry or redelivery window. */
const ONCE_TTL_SECONDS = 3600;

/** Most announces one script call carries (a group commit's batch is at most 256 sends). */
const ANNOUNCE_BATCH_MAX = 256;

// KEYS: one "announced" mark per message. ARGV: the marks' ttl, then a channel and a frame per
// message. Each claim and its PUBLISH happen in one atomic step: a process that dies before it
// leaves neither (the redelivered job announces), one that dies after leaves both (nobody
// repeats). A batch is one command however many messages (a group commit's announces).
const PUBLISH_ONCE = luaScript(`
for i = 1, #KEYS do
  if redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[1]) then
    redis.call('PUBLISH', ARGV[2 * i], ARGV[2 * i + 1])
  end
end
return 0
`);

interface Announce {
  onceKey: string;
  channel: string;
  message: Buffer;
}

/** The Socket.IO adapter's channel prefix; the Redis emitter must use the same one. */
export function socketChannel(redis: RedisHandles): string {
  return redis.key('socket.io');
}

/**
 * Fan-out to users' personal rooms through the Socket.IO Redis adapter's channel, so a member's
 * sockets get the event whichever instance they are on, once per socket. An api process emits
 * through its own server; a worker (no sockets) through the Redis emitter — same channel, same
 * wire format.
 */
export function createNotifier(redis: RedisHandles, io: ParleyServer | null): Notifier {
  const key = socketChannel(redis);
  const emitter = new Emitter<ServerToClientEvents>(redis.client, { key });
  // Announces made in the same turn of the event loop (a group commit's sends) leave together.
  const announces = new MicroBatcher<Announce>(
    async (batch) => {
      const args: (string | number | Buffer)[] = [ONCE_TTL_SECONDS];
      for (const a of batch) args.push(a.channel, a.message);
      await PUBLISH_ONCE.run(
        redis.client,
        batch.map((a) => redis.key(`announced:${a.onceKey}`)),
        args,
      );
      return batch.map(() => null);
    },
    { maxSize: ANNOUNCE_BATCH_MAX, maxWaitMs: 0 },
  );
  return {
    toUsers(userIds, event, ...args) {
      if (userIds.length === 0) return;
      const targets = userIds.map(rooms.user);
      if (io) io.to(targets).emit(event, ...args);
      else emitter.to(targets).emit(event, ...args);
    },
    async toUsersOnce(onceKey, userIds, event, ...args) {
      if (userIds.length === 0) return;
      const broadcast = broadcastFrame(key, userIds.map(rooms.user), event, args);
      await announces.add({ onceKey, ...broadcast });
    },
    leaveConversation(userIds, conversationId) {
      if (userIds.length === 0) return;
      const targets = userIds.map(rooms.user);
      const room = rooms.conversation(conversationId);
      if (io) io.in(targets).socketsLeave(room);
      else emitter.in(targets).socketsLeave(room);
    },
    disconnectSession(sessionId) {
      if (io) io.in(rooms.session(sessionId)).disconnectSockets(true);
      else emitter.in(rooms.session(sessionId)).disconnectSockets(true);
    },
  };
}

/** What the metrics learn from outgoing events: messages created, tasks changing state. */
export interface NotifierObserver {
  messageAnnounced(type: string, createdAt: string): void;
  taskChanged(type: string, state: string): void;
}

/**
 * Counts what is announced, where every path that creates a message or moves a task already
 * passes (REST, sockets, auto messages, the media worker), instead of in each service.
 * `message_received` goes out once per message (toUsersOnce); a task is announced when created
 * (queued) and when it ends, and also on each progress report while running, so `running` is
 * not counted.
 */
export function observedNotifier(inner: Notifier, observer: NotifierObserver): Notifier {
  const observe = (event: string, payload: unknown): void => {
    if (event === 'message_received') {
      const { message } = payload as { message: { type: string; createdAt: string } };
      observer.messageAnnounced(message.type, message.createdAt);
    } else if (event === 'task_updated') {
      const { task } = payload as { task: { type: string; state: string } };
      if (task.state !== 'running') observer.taskChanged(task.type, task.state);
    }
  };
  return {
    toUsers(userIds, event, ...args) {
      inner.toUsers(userIds, event, ...args);
      if (userIds.length > 0) observe(event, args[0]);
    },
    async toUsersOnce(onceKey, userIds, event, ...args) {
      await inner.toUsersOnce(onceKey, userIds, event, ...args);
      if (userIds.length > 0) observe(event, args[0]);
    },
    leaveConversation: (userIds, conversationId) =>
      inner.leaveConversation(userIds, conversationId),
    disconnectSession: (sessionId) => inner.disconnectSession(sessionId),
  };
}
