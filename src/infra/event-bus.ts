import { randomUUID } from 'node:crypto';
import type { Channel, ConsumeMessage } from 'amqplib';
import type { DomainEvent } from '../contracts/events.js';
import { asError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { OutboxEntry } from '../modules/events/outbox.js';
import type { Rabbit } from './rabbit.js';

/**
 * The events side of RabbitMQ (SPEC §10): the durable topic exchange `parley.events` (routing key
 * = event type) and the stream `parley.events.log` bound to it with `#`, the replayable log.
 * Both carry AMQP_QUEUE_PREFIX like every queue, so tests sharing a broker stay apart.
 */
export interface EventBusNames {
  readonly exchange: string;
  readonly log: string;
}

export function eventBusNames(prefix: string): EventBusNames {
  return { exchange: `${prefix}parley.events`, log: `${prefix}parley.events.log` };
}

/**
 * Marks the end of the log for a reader: a message published straight to the stream (never
 * through the exchange, so no consumer sees it) that readers skip. Reading "up to now" stops
 * when its own probe comes back; streams report no length over AMQP 0-9-1.
 */
export const PROBE_TYPE = 'parley.log-probe';

/** Idempotent; runs on every (re)connect of the connection that publishes events. */
export async function declareEventTopology(
  channel: Channel,
  names: EventBusNames,
  retention: string,
): Promise<void> {
  await channel.assertExchange(names.exchange, 'topic', { durable: true });
  await channel.assertQueue(names.log, {
    durable: true,
    arguments: { 'x-queue-type': 'stream', 'x-max-age': retention },
  });
  await channel.bindQueue(names.log, names.exchange, '#');
}

/** Where a log read starts: the first retained event, a time, or a stream offset. */
export type LogStart = { first: true } | { at: Date } | { offset: number };

/** One entry of the log as read back. */
export interface LogEntry {
  readonly offset: number;
  readonly event: DomainEvent;
}

export class EventBus {
  constructor(
    private readonly rabbit: Rabbit,
    readonly names: EventBusNames,
    private readonly logger: Logger,
  ) {}

  /**
   * Confirmed and pipelined: all are written, then the confirms awaited together. The entries
   * come encoded from the outbox (outbox.ts `outboxEntry`); their JSON is the body.
   */
  async publish(entries: readonly OutboxEntry[]): Promise<(Error | null)[]> {
    if (entries.length === 0) return [];
    return this.rabbit.publishToExchange(
      this.names.exchange,
      entries.map((entry) => ({
        routingKey: entry.type,
        content: Buffer.from(entry.json),
        messageId: entry.id,
        type: entry.type,
        timestamp: entry.ts,
      })),
    );
  }

  /**
   * Reads the log from `start` up to what it held when the read began, calling `onEntry` for
   * each event in order. Returning false stops early. Entries that are not events (probes,
   * foreign messages) are skipped.
   */
  async read(
    start: LogStart,
    onEntry: (entry: LogEntry) => boolean | void,
    parse: (raw: unknown) => DomainEvent,
  ): Promise<void> {
    const probeId = randomUUID();
    await this.rabbit.withChannel(async (channel) => {
      await channel.prefetch(1000);
      await new Promise<void>((resolve, reject) => {
        let tag: string | null = null;
        let done = false;
        const finish = (err?: unknown) => {
          if (done) return;
          done = true;
          const cancel = tag !== null ? channel.cancel(tag) : Promise.resolve();
          void cancel.catch(() => undefined);
          if (err) reject(asError(err));
          else resolve();
        };
        channel.on('close', () => finish(new Error('log channel closed while reading')));
        const onMessage = (msg: ConsumeMessage | null) => {
          if (msg === null || done) return finish();
          channel.ack(msg);
          if (msg.properties.messageId === probeId) return finish();
          if (msg.properties.type === PROBE_TYPE) return;
          const event = this.decode(msg, parse);
          const offset = Number(msg.properties.headers?.['x-stream-offset'] ?? -1);
          if (event && onEntry({ offset, event }) === false) finish();
        };
        channel
          .consume(this.names.log, onMessage, {
            noAck: false,
            arguments: { 'x-stream-offset': streamOffset(start) },
          })
          .then(({ consumerTag }) => {
            tag = consumerTag;
            return this.appendProbe(probeId);
          })
          .catch(finish);
      });
    });
  }

  /** Of `ids`, those the log holds among the events appended since `since`. */
  async publishedAmong(ids: readonly string[], since: Date): Promise<Set<string>> {
    const wanted = new Set(ids);
    const found = new Set<string>();
    if (wanted.size === 0) return found;
    // Timestamp offsets start at a chunk boundary at or before the time; a margin covers clocks.
    const from = new Date(since.getTime() - 5_000);
    await this.read(
      { at: from },
      ({ event }) => {
        if (wanted.has(event.id)) found.add(event.id);
        return found.size < wanted.size;
      },
      (raw) => raw as DomainEvent,
    );
    return found;
  }

  // No confirm needed: the reader simply waits until the probe comes back through the stream.
  private async appendProbe(probeId: string): Promise<void> {
    await this.rabbit.withChannel((channel) => {
      channel.sendToQueue(this.names.log, Buffer.from('{}'), {
        messageId: probeId,
        type: PROBE_TYPE,
        persistent: true,
      });
      return Promise.resolve();
    });
  }

  private decode(msg: ConsumeMessage, parse: (raw: unknown) => DomainEvent): DomainEvent | null {
    try {
      return parse(JSON.parse(msg.content.toString('utf8')));
    } catch (err) {
      this.logger.warn(
        { err, messageId: msg.properties.messageId },
        'skipping a non-event in the log',
      );
      return null;
    }
  }
}

function streamOffset(start: LogStart): unknown {
  if ('first' in start) return 'first';
  if ('at' in start) return { '!': 'timestamp', value: Math.floor(start.at.getTime() / 1000) };
  return { '!': 'long', value: start.offset };
}
