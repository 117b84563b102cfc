import type { Server as HttpServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Server } from 'socket.io';
import { HandshakeAuth, rooms } from '../../contracts/socket.js';
import type { Logger } from '../../logger.js';
import type { AuthContext } from '../../contracts/auth.js';
import type { RedisHandles } from '../../infra/redis.js';
import type { PresenceService } from '../presence/presence.service.js';
import { registerHandlers, type HandlerDeps } from './socket.handlers.js';
import { socketChannel, type ParleyServer } from './notifiers.js';

/** Largest frame a client may send: a 4000-character message, escaped, plus its envelope. */
const MAX_PAYLOAD_BYTES = 32 * 1024;

/** The Socket.IO server with the Redis adapter, so fan-out reaches every instance. */
export function createSocketServer(
  httpServer: HttpServer,
  options: { redis: RedisHandles; corsOrigins: readonly string[] },
): ParleyServer {
  const { corsOrigins, redis } = options;
  const io: ParleyServer = new Server(httpServer, {
    maxHttpBufferSize: MAX_PAYLOAD_BYTES,
    cors: { origin: [...corsOrigins], credentials: true },
    // Browsers do not apply CORS to WebSocket upgrades: check Origin on every handshake request.
    allowRequest: (req, callback) => {
      const origin = req.headers.origin;
      callback(null, origin === undefined || corsOrigins.includes(origin));
    },
  });
  io.adapter(createAdapter(redis.duplicate(), redis.duplicate(), { key: socketChannel(redis) }));
  return io;
}

export interface GatewayDeps extends HandlerDeps {
  logger: Logger;
  authenticate(token: string): Promise<AuthContext>;
  presence: PresenceService;
}

/** Authenticated handshake, personal and session rooms, presence, and the client events. */
export function attachGateway(io: ParleyServer, deps: GatewayDeps): void {
  io.use((socket, next) => {
    const fromAuth = HandshakeAuth.safeParse(socket.handshake.auth);
    const header = socket.handshake.headers.authorization;
    const token = fromAuth.success
      ? fromAuth.data.token
      : /^Bearer (\S+)$/i.exec(header ?? '')?.[1];
    if (!token) return next(new Error('unauthorized'));
    deps.authenticate(token).then(
      (auth) => {
        socket.data = { userId: auth.userId, sessionId: auth.sessionId };
        next();
      },
      () => next(new Error('unauthorized')),
    );
  });

  io.on('connection', (socket) => {
    const { userId, sessionId } = socket.data;
    const log = deps.logger.child({ socketId: socket.id, userId });
    // Handlers first and synchronously: events sent right after connecting must not be lost.
    registerHandlers(socket, deps, log);
    void socket.join([rooms.user(userId), rooms.session(sessionId)]);
    deps.presence
      .connected(userId)
      .catch((error: unknown) => log.error({ err: error }, 'presence connect failed'));
    socket.on('disconnect', () => {
      deps.presence
        .disconnected(userId)
        .catch((error: unknown) => log.error({ err: error }, 'presence disconnect failed'));
    });
  });
}
