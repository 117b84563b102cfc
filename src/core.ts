import { randomUUID } from 'node:crypto';
import type { Config } from './config.js';
import type { Notifier } from './contracts/socket.js';
import type { Logger } from './logger.js';
import { connectMongo, type MongoHandles } from './infra/mongo.js';
import {
  createRabbit,
  deleteTopology,
  MAIN_QUEUE,
  queueNames,
  type QueueNames,
  type QueueOps,
  type Rabbit,
} from './infra/rabbit.js';
import { Metrics, type QueueSample } from './infra/metrics.js';
import {
  declareEventTopology,
  EventBus,
  eventBusNames,
  type EventBusNames,
} from './infra/event-bus.js';
import { OutboxSignal } from './modules/events/outbox.js';
import { OutboxRepository, RelayLeaseRepository } from './modules/events/outbox.repository.js';
import { EventRelay } from './modules/events/relay.js';
import { refreshBindings } from './roles/event-consumers.js';
import { consumerQueue, EventConsumers } from './modules/events/consumers.js';
import { LiveStatsRepository } from './modules/stats/live-stats.repository.js';
import { statsConsumer } from './modules/stats/stats.consumer.js';
import { WebhooksRepository } from './modules/webhooks/webhooks.repository.js';
import { WebhooksService } from './modules/webhooks/webhooks.service.js';
import { connectRedis, type RedisHandles } from './infra/redis.js';
import { errorMessage } from './errors.js';
import { StartupError, redactUrl } from './infra/startup-error.js';
import { JobRunner } from './jobs/job-runner.js';
import { JobRunsRepository } from './jobs/job-runs.repository.js';
import { AutoMessagesRepository } from './modules/automessages/automessages.repository.js';
import { AutoMessagesService } from './modules/automessages/automessages.service.js';
import { ConversationsRepository } from './modules/conversations/conversations.repository.js';
import { ConversationCaches } from './modules/conversations/conversation.caches.js';
import { ConversationsService } from './modules/conversations/conversations.service.js';
import { GroupsService } from './modules/conversations/groups.service.js';
import { GroupMembersRepository } from './modules/conversations/members.repository.js';
import { MembershipCache } from './modules/conversations/membership.cache.js';
import { MessageChangesRepository } from './modules/messages/message-changes.repository.js';
import { MessageChangesService } from './modules/messages/message-changes.service.js';
import { MessagesRepository } from './modules/messages/messages.repository.js';
import { MessagesService } from './modules/messages/messages.service.js';
import {
  createSearchService,
  searchIndexer,
  startSearchBackend,
} from './modules/search/search.module.js';
import { PresenceRepository } from './modules/presence/presence.repository.js';
import { SettingsRepository } from './modules/settings/settings.repository.js';
import { TaskRunner } from './modules/tasks/task-runner.js';
import { AttachmentsRepository } from './modules/media/attachments.repository.js';
import { buildMedia } from './modules/media/media.module.js';
import { StatsRepository } from './modules/stats/stats.repository.js';
import { StatsService } from './modules/stats/stats.service.js';
import { TasksRepository } from './modules/tasks/tasks.repository.js';
import { TasksService } from './modules/tasks/tasks.service.js';
import { bumpUserVersion, UserCache } from './modules/users/user.cache.js';
import { UsersRepository } from './modules/users/users.repository.js';
import type { Shutdown } from './shutdown.js';

/** Connections every role needs. Each is registered for shutdown as soon as it exists. */
export interface Infrastructure {
  instanceId: string;
  mongo: MongoHandles;
  redis: RedisHandles;
  rabbit: Rabbit;
  /** `media_processing_queue`: same retry and parking rules as the auto-message queue. */
  mediaQueue: Rabbit;
  /** This process's metrics (GET /metrics). */
  metrics: Metrics;
  /** `parley.events` and its log, on the main queue's connection. */
  events: EventBus;
}

export async function connectInfrastructure(
  config: Readonly<Config>,
  logger: Logger,
  shutdown: Shutdown,
): Promise<Infrastructure> {
  const metrics = new Metrics(config.ROLE, logger);
  const mongo = await connectMongo({
    uri: config.MONGODB_URI,
    dbName: config.MONGODB_DB,
    embeddedDir: config.EMBEDDED_MONGO_DIR,
    logger: logger.child({ component: 'mongo' }),
  });
  shutdown.add('mongo', () => mongo.close());
  const redis = await connectRedis(config.REDIS_URL, config.REDIS_KEY_PREFIX, logger);
  shutdown.add('redis', () => redis.close());
  const eventNames = eventBusNames(config.AMQP_QUEUE_PREFIX);
  const queue = (name?: string) =>
    createRabbit({
      url: config.AMQP_URL,
      logger,
      prefix: config.AMQP_QUEUE_PREFIX,
      retryDelaysMs: config.AUTO_MESSAGE_RETRY_DELAYS_MS,
      maxAttempts: config.AUTO_MESSAGE_MAX_ATTEMPTS,
      onJobOutcome: (queue, outcome) => metrics.queueJobs.inc({ queue, outcome }),
      ...(name
        ? { queue: name }
        : {
            declareExtra: (channel) =>
              declareEventTopology(channel, eventNames, config.EVENTS_RETENTION),
          }),
    });
  const rabbit = await connectQueue(queue(), config);
  shutdown.add('rabbit', () => rabbit.close());
  const mediaQueue = await connectQueue(queue(MEDIA_QUEUE), config);
  shutdown.add('media queue', () => mediaQueue.close());
  const events = new EventBus(rabbit, eventNames, logger.child({ component: 'events' }));
  return { instanceId: randomUUID(), mongo, redis, rabbit, mediaQueue, metrics, events };
}

/** The metrics' queue gauges: every owned queue, consumer queues included (ownedQueues). */
async function sampleQueues(
  queues: readonly { name: string; queue: QueueOps }[],
): Promise<QueueSample[]> {
  return Promise.all(
    queues.map(async ({ name, queue }) => {
      const { main, dead } = await queue.queueStats();
      return { queue: name, ready: main.ready, parked: dead.ready, consumers: main.consumers };
    }),
  );
}

export const MEDIA_QUEUE = 'media_processing_queue';

/**
 * Every event consumer's name. `eventConsumers.register` refuses any other, so queue names can be
 * derived from this list where services are not built (test and bench cleanup).
 * `search-indexer` is registered by the search module (issue 15).
 */
export const EVENT_CONSUMER_NAMES = ['stats', 'webhooks', 'search-indexer'] as const;

/**
 * Everything Parley declares on RabbitMQ under AMQP_QUEUE_PREFIX: the job queues, each event
 * consumer's queue (each with its parking and retry queues), and the event bus. The admin
 * listing, the metrics and the test and bench cleanups all take their names from here.
 */
export function ownedQueueNames(
  config: Pick<Config, 'AMQP_QUEUE_PREFIX' | 'AUTO_MESSAGE_RETRY_DELAYS_MS'>,
  consumers: readonly string[] = EVENT_CONSUMER_NAMES,
): { queues: QueueNames[]; events: EventBusNames } {
  const { AMQP_QUEUE_PREFIX: prefix, AUTO_MESSAGE_RETRY_DELAYS_MS: delays } = config;
  return {
    queues: [MAIN_QUEUE, MEDIA_QUEUE, ...consumers.map(consumerQueue)].map((name) =>
      queueNames(prefix, name, delays),
    ),
    events: eventBusNames(prefix),
  };
}

/**
 * Deletes everything `ownedQueueNames` names, with a connection of its own: for throwaway
 * prefixes only (tests and bench runs clean up with it).
 */
export async function deleteOwnedQueues(
  config: Pick<Config, 'AMQP_URL' | 'AMQP_QUEUE_PREFIX' | 'AUTO_MESSAGE_RETRY_DELAYS_MS'>,
): Promise<void> {
  if (config.AMQP_QUEUE_PREFIX === '') throw new Error('refusing to delete unprefixed queues');
  const { queues, events } = ownedQueueNames(config);
  await deleteTopology(config.AMQP_URL, {
    queues: [...queues.flatMap((q) => [q.main, q.dead, ...q.retries]), events.log],
    exchanges: [events.exchange],
  });
}

/**
 * The owned queues with their depth and parking calls: the job queues through their own clients,
 * the registered consumers' queues through the main connection (any role can list them).
 */
export function ownedQueues(
  config: Readonly<Config>,
  infra: Pick<Infrastructure, 'rabbit' | 'mediaQueue'>,
  consumers: EventConsumers,
): { name: string; queue: QueueOps }[] {
  const clients = [infra.rabbit, infra.mediaQueue];
  const { queues } = ownedQueueNames(
    config,
    consumers.all.map((c) => c.name),
  );
  return queues.map((names) => ({
    name: names.name,
    queue: clients.find((c) => c.queues.name === names.name) ?? infra.rabbit.queueOf(names),
  }));
}

async function connectQueue(rabbit: Rabbit, config: Readonly<Config>): Promise<Rabbit> {
  try {
    await rabbit.connect();
    return rabbit;
  } catch (error) {
    await rabbit.close();
    throw new StartupError(
      `Cannot reach RabbitMQ at ${config.AMQP_URL.split(',').map(redactUrl).join(',')}: ${errorMessage(error)}`,
      { cause: error },
    );
  }
}

/** Repositories and services, the same in every role; only the notifier differs. */
export async function buildServices(
  config: Readonly<Config>,
  infra: Infrastructure,
  notifier: Notifier,
  logger: Logger,
) {
  const db = infra.mongo.db;
  // Every repository that stores events wakes the local relay right after the write.
  const outbox = new OutboxSignal();
  const { written } = outbox;
  const userCache = new UserCache(infra.redis, logger);
  const repos = {
    users: new UsersRepository(db, written, (userId) => bumpUserVersion(infra.redis, userId)),
    conversations: new ConversationsRepository(db, written),
    groupMembers: new GroupMembersRepository(db, written),
    messages: new MessagesRepository(db, written),
    messageChanges: new MessageChangesRepository(db, written),
    autoMessages: new AutoMessagesRepository(db, written),
    jobRuns: new JobRunsRepository(db, config.JOB_LEASE_MS),
    presence: new PresenceRepository(infra.redis),
    settings: new SettingsRepository(db),
    tasks: new TasksRepository(db, written),
    attachments: new AttachmentsRepository(db, written),
    outbox: new OutboxRepository(db),
    relayLease: new RelayLeaseRepository(db),
    webhooks: new WebhooksRepository(db),
    stats: new StatsRepository(db),
  };
  await Promise.all([
    repos.users.ensureIndexes(),
    repos.conversations.ensureIndexes(),
    repos.messages.ensureIndexes(),
    repos.autoMessages.ensureIndexes(),
    repos.jobRuns.ensureIndexes(),
    repos.tasks.ensureIndexes(),
    repos.attachments.ensureIndexes(),
    repos.webhooks.ensureIndexes(),
  ]);
  const searchBackend = await startSearchBackend(config, db);
  const membership = new MembershipCache(infra.redis, repos.conversations, logger);
  const conversations = new ConversationsService(
    repos.conversations,
    repos.messages,
    // Participants' profiles in lists, from this process when their version still matches.
    {
      findSummaries: (ids) => userCache.getMany(ids, (missing) => repos.users.findByIds(missing)),
    },
    repos.presence,
    membership,
    new ConversationCaches(infra.redis, logger),
  );
  const tasks = new TasksService(
    repos.tasks,
    notifier,
    async (userId) => (await repos.users.findById(userId))?.role === 'admin',
    { retentionMs: config.TASK_RETENTION * 1000 },
  );
  const taskRunner = new TaskRunner(repos.tasks, tasks, logger, {
    retentionMs: config.TASK_RETENTION * 1000,
  });
  const media = await buildMedia(config, infra, repos, { tasks, taskRunner, membership }, logger);
  const messages = new MessagesService(
    repos.messages,
    repos.conversations,
    conversations,
    notifier,
    media.media,
  );
  const messageChanges = new MessageChangesService(
    repos.messages,
    repos.messageChanges,
    repos.conversations,
    conversations,
    notifier,
    media.media,
  );
  const groups = new GroupsService(
    repos.conversations,
    repos.groupMembers,
    conversations,
    messages,
    repos.users,
    membership,
    notifier,
  );
  const search = {
    backend: searchBackend,
    service: createSearchService(searchBackend, {
      messages: repos.messages,
      conversations: repos.conversations,
      conversationsService: conversations,
    }),
  };
  const runner = new JobRunner(repos.jobRuns, logger, (job, outcome) =>
    infra.metrics.jobRuns.inc({ job, outcome }),
  );
  const autoMessages = new AutoMessagesService(
    repos.autoMessages,
    repos.users,
    messages,
    {
      publishMany: (jobs) =>
        infra.rabbit.publishMany(jobs, { messageIdOf: (job) => job.autoMessageId }),
    },
    runner,
    logger,
    { claimTimeoutMs: config.AUTO_MESSAGE_CLAIM_TIMEOUT_MS },
  );
  const relay = new EventRelay(
    repos.outbox,
    repos.relayLease,
    infra.events,
    {
      batchSize: config.EVENTS_RELAY_BATCH,
      pollMs: config.EVENTS_RELAY_POLL_MS,
      leaseMs: config.EVENTS_RELAY_LEASE_MS,
    },
    logger.child({ component: 'event-relay' }),
    (events) => {
      for (const event of events) infra.metrics.eventsPublished.inc({ type: event.type });
    },
  );
  // Event consumers (worker role); other modules register theirs here too.
  const eventConsumers = new EventConsumers(EVENT_CONSUMER_NAMES);
  const liveStats = new LiveStatsRepository(infra.redis);
  const statsCounting = statsConsumer(liveStats);
  eventConsumers.register(statsCounting);
  const statsQueue = infra.rabbit.queueOf(
    queueNames(
      config.AMQP_QUEUE_PREFIX,
      consumerQueue(statsCounting.name),
      config.AUTO_MESSAGE_RETRY_DELAYS_MS,
    ),
  );
  const webhooks: WebhooksService = new WebhooksService(
    repos.webhooks,
    repos.messages,
    config.webhookAllowPrivate,
    {
      refresh: (stale): Promise<void> =>
        refreshBindings(config, infra.events.names, webhooks.consumer(), stale, logger),
    },
  );
  eventConsumers.register(webhooks.consumer());
  const indexer = searchIndexer(searchBackend, repos.messages);
  if (indexer) eventConsumers.register(indexer);
  infra.metrics.sampleQueuesWith(() => sampleQueues(ownedQueues(config, infra, eventConsumers)));
  return {
    repos,
    outbox,
    relay,
    eventConsumers,
    liveStats,
    webhooks,
    tasks,
    taskRunner,
    ...media,
    stats: new StatsService(repos.stats, {
      hour: (hour) => liveStats.hour(hour),
      running: async () => (await statsQueue.queueStats()).main.consumers > 0,
    }),
    membership,
    userCache,
    conversations,
    groups,
    messages,
    messageChanges,
    search,
    runner,
    autoMessages,
  };
}

export type Services = Awaited<ReturnType<typeof buildServices>>;
