import type { Channel } from 'amqplib';
import type { QueueNames } from './types.js';

/** Our own attempt counter (1-based); the broker's x-delivery-count only counts redeliveries. */
export const ATTEMPT_HEADER = 'x-attempt';
/** When the consumer parked a job (ISO time); the broker's own parking leaves x-death instead. */
export const PARKED_AT_HEADER = 'x-parked-at';

export interface RetryQueue {
  readonly name: string;
  readonly delayMs: number;
}

export interface Topology {
  readonly main: string;
  readonly dead: string;
  /** Ordered by attempt: the n-th failure waits in retries[min(n-1, last)]. */
  readonly retries: readonly RetryQueue[];
  /** Redeliveries (crash / channel loss, not our own retries) after which the broker parks a job. */
  readonly deliveryLimit: number;
}

export function buildTopology(
  main: string,
  retryDelaysMs: readonly number[],
  deliveryLimit: number,
): Topology {
  if (retryDelaysMs.length === 0) throw new Error('at least one retry delay is required');
  for (const delayMs of retryDelaysMs) {
    if (!Number.isInteger(delayMs) || delayMs <= 0)
      throw new Error(`invalid retry delay ${delayMs}`);
  }
  return {
    main,
    dead: `${main}.dead`,
    // The delay is part of the name: changing a queue's x-message-ttl in place would fail the
    // declaration (PRECONDITION_FAILED), a new delay simply gets a new queue.
    retries: retryDelaysMs.map((delayMs) => ({ name: `${main}.retry.${delayMs}ms`, delayMs })),
    deliveryLimit,
  };
}

/** The names `buildTopology` gives queue `name` under `prefix` (cleanup and listings use them). */
export function queueNames(
  prefix: string,
  name: string,
  retryDelaysMs: readonly number[],
): QueueNames {
  const { main, dead, retries } = buildTopology(`${prefix}${name}`, retryDelaysMs, 1);
  return { name, main, dead, retries: retries.map((r) => r.name) };
}

/** The retry queue that holds a job after its `attempt`-th failure (attempt is 1-based). */
export function retryQueueFor(topology: Topology, attempt: number): RetryQueue {
  const index = Math.min(Math.max(attempt - 1, 0), topology.retries.length - 1);
  const queue = topology.retries[index];
  if (queue === undefined) throw new Error('topology has no retry queue');
  return queue;
}

// Quorum queues: replicated, always persistent, and they count redeliveries so a job that crashes
// its worker every time is parked by the broker (x-delivery-limit) instead of looping forever.
// Dead-lettering is at-least-once (needs reject-publish overflow) so a job moving from a retry
// queue back to the main queue, or from main to the parking queue, cannot be dropped.
const quorum = { 'x-queue-type': 'quorum' } as const;
function deadLetterTo(queue: string): Record<string, string> {
  return {
    'x-dead-letter-exchange': '',
    'x-dead-letter-routing-key': queue,
    'x-dead-letter-strategy': 'at-least-once',
    'x-overflow': 'reject-publish',
  };
}

/** Idempotent: re-declaring with the same arguments is a no-op, so every (re)connect runs it. */
export async function declareTopology(channel: Channel, topology: Topology): Promise<void> {
  await channel.assertQueue(topology.dead, { durable: true, arguments: { ...quorum } });
  await channel.assertQueue(topology.main, {
    durable: true,
    arguments: {
      ...quorum,
      'x-delivery-limit': topology.deliveryLimit,
      ...deadLetterTo(topology.dead),
    },
  });
  for (const retry of topology.retries) {
    await channel.assertQueue(retry.name, {
      durable: true,
      arguments: { ...quorum, 'x-message-ttl': retry.delayMs, ...deadLetterTo(topology.main) },
    });
  }
}
