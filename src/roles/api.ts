import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config.js';
import type { AuthContext } from '../contracts/auth.js';
import { ownedQueues, type Infrastructure, type Services } from '../core.js';
import type { Logger } from '../logger.js';
import { buildHttpApp } from '../http/app.js';
import { answerMalformedRequests } from '../http/malformed-requests.js';
import { webRoutes } from '../http/web.js';
import { RateLimits, type Limit, type LimitKind } from '../infra/rate-limits.js';
import { withTimeout } from '../infra/redis.js';
import type { ErrorReporter } from '../infra/sentry.js';
import { authRoutes } from '../modules/auth/auth.routes.js';
import { AuthService } from '../modules/auth/auth.service.js';
import { SessionsRepository } from '../modules/auth/sessions.repository.js';
import { TokenService } from '../modules/auth/tokens.js';
import { adminRoutes } from '../modules/automessages/automessages.routes.js';
import { conversationRoutes } from '../modules/conversations/conversations.routes.js';
import { groupRoutes } from '../modules/conversations/groups.routes.js';
import { messageRoutes } from '../modules/messages/messages.routes.js';
import { messageChangeRoutes } from '../modules/messages/message-changes.routes.js';
import { PresenceService } from '../modules/presence/presence.service.js';
import type { Notifier } from '../contracts/socket.js';
import type { ParleyServer } from '../modules/realtime/notifiers.js';
import { attachGateway } from '../modules/realtime/socket.server.js';
import { recordAdminListing, resolveJwtSecrets } from '../modules/settings/deployment-settings.js';
import { taskRoutes } from '../modules/tasks/tasks.routes.js';
import { queueRoutes } from '../modules/queues/queues.routes.js';
import { QueuesService } from '../modules/queues/queues.service.js';
import { mediaRoutes } from '../modules/media/media.routes.js';
import { maintenanceRoutes } from '../modules/media/maintenance.routes.js';
import { searchRoutes } from '../modules/search/search.routes.js';
import { usersRoutes } from '../modules/users/users.routes.js';
import { UsersService } from '../modules/users/users.service.js';
import type { Shutdown } from '../shutdown.js';
import { webhookRoutes } from '../modules/webhooks/webhooks.routes.js';

export interface ApiHandles {
  url: string;
  presence: PresenceService;
}

/** REST + Socket.IO on one HTTP server (created by the caller, so the notifier can use its io). */
export async function startApi(
  config: Readonly<Config>,
  infra: Infrastructure,
  services: Services,
  web: { httpServer: Server; io: ParleyServer; notifier: Notifier },
  shutdown: Shutdown,
  logger: Logger,
  reportError?: ErrorReporter,
): Promise<ApiHandles> {
  const { repos } = services;
  const { httpServer, io, notifier } = web;
  const limits = new RateLimits(infra.redis, config);
  const secrets = await resolveJwtSecrets(config, repos.settings, logger);
  const rateLimit = (kind: LimitKind, key: string) => limits.consume(kind, key);
  const sessions = new SessionsRepository(infra.redis, config.REFRESH_TOKEN_TTL);
  const auth = new AuthService({
    users: repos.users,
    sessions,
    tokens: new TokenService(secrets.access, secrets.refresh, config.ACCESS_TOKEN_TTL),
    throttle: limits,
    adminListedAt: await recordAdminListing(config.ADMIN_EMAILS, repos.settings),
    userCache: services.userCache,
    onSessionRevoked: (sessionId) => Promise.resolve(notifier.disconnectSession(sessionId)),
  });
  const presence = new PresenceService(
    infra.instanceId,
    repos.presence,
    services.membership,
    repos.users,
    notifier,
    logger,
    { heartbeatMs: config.PRESENCE_HEARTBEAT_MS, staleMs: config.PRESENCE_STALE_MS },
  );

  // A request or socket event counts its limits and, when signed in, checks its session in the
  // same script call: one Redis command each.
  const admit = (ctx: AuthContext | null, list: readonly Limit[]) =>
    limits.consumeAll(
      list,
      ctx ? { session: sessions.accessProbe(ctx.tokenId, ctx.sessionId, ctx.userId) } : {},
    );
  const httpApp = buildHttpApp({
    logger,
    routes: [
      ...authRoutes(auth),
      ...usersRoutes(new UsersService(repos.users, repos.presence)),
      ...conversationRoutes(services.conversations, (userId) => rateLimit('groups', `u:${userId}`)),
      ...messageRoutes(services.messages),
      ...messageChangeRoutes(services.messageChanges),
      ...groupRoutes(services.groups),
      ...searchRoutes(services.search.service),
      ...taskRoutes(services.tasks),
      ...mediaRoutes(services.media),
      ...maintenanceRoutes({
        jobs: services.runner,
        maintenance: services.maintenance,
        stats: services.stats,
      }),
      ...webhookRoutes(services.webhooks),
      ...adminRoutes({ autoMessages: services.autoMessages, jobs: services.runner }),
      ...queueRoutes(new QueuesService(ownedQueues(config, infra, services.eventConsumers))),
    ],
    corsOrigins: config.CORS_ORIGINS,
    bodyLimit: config.BODY_LIMIT,
    trustProxy: config.TRUST_PROXY,
    verifyToken: (token) => auth.verifyToken(token),
    admit,
    requireAdmin: (ctx) => auth.requireAdmin(ctx),
    metrics: { registry: infra.metrics, token: config.METRICS_TOKEN },
    web: webRoutes(),
    ...(reportError ? { reportError } : {}),
    health: {
      live: () => Promise.resolve({ status: 'ok' }),
      ready: () =>
        readiness({
          mongo: () => infra.mongo.ping(),
          redis: () => infra.redis.ping(),
          rabbitmq: () => infra.rabbit.ping(),
        }),
    },
  });
  // Socket.IO attached to this server first and answers its own path (long-polling requests);
  // Express must not answer them too, or its 404 wins the race.
  const ioPrefix = `${io.path()}/`;
  httpServer.on('request', (req, res) => {
    if (!req.url?.startsWith(ioPrefix)) void httpApp(req, res);
  });
  answerMalformedRequests(httpServer);
  attachGateway(io, {
    logger,
    authenticate: (token) => auth.authenticate(token),
    presence,
    countHandshake: (ip) => rateLimit('handshake', `ip:${ip}`),
    trustProxy: config.TRUST_PROXY,
    notifier,
    conversations: services.conversations,
    messages: services.messages,
    admit,
  });
  await presence.start();
  shutdown.add('presence', async () => {
    presence.stop();
    await presence.leave();
  });
  await listen(httpServer, config.PORT, config.HOST);
  shutdown.add('http', () => closeIo(io, httpServer));
  const { port } = httpServer.address() as AddressInfo;
  logger.info(
    { url: `http://localhost:${port}`, instanceId: infra.instanceId },
    'Parley API listening',
  );
  return { url: `http://127.0.0.1:${port}`, presence };
}

const READINESS_TIMEOUT_MS = 1000;

async function readiness(checks: Record<string, () => Promise<boolean>>) {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      // A hung dependency (a partition: no answer, no error) must read as failing, not hang.
      const ok = await withTimeout(check(), READINESS_TIMEOUT_MS).catch(() => false);
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
