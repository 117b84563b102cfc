import { DomainEvent } from '../../contracts/events.js';
import type { ExchangeMessage } from '../../infra/rabbit.js';
import type { LogEntry, LogStart } from '../../infra/event-bus.js';
import { matchesTopic } from '../../lib/topic-pattern.js';

/** What the log operations need from the bus and the broker. */
export interface EventLog {
  read(
    start: LogStart,
    onEntry: (entry: LogEntry) => boolean | void,
    parse: (raw: unknown) => DomainEvent,
  ): Promise<void>;
}

export interface QueuePublisher {
  publishToExchange(
    exchange: string,
    messages: readonly ExchangeMessage[],
  ): Promise<(Error | null)[]>;
}

/** `events tail`: the log's events from `start`, optionally only types matching `pattern`. */
export async function tail(
  log: EventLog,
  start: LogStart,
  pattern: string | undefined,
  print: (entry: LogEntry) => void,
): Promise<number> {
  let printed = 0;
  await log.read(
    start,
    (entry) => {
      if (pattern === undefined || matchesTopic(pattern, entry.event.type)) {
        print(entry);
        printed += 1;
      }
    },
    (raw) => DomainEvent.parse(raw),
  );
  return printed;
}

const REPLAY_BATCH = 500;

/**
 * `events replay`: the log's events since `from`, published again straight into one consumer's
 * queue (the default exchange routes by queue name; no other consumer sees them). The consumer
 * deduplicates by event id, so replaying what it already applied changes nothing.
 */
export async function replay(
  log: EventLog,
  broker: QueuePublisher,
  queue: string,
  from: Date,
  keys: readonly string[],
): Promise<number> {
  let batch: DomainEvent[] = [];
  let replayed = 0;
  const flush = async () => {
    const outcomes = await broker.publishToExchange(
      '',
      batch.map((event) => ({
        routingKey: queue,
        content: Buffer.from(JSON.stringify(event)),
        messageId: event.id,
        type: event.type,
      })),
    );
    const failed = outcomes.find((o) => o !== null);
    if (failed) throw failed;
    replayed += batch.length;
    batch = [];
  };
  const pending: DomainEvent[] = [];
  await log.read(
    { at: from },
    ({ event }) => {
      if (
        Date.parse(event.occurredAt) >= from.getTime() &&
        keys.some((k) => matchesTopic(k, event.type))
      )
        pending.push(event);
    },
    (raw) => DomainEvent.parse(raw),
  );
  for (const event of pending) {
    batch.push(event);
    if (batch.length >= REPLAY_BATCH) await flush();
  }
  if (batch.length > 0) await flush();
  return replayed;
}
