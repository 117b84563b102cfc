import type { Channel } from 'amqplib';
import type { Config } from '../config.js';
import { DomainEvent } from '../contracts/events.js';
import type { EventBusNames } from '../infra/event-bus.js';
import { createRabbit, type JobDelivery, type Rabbit } from '../infra/rabbit.js';
import type { Logger } from '../logger.js';
import { consumerQueue, type EventConsumer } from '../modules/events/consumers.js';
import type { Shutdown } from '../shutdown.js';

/**
 * Each event consumer gets the job-queue client of SPEC §6 (quorum queue with x-delivery-limit,
 * retry queues with backoff, a parking queue) on its own connection, with its queue bound to
 * the events exchange by its keys.
 */
export function consumerRabbit(
  config: Readonly<Config>,
  names: EventBusNames,
  consumer: Bindable,
  logger: Logger,
  options: { stale?: readonly string[]; startupRetries?: number } = {},
): Rabbit {
  const queue = `${config.AMQP_QUEUE_PREFIX}${consumerQueue(consumer.name)}`;
  // Before its keys followed data, a consumer with `dataKeys` was bound with `#`.
  const stale = options.stale ?? (consumer.dataKeys ? ['#'] : []);
  return createRabbit({
    url: config.AMQP_URL,
    logger: logger.child({ consumer: consumer.name }),
    prefix: config.AMQP_QUEUE_PREFIX,
    queue: consumerQueue(consumer.name),
    retryDelaysMs: config.AUTO_MESSAGE_RETRY_DELAYS_MS,
    maxAttempts: config.AUTO_MESSAGE_MAX_ATTEMPTS,
    ...(options.startupRetries === undefined
      ? {}
      : { reconnect: { startupRetries: options.startupRetries } }),
    declareExtra: (channel) => syncBindings(channel, names.exchange, queue, consumer, stale),
  });
}

type Bindable = Pick<EventConsumer, 'name' | 'keys' | 'dataKeys'>;

async function wantedKeys(consumer: Bindable): Promise<Set<string>> {
  return new Set([...consumer.keys, ...((await consumer.dataKeys?.()) ?? [])]);
}

/**
 * Unbinds the `stale` keys the consumer no longer wants, then binds every key it wants, read
 * again after the unbinds. A key someone else adds meanwhile is either in that second read or
 * bound by them after our unbind (they bind after writing it), so none goes missing; a key
 * removed meanwhile may stay bound, which only costs deliveries the consumer ignores.
 */
async function syncBindings(
  channel: Channel,
  exchange: string,
  queue: string,
  consumer: Bindable,
  stale: readonly string[],
): Promise<void> {
  await channel.assertExchange(exchange, 'topic', { durable: true });
  if (stale.length > 0) {
    const wanted = await wantedKeys(consumer);
    for (const key of stale) if (!wanted.has(key)) await channel.unbindQueue(queue, exchange, key);
  }
  for (const key of await wantedKeys(consumer)) await channel.bindQueue(queue, exchange, key);
}

/**
 * After a change to a consumer's `dataKeys` (a webhook registered or removed): declares its
 * queue if no worker has yet, unbinds `stale` keys no longer wanted and binds the wanted ones,
 * on a short-lived connection of its own.
 */
export async function refreshBindings(
  config: Readonly<Config>,
  names: EventBusNames,
  consumer: Bindable,
  stale: readonly string[],
  logger: Logger,
): Promise<void> {
  const rabbit = consumerRabbit(config, names, consumer, logger, { stale, startupRetries: 1 });
  try {
    await rabbit.connect();
  } finally {
    await rabbit.close();
  }
}

/** Worker role: every registered consumer on its queue, stopped (drained) at shutdown. */
export async function startEventConsumers(
  config: Readonly<Config>,
  names: EventBusNames,
  consumers: readonly EventConsumer[],
  shutdown: Shutdown,
  logger: Logger,
): Promise<void> {
  for (const consumer of consumers) {
    const rabbit = consumerRabbit(config, names, consumer, logger);
    shutdown.add(`events consumer ${consumer.name}`, () => rabbit.close());
    await rabbit.connect();
    const handle = (event: DomainEvent, delivery: JobDelivery, signal: AbortSignal) =>
      consumer.handle(
        event,
        {
          attempt: delivery.attempt,
          finalAttempt: delivery.attempt >= config.AUTO_MESSAGE_MAX_ATTEMPTS,
        },
        signal,
      );
    const batch = consumer.handleBatch?.bind(consumer);
    await rabbit.consume<DomainEvent>(handle, {
      prefetch: consumer.prefetch ?? 50,
      parse: (raw) => DomainEvent.parse(raw),
      ...(batch ? { batch } : {}),
    });
    shutdown.add(`events consumer ${consumer.name} (drain)`, () => rabbit.stopConsuming());
  }
}

/** EVENTS_CONSUMERS: `all`, `none`, or a list of names (a worker dedicated to some of them). */
export function runsConsumer(setting: string, name: string): boolean {
  if (setting === 'all') return true;
  if (setting === 'none') return false;
  return setting.split(',').includes(name);
}
