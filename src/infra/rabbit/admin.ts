import amqp, { type Channel, type ChannelModel } from 'amqplib';
import type { Logger } from '../../logger.js';

/** A short-lived channel: a failed check (404) closes it, never the publisher's or consumer's. */
export async function withChannel<R>(
  model: ChannelModel,
  logger: Logger,
  fn: (channel: Channel) => Promise<R>,
): Promise<R> {
  const channel = await model.createChannel();
  channel.on('error', (err: Error) => logger.debug({ err }, 'rabbit admin channel error'));
  try {
    return await fn(channel);
  } finally {
    await channel
      .close()
      .catch((err: unknown) => logger.debug({ err }, 'rabbit admin channel already closed'));
  }
}

/** For readiness probes: the broker answers and the queue exists, within the time bound. */
export async function pingQueue(
  model: ChannelModel,
  queue: string,
  timeoutMs: number,
  logger: Logger,
): Promise<boolean> {
  const check = withChannel(model, logger, (ch) => ch.checkQueue(queue)).then(() => true);
  const timeout = new Promise<boolean>((resolve) => setTimeout(resolve, timeoutMs, false).unref());
  return Promise.race([check, timeout]).catch((err: unknown) => {
    logger.debug({ err }, 'rabbit ping failed');
    return false;
  });
}

export interface QueueCounts {
  readonly queue: string;
  /** Ready messages only (quorum queues exclude unacknowledged ones from this count). */
  readonly ready: number;
  readonly consumers: number;
}

/**
 * queue.declare(passive) is all AMQP offers: ready count and consumers. Unacknowledged counts
 * need the management plugin (not enabled here), so callers add what they know locally.
 * A queue that does not exist fails with 404 and closes the channel.
 */
export async function checkQueue(channel: Channel, queue: string): Promise<QueueCounts> {
  const { messageCount, consumerCount } = await channel.checkQueue(queue);
  return { queue, ready: messageCount, consumers: consumerCount };
}

/** Deletes queues and exchanges (a missing one is no error), on a connection of its own. */
export async function deleteTopology(
  url: string,
  names: { readonly queues: readonly string[]; readonly exchanges: readonly string[] },
): Promise<void> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    for (const queue of names.queues) await channel.deleteQueue(queue);
    for (const exchange of names.exchanges) await channel.deleteExchange(exchange);
  } finally {
    await connection.close();
  }
}
