import type { Server as HttpServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Server } from 'socket.io';
import { HandshakeAuth, rooms } from '../../contracts/socket.js';
import { isAppError } from '../../errors.js';
import { originAllowed } from '../../http/origin.js';
import type { Logger } from '../../logger.js';
import type { RedisHandles } from '../../infra/redis.js';
import type { PresenceService } from '../presence/presence.service.js';
import {
  createHandlers,
  socketLogger,
  type HandlerDeps,
  type ParleySocket,
} from './socket.handlers.js';
import { socketChannel, type ParleyServer } from './notifiers.js';

/** Largest frame a client may send: a 4000-character message, escaped, plus its envelope. */
const MAX_PAYLOAD_BYTES = 32 * 1024;

/** The Socket.IO server with the Redis adapter, so fan-out reaches every instance. */
export function createSocketServer(
  httpServer: HttpServer,
  options: {
    redis: RedisHandles;
    corsOrigins: readonly string[];
    /** Proxy hops to trust (TRUST_PROXY): behind one, its X-Forwarded-Host/-Proto name our origin. */
    trustProxy: number;
    logger: Logger;
  },
): ParleyServer {
  const { corsOrigins, redis, logger } = options;
  const io: ParleyServer = new Server(httpServer, {
    maxHttpBufferSize: MAX_PAYLOAD_BYTES,
    cors: { origin: [...corsOrigins], credentials: true },
    // Browsers do not apply CORS to WebSocket upgrades: check Origin on every handshake request
    // (polling and upgrade alike). Same-origin and Origin-less clients pass; see originAllowed.
    allowRequest: (req, callback) =>
      callback(null, originAllowed(req, corsOrigins, options.trustProxy)),
  });
  io.adapter(
    createAdapter(guardedPublisher(redis, logger), resyncingSubscriber(io, redis, logger), {
      key: socketChannel(redis),
    }),
  );
  return io;
}

/**
 * The adapter's subscribing connection. Whatever was published while it was away is gone (Redis
 * pub/sub keeps nothing), so the sockets of this instance may have missed messages, receipts and
 * presence, and a restarted Redis lost their presence too. When it is back, they are
 * disconnected: clients reconnect, re-register and catch up with `/api/sync`, instead of
 * silently staying behind.
 */
function resyncingSubscriber(io: ParleyServer, redis: RedisHandles, logger: Logger) {
  const client = redis.duplicate();
  let interrupted = false;
  client.on('close', () => (interrupted = true));
  client.on('ready', () => {
    if (!interrupted) return;
    interrupted = false;
    const sockets = io.of('/').sockets.size;
    logger.warn({ sockets }, 'socket fan-out resumed after a Redis outage: reconnecting clients');
    // Closing the transport (not a Socket.IO disconnect, which tells clients to stay away) makes
    // clients reconnect on their own.
    for (const socket of io.of('/').sockets.values()) socket.conn.close();
  });
  return client;
}

/**
 * The adapter's publishing connection. The adapter fires PUBLISH without awaiting it; during a
 * Redis outage each one rejects, and an unhandled rejection must not take the process down.
 * The failure is logged (the broadcast is lost, as any fan-out is while Redis is away).
 */
function guardedPublisher(redis: RedisHandles, logger: Logger) {
  const client = redis.duplicate();
  const publish = client.publish.bind(client) as (...args: unknown[]) => Promise<number>;
  const guarded = (...args: unknown[]) => {
    const sent = publish(...args);
    sent.catch((error: unknown) => logger.warn({ err: error }, 'socket fan-out publish failed'));
    return sent;
  };
  client.publish = guarded;
  return client;
}

export interface GatewayDeps extends HandlerDeps {
  logger: Logger;
  presence: PresenceService;
  /** Counts one handshake for a client address; throws rate_limited over the limit. */
  countHandshake(ip: string): Promise<void>;
  /** Proxy hops to trust for the client address (TRUST_PROXY, as Express's `trust proxy`). */
  trustProxy: number;
}

/**
 * The client address as Express computes it with a numeric `trust proxy`: the remote address,
 * or the entry `hops` steps back in X-Forwarded-For when that many proxies are trusted.
 */
export function clientAddress(
  remote: string,
  forwardedFor: string | string[] | undefined,
  hops: number,
): string {
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? '');
  const forwarded = header
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean)
    .reverse();
  const chain = [remote, ...forwarded];
  return chain[Math.min(hops, chain.length - 1)] ?? remote;
}

/** Authenticated handshake, personal and session rooms, presence, and the client events. */
export function attachGateway(io: ParleyServer, deps: GatewayDeps): void {
  // Handshakes cost a token check and a presence write: limited per client address first.
  io.use((socket, next) => {
    const { address, headers } = socket.handshake;
    const ip = clientAddress(address, headers['x-forwarded-for'], deps.trustProxy);
    deps.countHandshake(ip).then(
      () => next(),
      (error: unknown) => next(new Error(isAppError(error) ? error.code : 'unavailable')),
    );
  });
  io.use((socket, next) => {
    const fromAuth = HandshakeAuth.safeParse(socket.handshake.auth);
    const header = socket.handshake.headers.authorization;
    const token = fromAuth.success
      ? fromAuth.data.token
      : /^Bearer (\S+)$/i.exec(header ?? '')?.[1];
    if (!token) return next(new Error('unauthorized'));
    deps.authenticate(token).then(
      (auth) => {
        socket.data = auth;
        next();
      },
      () => next(new Error('unauthorized')),
    );
  });

  const handlers = createHandlers(deps, deps.logger);
  // Shared by every socket (called with it as `this`): a connection adds no closures of its own.
  function disconnected(this: ParleySocket) {
    deps.presence
      .disconnected(this.data.userId)
      .catch((error: unknown) =>
        socketLogger(deps.logger, this).error({ err: error }, 'presence disconnect failed'),
      );
  }
  io.on('connection', (socket) => {
    const { userId, sessionId } = socket.data;
    // Handlers first and synchronously: events sent right after connecting must not be lost.
    handlers.attach(socket);
    void socket.join([rooms.user(userId), rooms.session(sessionId)]);
    deps.presence
      .connected(userId)
      .catch((error: unknown) =>
        socketLogger(deps.logger, socket).error({ err: error }, 'presence connect failed'),
      );
    socket.on('disconnect', disconnected);
  });
}
