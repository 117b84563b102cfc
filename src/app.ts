import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { buildHttpApp } from './http/app.js';
import type { RouteDef } from './http/route.js';
import { connectMongo, type MongoHandles } from './infra/mongo.js';
import { connectRedis, type RedisHandles } from './infra/redis.js';
import { RateLimits } from './infra/rate-limits.js';
import { authRoutes } from './modules/auth/auth.routes.js';
import { AuthService } from './modules/auth/auth.service.js';
import { SessionsRepository } from './modules/auth/sessions.repository.js';
import { TokenService } from './modules/auth/tokens.js';
import { PresenceRepository } from './modules/presence/presence.repository.js';
import { UsersRepository } from './modules/users/users.repository.js';
import { usersRoutes } from './modules/users/users.routes.js';
import { UsersService } from './modules/users/users.service.js';
import { Shutdown } from './shutdown.js';

export interface Parley {
  config: Readonly<Config>;
  /** Base URL of the HTTP server once listening (api roles only). */
  url: string | null;
  httpServer: Server | null;
  mongo: MongoHandles;
  redis: RedisHandles;
  stop(): Promise<void>;
}

/**
 * The composition root: builds every dependency from configuration and starts what the role
 * needs. Tests call this same function with their own config (port 0, unique prefixes).
 */
export async function startParley(config: Readonly<Config>, logger: Logger): Promise<Parley> {
  const shutdown = new Shutdown(logger);
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
    await users.ensureIndexes();
    const presence = new PresenceRepository(redis);
    const sessions = new SessionsRepository(redis, config.REFRESH_TOKEN_TTL);
    const tokens = new TokenService(config.JWT_ACCESS_SECRET, config.JWT_REFRESH_SECRET, config.ACCESS_TOKEN_TTL);
    const limits = new RateLimits(redis, config);
    const auth = new AuthService({
      users,
      sessions,
      tokens,
      throttle: limits,
      adminEmails: config.ADMIN_EMAILS,
      onSessionRevoked: async () => {},
    });

    let httpServer: Server | null = null;
    let url: string | null = null;
    if (config.ROLE === 'all' || config.ROLE === 'api') {
      const routes: RouteDef[] = [...authRoutes(auth), ...usersRoutes(new UsersService(users, presence))];
      const app = buildHttpApp({
        logger,
        routes,
        corsOrigins: config.CORS_ORIGINS,
        bodyLimit: config.BODY_LIMIT,
        trustProxy: config.TRUST_PROXY,
        authenticate: (token) => auth.authenticate(token),
        requireAdmin: (ctx) => auth.requireAdmin(ctx),
        rateLimit: (kind, key) => limits.consume(kind, key),
        health: {
          live: () => Promise.resolve({ status: 'ok' }),
          ready: () => readiness({ mongo: () => mongo.ping(), redis: () => redis.ping() }),
        },
      });
      const server = createServer(app);
      httpServer = server;
      await listen(server, config.PORT, config.HOST);
      shutdown.add('http', () => closeServer(server));
      const { port } = server.address() as AddressInfo;
      url = `http://127.0.0.1:${port}`;
      logger.info({ url: `http://localhost:${port}` }, 'Parley API listening');
    }

    return { config, url, httpServer, mongo, redis, stop: () => shutdown.run() };
  } catch (error) {
    await shutdown.run();
    throw error;
  }
}

async function readiness(checks: Record<string, () => Promise<boolean>>) {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        return [name, (await check()) ? 'ok' : 'failing'] as const;
      } catch {
        return [name, 'failing'] as const;
      }
    }),
  );
  const checksOut = Object.fromEntries(entries);
  return { ok: entries.every(([, state]) => state === 'ok'), checks: checksOut };
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

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
