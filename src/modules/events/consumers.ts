import type { DomainEvent } from '../../contracts/events.js';

/**
 * An event consumer (SPEC §10): its own durable queue `parley.events.<name>` bound to `keys`
 * on `parley.events`, with the retry and parking rules of the auto-message queue (SPEC §6).
 * `handle` must be idempotent by event id: a redelivery, a retry or a replay from the log
 * (`npm run cli -- events replay --consumer <name>`) may bring the same event again.
 * Throwing retries it with backoff; after the last attempt it is parked.
 */
export interface EventConsumer {
  readonly name: string;
  /** Topic patterns: `message.*`, `#`, `user.registered`. */
  readonly keys: readonly string[];
  /**
   * More keys that follow data (webhooks: the patterns registered webhooks ask for), bound
   * beside `keys` at every (re)connect. Whoever changes that data refreshes the bindings
   * (`refreshBindings`, roles/event-consumers.ts), so no event nobody wants reaches the queue.
   */
  readonly dataKeys?: () => Promise<readonly string[]>;
  /** Unacknowledged events at once (default 50). */
  readonly prefetch?: number;
  handle(event: DomainEvent, delivery: EventDelivery, signal: AbortSignal): Promise<void>;
  /**
   * Optional: the events that arrived together, in one call (one round trip instead of one per
   * event), idempotent by event id like `handle`. A throw hands each event to `handle`.
   */
  handleBatch?(events: readonly DomainEvent[], signal: AbortSignal): Promise<void>;
}

export interface EventDelivery {
  /** 1 on the first try. */
  readonly attempt: number;
  /** Failing now parks the event (AUTO_MESSAGE_MAX_ATTEMPTS reached). */
  readonly finalAttempt: boolean;
}

/**
 * The consumers the worker role starts. A module adds its own (`register`) when services are
 * built; the framework never lists them itself.
 */
export class EventConsumers {
  private readonly consumers = new Map<string, EventConsumer>();

  /** `names`: the only names allowed (EVENT_CONSUMER_NAMES in core.ts, where queues are named). */
  constructor(private readonly names: readonly string[]) {}

  register(consumer: EventConsumer): void {
    if (!this.names.includes(consumer.name))
      throw new Error(`event consumer ${consumer.name} is not in EVENT_CONSUMER_NAMES (core.ts)`);
    if (this.consumers.has(consumer.name))
      throw new Error(`event consumer ${consumer.name} is registered twice`);
    this.consumers.set(consumer.name, consumer);
  }

  get all(): readonly EventConsumer[] {
    return [...this.consumers.values()];
  }

  get(name: string): EventConsumer | undefined {
    return this.consumers.get(name);
  }
}

/** The queue of consumer `name` (before AMQP_QUEUE_PREFIX). */
export function consumerQueue(name: string): string {
  return `parley.events.${name}`;
}
