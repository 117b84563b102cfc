import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Emitter } from '@socket.io/redis-emitter';
import type { Config } from './config.js';
import type { Notifier, ServerToClientEvents } from './contracts/socket.js';
import type { Logger } from './logger.js';
import { buildHttpApp } from './http/app.js';
import { connectMongo, type MongoHandles } from './infra/mongo.js';
import { connectRedis, type RedisHandles } from './infra/redis.js';
import { RateLimits } from './infra/rate-limits.js';
import type { ErrorReporter } from './infra/sentry.js';
import { authRoutes } from './modules/auth/auth.routes.js';
import { AuthService } from './modules/auth/auth.service.js';
import { SessionsRepository } from './modules/auth/sessions.repository.js';
import { TokenService } from './modules/auth/tokens.js';
import { ConversationsRepository } from './modules/conversations/conversations.repository.js';
import { conversationRoutes } from './modules/conversations/conversations.routes.js';
import { ConversationsService } from './modules/conversations/conversations.service.js';
import { MembershipCache } from './modules/conversations/membership.cache.js';
import { MessagesRepository } from './modules/messages/messages.repository.js';
import { MessagesService } from './modules/messages/messages.service.js';
import { PresenceRepository } from './modules/presence/presence.repository.js';
import { PresenceService } from './modules/presence/presence.service.js';
import { emitterNotifier, ioNotifier, type ParleyServer } from './modules/realtime/notifiers.js';
import {
  attachGateway,
  createSocketServer,
  socketChannel,
} from './modules/realtime/socket.server.js';
import { UsersRepository } from './modules/users/users.repository.js';
import { usersRoutes } from './modules/users/users.routes.js';
import { UsersService } from './modules/users/users.service.js';
import { Shutdown } from './shutdown.js';

export interface Parley {
  config: Readonly<Config>;
  /** This process's id in presence bookkeeping. */
  instanceId: string;
  /** Base URL of the HTTP server once listening (api roles only). */
  url: string | null;
  httpServer: Server | null;
  io: ParleyServer | null;
  /** Presence bookkeeping of this api instance (heartbeat + sweep of dead instances). */
  presence: PresenceService | null;
  mongo: MongoHandles;
  redis: RedisHandles;
  stop(): Promise<void>;
}

/**
 * The composition root: builds every dependency from configuration and starts what the role
 * needs. Tests call this same function with their own config (port 0, unique prefixes).
 */
export async function startParley(
  config: Readonly<Config>,
  logger: Logger,
  options: { reportError?: ErrorReporter } = {},
): Promise<Parley> {
  const shutdown = new Shutdown(logger);
  const instanceId = randomUUID();
  const serves = config.ROLE === 'all' || config.ROLE === 'api';
  try {
    const mongo = await connectMongo({
      uri: config.MONGODB_URI,
      dbName: config.MONGODB_DB,
      embeddedDir: config.EMBEDDED_MONGO_DIR,
      logger: logger.child({ component: 'mongo' }),
    });
    shutdown.add('mongo', () => mongo.close());
    const redis = await connectRedis(config.REDIS_URL, config.REDIS_KEY_PREFIX, logger);
    shutdown.add('redis', () => redis.close());

    const users = new UsersRepository(mongo.db);
    const conversations = new ConversationsRepository(mongo.db);
    const messages = new MessagesRepository(mongo.db);
    await Promise.all([
      users.ensureIndexes(),
      conversations.ensureIndexes(),
      messages.ensureIndexes(),
    ]);
    const presenceStore = new PresenceRepository(redis);
    const membership = new MembershipCache(redis, conversations, logger);

    const httpServer = serves ? createServer() : null;
    const io = httpServer
      ? createSocketServer(httpServer, { redis, corsOrigins: config.CORS_ORIGINS })
      : null;
    const notifier: Notifier = io
      ? ioNotifier(io)
      : emitterNotifier(
          new Emitter<ServerToClientEvents>(redis.client, { key: socketChannel(redis) }),
        );

    const conversationsService = new ConversationsService(
      conversations,
      messages,
      users,
      presenceStore,
      membership,
    );
    const messagesService = new MessagesService(
      messages,
      conversations,
      conversationsService,
      notifier,
    );

    let url: string | null = null;
    let presence: PresenceService | null = null;
    if (httpServer && io) {
      const limits = new RateLimits(redis, config);
      const auth = new AuthService({
        users,
        sessions: new SessionsRepository(redis, config.REFRESH_TOKEN_TTL),
        tokens: new TokenService(
          config.JWT_ACCESS_SECRET,
          config.JWT_REFRESH_SECRET,
          config.ACCESS_TOKEN_TTL,
        ),
        throttle: limits,
        adminEmails: config.ADMIN_EMAILS,
        onSessionRevoked: (sessionId) => Promise.resolve(notifier.disconnectSession(sessionId)),
      });
      presence = new PresenceService(
        instanceId,
        presenceStore,
        membership,
        users,
        notifier,
        logger,
      );
      const rateLimit = (kind: Parameters<RateLimits['consume']>[0], key: string) =>
        limits.consume(kind, key);

      httpServer.on(
        'request',
        buildHttpApp({
          logger,
          routes: [
            ...authRoutes(auth),
            ...usersRoutes(new UsersService(users, presenceStore)),
            ...conversationRoutes(conversationsService, messagesService),
          ],
          corsOrigins: config.CORS_ORIGINS,
          bodyLimit: config.BODY_LIMIT,
          trustProxy: config.TRUST_PROXY,
          authenticate: (token) => auth.authenticate(token),
          requireAdmin: (ctx) => auth.requireAdmin(ctx),
          rateLimit,
          ...(options.reportError ? { reportError: options.reportError } : {}),
          health: {
            live: () => Promise.resolve({ status: 'ok' }),
            ready: () => readiness({ mongo: () => mongo.ping(), redis: () => redis.ping() }),
          },
        }),
      );
      attachGateway(io, {
        logger,
        authenticate: (token) => auth.authenticate(token),
        presence,
        notifier,
        conversations: conversationsService,
        messages: messagesService,
        rateLimit,
      });
      await presence.start();
      const started = presence;
      shutdown.add('presence', async () => {
        started.stop();
        await started.leave();
      });
      await listen(httpServer, config.PORT, config.HOST);
      shutdown.add('http', () => closeIo(io, httpServer));
      const { port } = httpServer.address() as AddressInfo;
      url = `http://127.0.0.1:${port}`;
      logger.info({ url: `http://localhost:${port}`, instanceId }, 'Parley API listening');
    }

    return {
      config,
      instanceId,
      url,
      httpServer,
      io,
      presence,
      mongo,
      redis,
      stop: () => shutdown.run(),
    };
  } catch (error) {
    await shutdown.run();
    throw error;
  }
}

async function readiness(checks: Record<string, () => Promise<boolean>>) {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      const ok = await check().catch(() => false);
      return [name, ok ? 'ok' : 'failing'] as const;
    }),
  );
  return { ok: entries.every(([, state]) => state === 'ok'), checks: Object.fromEntries(entries) };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Stops accepting, disconnects sockets (clients reconnect elsewhere), lets requests finish. */
function closeIo(io: ParleyServer, server: Server): Promise<void> {
  return new Promise((resolve) => {
    void io.close(() => resolve());
    server.closeIdleConnections();
  });
}
