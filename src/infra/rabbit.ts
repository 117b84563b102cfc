import { randomUUID } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import {
  connect as amqpConnect,
  type Channel,
  type ChannelModel,
  type ConsumeMessage,
  type MessagePropertyHeaders,
} from 'amqplib';
import { PublishNotConfirmedError, QueueUnavailableError } from './job-errors.js';
import { JobConsumer, type ConsumeOptions, type JobHandler } from './rabbit/consumer.js';
import { ConfirmPublisher, copyOf, jsonMessage } from './rabbit/publisher.js';
import { buildTopology, declareTopology, type Topology } from './rabbit/topology.js';
import { checkQueues, pingQueue } from './rabbit/admin.js';
import { recoveryOptions, withHeartbeat } from './rabbit/connection.js';
import type { PublishManyResult, QueueDepth, Rabbit, RabbitOptions } from './rabbit/types.js';

export type { ConsumeOptions, JobDelivery, JobHandler } from './rabbit/consumer.js';
export type { PublishManyResult, QueueDepth, Rabbit, RabbitOptions } from './rabbit/types.js';

interface Live {
  readonly model: ChannelModel;
  readonly publisher: ConfirmPublisher;
}

const DEFAULTS = {
  queue: 'message_sending_queue',
  retryDelaysMs: [5_000, 30_000, 300_000],
  maxAttempts: 5,
};

export function createRabbit(options: RabbitOptions): Rabbit {
  const logger = options.logger.child({ component: 'rabbit' });
  const main = `${options.prefix ?? ''}${options.queue ?? DEFAULTS.queue}`;
  const topology = buildTopology(
    main,
    options.retryDelaysMs ?? DEFAULTS.retryDelaysMs,
    options.deliveryLimit ?? 20,
  );
  const maxAttempts = options.maxAttempts ?? DEFAULTS.maxAttempts;
  const publishWaitMs = options.publishWaitMs ?? 5_000;
  // 'ready' after each successful (re)connect, 'failed' when start-up retries run out, 'closed'.
  const events = new EventEmitter();
  events.setMaxListeners(0); // every publish waiting out an outage listens for 'ready'
  const pendingPublishes = new Set<Promise<unknown>>();
  let connection: ChannelModel | null = null;
  let live: Live | null = null;
  let consumer: JobConsumer<never> | null = null;
  let closing: Promise<void> | null = null;
  let started: Promise<void> | null = null;

  async function waitForLive(timeoutMs: number): Promise<Live> {
    if (live !== null) return live;
    if (closing !== null) throw new QueueUnavailableError('rabbit is closed');
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), timeoutMs);
    try {
      await Promise.race([
        once(events, 'ready', { signal: stop.signal }),
        once(events, 'closed', { signal: stop.signal }),
      ]);
    } catch (err) {
      throw new QueueUnavailableError(`no RabbitMQ connection within ${timeoutMs} ms`, {
        cause: err,
      });
    } finally {
      clearTimeout(timer);
      stop.abort(); // drops the losing listener
    }
    if (live === null)
      throw new QueueUnavailableError('rabbit closed while waiting for a connection');
    return live;
  }

  /** A channel closing on a live connection (channel error) leaves us half-broken: recycle it all. */
  function watchChannel(
    model: ChannelModel,
    channel: Channel,
    label: string,
    expected: () => boolean,
  ): void {
    channel.on('error', (err: Error) =>
      logger.warn({ err, channel: label }, 'rabbit channel error'),
    );
    channel.on('close', () => {
      if (closing !== null || expected() || live?.model !== model) return;
      logger.warn({ channel: label }, 'rabbit channel closed unexpectedly; reconnecting');
      live = null;
      model
        .close()
        .catch((err: unknown) => logger.debug({ err }, 'rabbit connection already closed'));
    });
  }

  function attachConsumer(model: ChannelModel, c: JobConsumer<never>): Promise<void> {
    return c
      .attach(model)
      .then((channel) => watchChannel(model, channel, 'consumer', () => consumer !== c));
  }

  // Runs on every (re)connect, before the connection is handed out: topology, publisher, consumer.
  async function setup(model: ChannelModel): Promise<void> {
    model.on('error', (err: Error) => logger.warn({ err }, 'rabbit connection error'));
    const channel = await model.createConfirmChannel();
    watchChannel(model, channel, 'publisher', () => false);
    await declareTopology(channel, topology);
    if (consumer !== null) await attachConsumer(model, consumer);
    live = { model, publisher: new ConfirmPublisher(channel) };
    logger.info({ queue: main }, 'rabbit connected; topology declared');
    events.emit('ready');
  }

  /** Resolves once topology and channels are up; later calls share the first start-up. */
  function connect(): Promise<void> {
    if (closing !== null) return Promise.reject(new QueueUnavailableError('rabbit is closed'));
    started ??= openConnection().catch((err: unknown) => {
      started = null;
      throw err;
    });
    return started;
  }

  async function openConnection(): Promise<void> {
    const stop = new AbortController();
    const { signal } = stop;
    const outcome = Promise.race([
      once(events, 'ready', { signal }),
      once(events, 'failed', { signal }).then(([cause]: unknown[]) => {
        throw new QueueUnavailableError('could not connect to RabbitMQ', { cause });
      }),
      once(events, 'closed', { signal }).then(() => {
        throw new QueueUnavailableError('rabbit closed while connecting');
      }),
    ]);
    const conn = await amqpConnect(
      withHeartbeat(options.url, options.heartbeatSeconds ?? 30),
      recoveryOptions(options.reconnect ?? {}, setup),
    );
    connection = conn;
    listen(conn);
    if (closing !== null) await conn.close(); // close() ran before we had a handle to close
    try {
      await outcome;
    } catch (err) {
      connection = null;
      throw err;
    } finally {
      stop.abort(); // drops the listeners that lost the race
    }
  }

  function listen(conn: ChannelModel): void {
    conn.on('error', (err: Error) => logger.warn({ err }, 'rabbit connection error'));
    conn.on('disconnect', (err: Error) => {
      live = null;
      if (closing === null) logger.warn({ err: err.message }, 'rabbit disconnected; recovering');
    });
    conn.on('reconnect-scheduled', (info: { attempt: number; delay: number }) =>
      logger.debug(info, 'rabbit reconnect scheduled'),
    );
    conn.on('reconnect-failed', (err: Error) => {
      logger.error({ err }, 'rabbit gave up reconnecting');
      events.emit('failed', err);
    });
  }

  function track<R>(promise: Promise<R>): Promise<R> {
    pendingPublishes.add(promise);
    return promise.finally(() => pendingPublishes.delete(promise));
  }

  async function publishMany<T>(
    payloads: readonly T[],
    opts: { messageIdOf?: (payload: T) => string } = {},
  ): Promise<PublishManyResult<T>> {
    const messages = payloads.map((payload) =>
      jsonMessage(main, payload, opts.messageIdOf?.(payload)),
    );
    const { publisher } = await waitForLive(publishWaitMs);
    const outcomes = await track(publisher.publishAll(messages));
    const result: PublishManyResult<T> = { confirmed: [], failed: [] };
    payloads.forEach((payload, i) => {
      const error = outcomes[i] ?? null;
      if (error === null) result.confirmed.push(payload);
      else result.failed.push({ payload, error });
    });
    return result;
  }

  async function publish<T>(payload: T, opts: { messageId?: string } = {}): Promise<void> {
    const { failed } = await publishMany([payload], {
      messageIdOf: () => opts.messageId ?? randomUUID(),
    });
    const failure = failed[0];
    if (failure)
      throw new PublishNotConfirmedError(
        `publish to ${main} not confirmed: ${failure.error.message}`,
        { cause: failure.error },
      );
  }

  async function republish(
    queue: string,
    msg: ConsumeMessage,
    headers: MessagePropertyHeaders,
  ): Promise<void> {
    const { publisher } = await waitForLive(publishWaitMs);
    const [outcome] = await track(publisher.publishAll([copyOf(queue, msg, headers)]));
    if (outcome)
      throw new PublishNotConfirmedError(
        `republish to ${queue} not confirmed: ${outcome.message}`,
        { cause: outcome },
      );
  }

  async function consume<T>(
    handler: JobHandler<T>,
    consumeOptions: ConsumeOptions<T>,
  ): Promise<void> {
    if (consumer !== null) throw new Error('already consuming');
    const deps = {
      topology,
      maxAttempts,
      logger,
      republish,
      onBrokerCancel: () => recycle('consumer cancelled'),
    };
    // JobConsumer<never> lets one slot hold any payload type; the handler only sees its own T.
    const c = new JobConsumer(handler, consumeOptions, deps) as unknown as JobConsumer<never>;
    const { model } = await waitForLive(publishWaitMs);
    consumer = c;
    await attachConsumer(model, c);
  }

  function recycle(reason: string): void {
    const model = live?.model;
    live = null;
    logger.warn({ reason }, 'rabbit recycling connection');
    model
      ?.close()
      .catch((err: unknown) => logger.debug({ err }, 'rabbit connection already closed'));
  }

  async function stopConsuming(timeoutMs = 30_000): Promise<void> {
    const c = consumer;
    consumer = null;
    if (c !== null) await c.stop(timeoutMs);
  }

  function connected(): ChannelModel {
    if (live === null) throw new QueueUnavailableError('not connected to RabbitMQ');
    return live.model;
  }

  async function ping(timeoutMs = 2_000): Promise<boolean> {
    return live === null ? false : pingQueue(live.model, main, timeoutMs, logger);
  }

  async function queueStats(): Promise<{ main: QueueDepth; dead: QueueDepth }> {
    const [m, d] = await checkQueues(connected(), [main, topology.dead], logger);
    if (m === undefined || d === undefined) throw new Error('checkQueues returned too little');
    return {
      main: { ...m, unacknowledged: consumer?.inFlightCount ?? null },
      dead: { ...d, unacknowledged: null },
    };
  }

  function close(): Promise<void> {
    closing ??= closeAll();
    return closing;
  }

  // Every step runs even if an earlier one failed; failures are logged, close() itself never rejects.
  async function closeAll(): Promise<void> {
    const steps: [string, () => Promise<unknown>][] = [
      ['stop consumer', () => stopConsuming(10_000)],
      ['await pending publishes', () => Promise.allSettled([...pendingPublishes])],
      ['close connection', async () => connection?.close()],
    ];
    for (const [name, step] of steps) {
      await step().catch((err: unknown) =>
        logger.error({ err, step: name }, 'rabbit close step failed'),
      );
    }
    live = null;
    connection = null;
    events.emit('closed');
  }

  return {
    queues: { main, dead: topology.dead, retries: topology.retries.map((r) => r.name) },
    connect,
    close,
    isHealthy: () => live !== null && closing === null,
    ping,
    publish,
    publishMany,
    consume,
    stopConsuming,
    queueStats,
  };
}

export type { Topology };
