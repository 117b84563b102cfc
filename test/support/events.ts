import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { DomainEvent, type EventType } from '../../src/contracts/events.js';
import { eventBusNames } from '../../src/infra/event-bus.js';
import { OutboxRepository } from '../../src/modules/events/outbox.repository.js';
import { MongoClient } from 'mongodb';
import { atEnd, type TestNames } from './app.js';
import { eventually } from './sockets.js';

/**
 * A test queue bound to the test's `parley.events` exchange with `#`: everything the relay
 * publishes, checked against the contract. `take()` waits until the outbox is empty (so every
 * event written so far has been published, and confirmed = enqueued here) and returns what
 * arrived since the last take.
 */
export interface EventTap {
  take(): Promise<DomainEvent[]>;
  /** What has arrived so far, without waiting for the outbox. */
  drain(): Promise<DomainEvent[]>;
  close(): Promise<void>;
}

export async function tapEvents(names: TestNames, pattern = '#'): Promise<EventTap> {
  const connection: ChannelModel = await amqp.connect(names.AMQP_URL ?? '');
  const channel: Channel = await connection.createChannel();
  const { exchange } = eventBusNames(names.AMQP_QUEUE_PREFIX ?? '');
  await channel.assertExchange(exchange, 'topic', { durable: true });
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
  await channel.bindQueue(queue, exchange, pattern);
  const mongo = new MongoClient(names.MONGODB_URI ?? '');
  await mongo.connect();
  const outbox = new OutboxRepository(mongo.db(names.MONGODB_DB));
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await connection.close();
    await mongo.close();
  };
  atEnd(close);
  const drain = async () => {
    const events: DomainEvent[] = [];
    for (;;) {
      const msg = await channel.get(queue, { noAck: true });
      if (msg === false) break;
      events.push(DomainEvent.parse(JSON.parse(msg.content.toString('utf8'))));
    }
    return events;
  };
  return {
    take: async () => {
      await eventually(async () => (await outbox.pending(1)).length === 0, 30_000, 'the outbox');
      return drain();
    },
    drain,
    close,
  };
}

/** Types, sorted: events of different documents have no order between them. */
export function typesOf(events: readonly DomainEvent[]): EventType[] {
  return events.map((e) => e.type).sort();
}
