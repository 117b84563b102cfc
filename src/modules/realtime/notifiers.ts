import type { Emitter } from '@socket.io/redis-emitter';
import type { Server } from 'socket.io';
import {
  rooms,
  type ClientToServerEvents,
  type InterServerEvents,
  type Notifier,
  type ServerToClientEvents,
  type SocketData,
} from '../../contracts/socket.js';

export type ParleyServer = Server<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;

/**
 * Both notifiers publish through the Socket.IO Redis adapter's channel, so a member's sockets
 * get the event whichever instance they are on. Personal rooms make it once per socket.
 */
export function ioNotifier(io: ParleyServer): Notifier {
  return {
    toUsers(userIds, event, ...args) {
      if (userIds.length === 0) return;
      io.to(userIds.map(rooms.user)).emit(event, ...args);
    },
    disconnectSession(sessionId) {
      io.in(rooms.session(sessionId)).disconnectSockets(true);
    },
  };
}

/** For processes without sockets (the worker): the Redis emitter. */
export function emitterNotifier(emitter: Emitter<ServerToClientEvents>): Notifier {
  return {
    toUsers(userIds, event, ...args) {
      if (userIds.length === 0) return;
      emitter.to(userIds.map(rooms.user)).emit(event, ...args);
    },
    disconnectSession(sessionId) {
      emitter.in(rooms.session(sessionId)).disconnectSockets(true);
    },
  };
}
