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
  consumer: Pick<EventConsumer, 'name' | 'keys'>,
  logger: Logger,
): Rabbit {
  const queue = `${config.AMQP_QUEUE_PREFIX}${consumerQueue(consumer.name)}`;
  return createRabbit({
    url: config.AMQP_URL,
    logger: logger.child({ consumer: consumer.name }),
    prefix: config.AMQP_QUEUE_PREFIX,
    queue: consumerQueue(consumer.name),
    retryDelaysMs: config.AUTO_MESSAGE_RETRY_DELAYS_MS,
    maxAttempts: config.AUTO_MESSAGE_MAX_ATTEMPTS,
    declareExtra: (channel) => bind(channel, names.exchange, queue, consumer.keys),
  });
}

async function bind(
  channel: Channel,
  exchange: string,
  queue: string,
  keys: readonly string[],
): Promise<void> {
  await channel.assertExchange(exchange, 'topic', { durable: true });
  for (const key of keys) await channel.bindQueue(queue, exchange, key);
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
    await rabbit.consume<DomainEvent>(handle, {
      prefetch: consumer.prefetch ?? 50,
      parse: (raw) => DomainEvent.parse(raw),
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
