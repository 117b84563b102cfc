import { createServer, type Server } from 'node:http';
import type { Config } from './config.js';
import type { Notifier } from './contracts/socket.js';
import type { Logger } from './logger.js';
import {
  buildServices,
  connectInfrastructure,
  type Infrastructure,
  type Services,
} from './core.js';
import type { ErrorReporter } from './infra/sentry.js';
import type { MongoHandles } from './infra/mongo.js';
import type { RedisHandles } from './infra/redis.js';
import type { PresenceService } from './modules/presence/presence.service.js';
import {
  createNotifier,
  observedNotifier,
  type ParleyServer,
} from './modules/realtime/notifiers.js';
import { createSocketServer } from './modules/realtime/socket.server.js';
import { startMetricsServer } from './infra/metrics-server.js';
import { startApi } from './roles/api.js';
import { startScheduler } from './roles/scheduler.js';
import { startWorker } from './roles/worker.js';
import { Shutdown } from './shutdown.js';

export interface Parley {
  config: Readonly<Config>;
  /** This process's id in presence bookkeeping. */
  instanceId: string;
  /** Base URL of the HTTP server once listening (api roles only). */
  url: string | null;
  /** Where this process serves GET /metrics, when it does. */
  metricsUrl: string | null;
  httpServer: Server | null;
  io: ParleyServer | null;
  /** Presence bookkeeping of this api instance (heartbeat + sweep of dead instances). */
  presence: PresenceService | null;
  mongo: MongoHandles;
  redis: RedisHandles;
  infra: Infrastructure;
  services: Services;
  /** Idempotent. Stops in a fixed order: accept nothing new, drain, then close connections. */
  stop(): Promise<void>;
}

/**
 * The composition root: builds every dependency from configuration and starts what the role
 * needs (`all` = api + worker + scheduler). Tests call this same function with their own config.
 */
export async function startParley(
  config: Readonly<Config>,
  logger: Logger,
  options: { reportError?: ErrorReporter } = {},
): Promise<Parley> {
  const shutdown = new Shutdown(logger);
  const role = config.ROLE;
  try {
    const infra = await connectInfrastructure(config, logger, shutdown);
    const httpServer = role === 'all' || role === 'api' ? createServer() : null;
    const io = httpServer
      ? createSocketServer(httpServer, {
          redis: infra.redis,
          corsOrigins: config.CORS_ORIGINS,
          trustProxy: config.TRUST_PROXY,
          logger,
        })
      : null;
    const { metrics } = infra;
    const notifier: Notifier = observedNotifier(createNotifier(infra.redis, io), {
      messageAnnounced: (type, createdAt) => {
        metrics.messages.inc({ type });
        metrics.messageFanout.observe(Math.max(0, Date.now() - Date.parse(createdAt)) / 1000);
      },
      taskChanged: (type, state) => metrics.tasks.inc({ type, state }),
    });
    if (io) metrics.countSocketsWith(() => io.engine.clientsCount);
    const services = await buildServices(config, infra, notifier, logger);
    shutdown.add('search', () => services.search.backend.close());

    if (role === 'all' || role === 'worker')
      await startWorker(config, infra, services, shutdown, logger);
    if (role === 'all' || role === 'scheduler') startScheduler(config, services, shutdown, logger);
    // The api serves /metrics on its own port; a worker or scheduler needs a server for it.
    const metricsServer =
      !httpServer && config.METRICS_PORT !== undefined
        ? await startMetricsServer(
            metrics,
            { port: config.METRICS_PORT, host: config.HOST, token: config.METRICS_TOKEN },
            logger,
          )
        : null;
    if (metricsServer) shutdown.add('metrics', () => metricsServer.close());
    const api =
      httpServer && io
        ? await startApi(
            config,
            infra,
            services,
            { httpServer, io, notifier },
            shutdown,
            logger,
            options.reportError,
          )
        : null;

    return {
      config,
      instanceId: infra.instanceId,
      url: api?.url ?? null,
      metricsUrl: api ? `${api.url}/metrics` : (metricsServer?.url ?? null),
      httpServer,
      io,
      presence: api?.presence ?? null,
      mongo: infra.mongo,
      redis: infra.redis,
      infra,
      services,
      stop: () => shutdown.run(),
    };
  } catch (error) {
    await shutdown.run();
    throw error;
  }
}
