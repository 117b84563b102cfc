import type {
  Channel,
  ChannelModel,
  ConsumeMessage,
  Message,
  MessagePropertyHeaders,
} from 'amqplib';
import { PublishNotConfirmedError, QueueUnavailableError } from './job-errors.js';
import { asError } from '../errors.js';
import type { Logger } from '../logger.js';
import { checkQueue, pingQueue, withChannel } from './rabbit/admin.js';
import { openRecoveringConnection } from './rabbit/connection.js';
import { JobConsumer, type ConsumeOptions, type JobHandler } from './rabbit/consumer.js';
import { ConfirmPublisher, copyOf, jsonMessage } from './rabbit/publisher.js';
import { freshAttemptHeaders, listParked, sweepParked, type ParkedJob } from './rabbit/parking.js';
import { Supervisor } from './rabbit/supervisor.js';
import { buildTopology, declareTopology, type Topology } from './rabbit/topology.js';
import type {
  ExchangeMessage,
  PublishManyResult,
  QueueDepth,
  QueueNames,
  QueueOps,
  Rabbit,
  RabbitOptions,
} from './rabbit/types.js';
import type { JobOutcome } from './rabbit/consumer.js';

export type { ConsumeOptions, JobDelivery, JobHandler, JobOutcome } from './rabbit/consumer.js';
export type { ParkedJob } from './rabbit/parking.js';
export type {
  ExchangeMessage,
  PublishManyResult,
  QueueDepth,
  QueueNames,
  QueueOps,
  Rabbit,
  RabbitOptions,
} from './rabbit/types.js';
export type { Topology };
export { queueNames } from './rabbit/topology.js';
export { deleteTopology } from './rabbit/admin.js';

/** What one (re)connection provides; the state holds it while connected. */
interface Live {
  readonly model: ChannelModel;
  readonly publisher: ConfirmPublisher;
}

/** The auto-message job queue, the default queue of a client. */
export const MAIN_QUEUE = 'message_sending_queue';

const DEFAULTS = {
  queue: MAIN_QUEUE,
  retryDelaysMs: [5_000, 30_000, 300_000],
  maxAttempts: 5,
  deliveryLimit: 20,
  publishWaitMs: 5_000,
};

export function createRabbit(options: RabbitOptions): Rabbit {
  return new RabbitClient(options);
}

/**
 * The job queue client. The connection's life cycle lives in `supervisor` (an explicit state
 * machine, see rabbit/lifecycle.ts); this class wires amqplib to it and offers publish, consume
 * and admin calls that read that state.
 */
class RabbitClient implements Rabbit {
  readonly queues: Rabbit['queues'];
  private readonly logger: Logger;
  private readonly topology: Topology;
  private readonly supervisor: Supervisor<Live>;
  private readonly publishWaitMs: number;
  private readonly pendingPublishes = new Set<Promise<unknown>>();
  /** The recovering connection handle: one per start, outlives every reconnect. */
  private connection: ChannelModel | null = null;
  /** Survives reconnects: re-attached by `setup` to each new connection. */
  private consumer: JobConsumer<never> | null = null;
  /** Shared by concurrent connect() calls; cleared when start-up fails so it can be retried. */
  private started: Promise<void> | null = null;
  /** close() is idempotent: every caller gets the first close. */
  private closed: Promise<void> | null = null;

  constructor(private readonly options: RabbitOptions) {
    this.logger = options.logger.child({ component: 'rabbit' });
    const name = options.queue ?? DEFAULTS.queue;
    const main = `${options.prefix ?? ''}${name}`;
    this.topology = buildTopology(
      main,
      options.retryDelaysMs ?? DEFAULTS.retryDelaysMs,
      options.deliveryLimit ?? DEFAULTS.deliveryLimit,
    );
    this.queues = {
      name,
      main,
      dead: this.topology.dead,
      retries: this.topology.retries.map((r) => r.name),
    };
    this.supervisor = new Supervisor<Live>(this.logger);
    this.publishWaitMs = options.publishWaitMs ?? DEFAULTS.publishWaitMs;
  }

  /** Resolves once topology and channels are up; later calls share the first start-up. */
  connect(): Promise<void> {
    if (this.closed !== null) return Promise.reject(new QueueUnavailableError('rabbit is closed'));
    this.started ??= this.start().catch((err: unknown) => {
      this.started = null;
      throw err;
    });
    return this.started;
  }

  private async start(): Promise<void> {
    this.supervisor.dispatch({ type: 'start' });
    const outcome = this.supervisor.whenStarted();
    try {
      this.connection = await openRecoveringConnection<Live>(
        this.options,
        (model) => this.setup(model),
        (event) => this.supervisor.dispatch(event),
        this.logger,
      );
    } catch (err) {
      this.supervisor.dispatch({ type: 'gave-up', error: asError(err) });
    }
    // close() ran before there was a handle to close.
    if (this.closed !== null) await this.connection?.close();
    try {
      await outcome;
    } catch (err) {
      this.connection = null;
      throw err;
    }
  }

  // Runs on every (re)connect, before the connection is handed out: topology, publisher, consumer.
  private async setup(model: ChannelModel): Promise<void> {
    model.on('error', (err: Error) => this.logger.warn({ err }, 'rabbit connection error'));
    const channel = await model.createConfirmChannel();
    this.watchChannel(model, channel, 'publisher', () => false);
    await declareTopology(channel, this.topology);
    if (this.options.declareExtra) await this.options.declareExtra(channel);
    if (this.consumer !== null) await this.attachConsumer(model, this.consumer);
    this.supervisor.dispatch({
      type: 'up',
      live: { model, publisher: new ConfirmPublisher(channel) },
    });
    this.logger.info({ queue: this.queues.main }, 'rabbit connected; topology declared');
  }

  /** A channel closing on a live connection (channel error) leaves it half-broken: recycle it. */
  private watchChannel(
    model: ChannelModel,
    channel: Channel,
    label: string,
    expected: () => boolean,
  ): void {
    channel.on('error', (err: Error) =>
      this.logger.warn({ err, channel: label }, 'rabbit channel error'),
    );
    channel.on('close', () => {
      if (expected() || this.supervisor.live?.model !== model) return;
      this.recycle(`${label} channel closed unexpectedly`);
    });
  }

  private attachConsumer(model: ChannelModel, consumer: JobConsumer<never>): Promise<void> {
    return consumer
      .attach(model)
      .then((channel) =>
        this.watchChannel(model, channel, 'consumer', () => this.consumer !== consumer),
      );
  }

  /** Drops the live connection; recovery reconnects and `setup` rebuilds everything. */
  private recycle(reason: string): void {
    if (this.supervisor.state.phase === 'closing') return; // close() is taking it down anyway
    const model = this.supervisor.live?.model;
    this.supervisor.dispatch({ type: 'down', reason });
    this.logger.warn({ reason }, 'rabbit recycling connection');
    model
      ?.close()
      .catch((err: unknown) => this.logger.debug({ err }, 'rabbit connection already closed'));
  }

  private track<R>(promise: Promise<R>): Promise<R> {
    this.pendingPublishes.add(promise);
    return promise.finally(() => this.pendingPublishes.delete(promise));
  }

  async publishMany<T>(
    payloads: readonly T[],
    opts: { messageIdOf?: (payload: T) => string } = {},
  ): Promise<PublishManyResult<T>> {
    const messages = payloads.map((payload) =>
      jsonMessage(this.queues.main, payload, opts.messageIdOf?.(payload)),
    );
    const { publisher } = await this.supervisor.whenPublishable(this.publishWaitMs);
    const outcomes = await this.track(publisher.publishAll(messages));
    const result: PublishManyResult<T> = { confirmed: [], failed: [] };
    payloads.forEach((payload, i) => {
      const error = outcomes[i] ?? null;
      if (error === null) result.confirmed.push(payload);
      else result.failed.push({ payload, error });
    });
    return result;
  }

  async publishToExchange(
    exchange: string,
    messages: readonly ExchangeMessage[],
  ): Promise<(Error | null)[]> {
    const { publisher } = await this.supervisor.whenPublishable(this.publishWaitMs);
    return this.track(
      publisher.publishAll(
        messages.map((m) => ({
          exchange,
          queue: m.routingKey,
          content: m.content,
          options: {
            messageId: m.messageId,
            contentType: 'application/json',
            ...(m.type !== undefined ? { type: m.type } : {}),
            ...(m.timestamp !== undefined ? { timestamp: m.timestamp } : {}),
          },
        })),
      ),
    );
  }

  async withChannel<R>(fn: (channel: Channel) => Promise<R>): Promise<R> {
    const { model } = await this.supervisor.whenPublishable(this.publishWaitMs);
    return withChannel(model, this.logger, fn);
  }

  private async republish(
    queue: string,
    msg: Message,
    headers: MessagePropertyHeaders,
  ): Promise<void> {
    const { publisher } = await this.supervisor.whenPublishable(this.publishWaitMs);
    const [outcome] = await this.track(publisher.publishAll([copyOf(queue, msg, headers)]));
    if (outcome)
      throw new PublishNotConfirmedError(
        `republish to ${queue} not confirmed: ${outcome.message}`,
        { cause: outcome },
      );
  }

  async consume<T>(handler: JobHandler<T>, consumeOptions: ConsumeOptions<T>): Promise<void> {
    if (this.consumer !== null) throw new Error('already consuming');
    const deps = {
      topology: this.topology,
      maxAttempts: this.options.maxAttempts ?? DEFAULTS.maxAttempts,
      logger: this.logger,
      republish: (queue: string, msg: ConsumeMessage, headers: MessagePropertyHeaders) =>
        this.republish(queue, msg, headers),
      onBrokerCancel: () => this.recycle('consumer cancelled by the broker'),
      onOutcome: (outcome: JobOutcome) => this.options.onJobOutcome?.(this.queues.name, outcome),
    };
    // JobConsumer<never> lets one slot hold any payload type; the handler only sees its own T.
    const consumer = new JobConsumer(
      handler,
      consumeOptions,
      deps,
    ) as unknown as JobConsumer<never>;
    const { model } = await this.supervisor.whenPublishable(this.publishWaitMs);
    this.consumer = consumer;
    await this.attachConsumer(model, consumer);
  }

  async stopConsuming(timeoutMs = 30_000): Promise<void> {
    const consumer = this.consumer;
    this.consumer = null;
    if (consumer !== null) await consumer.stop(timeoutMs);
  }

  async ping(timeoutMs = 2_000): Promise<boolean> {
    const live = this.supervisor.live;
    return live === null ? false : pingQueue(live.model, this.queues.main, timeoutMs, this.logger);
  }

  async queueStats(): Promise<{ main: QueueDepth; dead: QueueDepth }> {
    const { main, dead } = await this.queueOf(this.queues).queueStats();
    return { main: { ...main, unacknowledged: this.consumer?.inFlightCount ?? null }, dead };
  }

  parked(limit: number): Promise<ParkedJob[]> {
    return this.queueOf(this.queues).parked(limit);
  }

  requeueParked(ids?: readonly string[]): Promise<number> {
    return this.queueOf(this.queues).requeueParked(ids);
  }

  discardParked(ids?: readonly string[]): Promise<number> {
    return this.queueOf(this.queues).discardParked(ids);
  }

  queueOf({ main, dead }: QueueNames): QueueOps {
    // One channel per check: a 404 closes the channel it happened on.
    const depth = async (queue: string): Promise<QueueDepth> => ({
      ...(await this.withAdminChannel((ch) =>
        ifDeclared(checkQueue(ch, queue), { queue, ready: 0, consumers: 0 }),
      )),
      unacknowledged: null,
    });
    return {
      queueStats: async () => ({ main: await depth(main), dead: await depth(dead) }),
      parked: (limit) => this.withAdminChannel((ch) => ifDeclared(listParked(ch, dead, limit), [])),
      requeueParked: (ids) =>
        this.withAdminChannel((ch) =>
          ifDeclared(
            sweepParked(ch, dead, ids, (msg) =>
              this.republish(main, msg, freshAttemptHeaders(msg)),
            ),
            0,
          ),
        ),
      discardParked: (ids) =>
        this.withAdminChannel((ch) =>
          ifDeclared(
            sweepParked(ch, dead, ids, () => Promise.resolve()),
            0,
          ),
        ),
    };
  }

  private withAdminChannel<R>(fn: (channel: Channel) => Promise<R>): Promise<R> {
    const live = this.supervisor.live;
    if (live === null)
      return Promise.reject(new QueueUnavailableError('not connected to RabbitMQ'));
    return withChannel(live.model, this.logger, fn);
  }

  close(): Promise<void> {
    this.closed ??= this.closeAll();
    return this.closed;
  }

  // Every step runs even if an earlier one failed; failures are logged, close() itself never rejects.
  private async closeAll(): Promise<void> {
    this.supervisor.dispatch({ type: 'close' });
    const steps: [string, () => Promise<unknown>][] = [
      ['stop consumer', () => this.stopConsuming(10_000)],
      ['await pending publishes', () => Promise.allSettled([...this.pendingPublishes])],
      ['close connection', async () => this.connection?.close()],
    ];
    for (const [name, step] of steps) {
      await step().catch((err: unknown) =>
        this.logger.error({ err, step: name }, 'rabbit close step failed'),
      );
    }
    this.connection = null;
    this.supervisor.dispatch({ type: 'closed' });
  }
}

/** A queue no one has declared yet (404 NOT_FOUND) reads as `empty`; other failures stand. */
async function ifDeclared<R>(operation: Promise<R>, empty: R): Promise<R> {
  try {
    return await operation;
  } catch (err) {
    if ((err as { code?: unknown }).code === 404) return empty;
    throw err;
  }
}
