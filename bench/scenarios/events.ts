import { ObjectId } from 'mongodb';
import amqp from 'amqplib';
import type { DomainEvent } from '../../src/contracts/events.js';
import { declareEventTopology, EventBus, eventBusNames } from '../../src/infra/event-bus.js';
import { createRabbit } from '../../src/infra/rabbit.js';
import { silentLogger } from '../../src/logger.js';
import { domainEvent, outboxOnInsert } from '../../src/modules/events/outbox.js';
import {
  OutboxRepository,
  RelayLeaseRepository,
} from '../../src/modules/events/outbox.repository.js';
import { EventRelay } from '../../src/modules/events/relay.js';
import { compareRuns, withCpu, type Measured } from '../lib/measure.js';
import { interleave, sleep } from '../lib/stats.js';
import type { Context, RowResult } from '../lib/types.js';
import type { Variant } from './variants.js';

interface Batch {
  count: number;
  ms: number;
  perSecond: number;
}

const MIN_RATE = 10_000;

/** `n` message.created events as the messages repository writes them. */
function messageEvents(n: number): DomainEvent[] {
  const [conversationId, senderId] = [new ObjectId().toHexString(), new ObjectId().toHexString()];
  return Array.from({ length: n }, (_, i) => {
    const messageId = new ObjectId().toHexString();
    return domainEvent('message.created', messageId, senderId, {
      messageId,
      conversationId,
      senderId,
      type: 'text',
      content: `bench message ${i} with a few words of text in it`,
      createdAt: new Date().toISOString(),
    });
  });
}

/**
 * `events-relay`: the outbox relay (modules/events/relay.ts, the worker's code) publishing a
 * backlog of `message.created` events stored in message documents — read pending, record the
 * in-flight ids, publish confirmed and pipelined, clear the documents — against bare confirmed
 * publishes of the same events to the same exchange (amqplib, batches of the relay's size,
 * each batch pipelined with its confirms awaited together). Both run in this process.
 */
export async function relayRow(ctx: Context, variant: Variant): Promise<RowResult> {
  const { config } = variant;
  const events = { smoke: 500, quick: 5_000, full: 20_000 }[ctx.profile.name];
  const db = variant.fixtures.mongo.db;
  const names = eventBusNames(config.AMQP_QUEUE_PREFIX);
  const rabbit = createRabbit({
    url: config.AMQP_URL,
    logger: silentLogger,
    prefix: config.AMQP_QUEUE_PREFIX,
    declareExtra: (channel) => declareEventTopology(channel, names, config.EVENTS_RETENTION),
  });
  await rabbit.connect();
  const batchSize = config.EVENTS_RELAY_BATCH;
  const relay = new EventRelay(
    new OutboxRepository(db),
    new RelayLeaseRepository(db),
    new EventBus(rabbit, names, silentLogger),
    // Woken by the row only: no poll fires while a backlog is being seeded.
    { batchSize, pollMs: 3_600_000, leaseMs: 60_000 },
    silentLogger,
  );
  const connection = await amqp.connect(config.AMQP_URL);
  const channel = await connection.createConfirmChannel();
  const messages = db.collection('messages');
  try {
    relay.start();
    const viaRelay = async (): Promise<Batch> => {
      const batch = messageEvents(events);
      const now = new Date();
      await messages.insertMany(
        batch.map((event) => ({ _id: new ObjectId(), ...outboxOnInsert([event], now) })),
      );
      const target = relay.publishedCount + batch.length;
      const started = performance.now();
      relay.wake();
      const deadline = Date.now() + 300_000;
      while (relay.publishedCount < target) {
        if (Date.now() > deadline) throw new Error('relay did not publish the backlog');
        await sleep(1);
      }
      const ms = performance.now() - started;
      return { count: batch.length, ms, perSecond: (batch.length * 1000) / ms };
    };
    const bare = async (): Promise<Batch> => {
      const batch = messageEvents(events);
      // Encoded before the clock starts, as the outbox holds them: the relay only copies each
      // stored JSON into a buffer.
      const bodies = batch.map((event) => Buffer.from(JSON.stringify(event)));
      const started = performance.now();
      for (let i = 0; i < batch.length; i += batchSize) {
        for (const [j, event] of batch.slice(i, i + batchSize).entries()) {
          channel.publish(names.exchange, event.type, bodies[i + j] as Buffer, {
            persistent: true,
            mandatory: true,
            messageId: event.id,
            type: event.type,
            contentType: 'application/json',
            timestamp: Math.floor(Date.parse(event.occurredAt) / 1000),
          });
        }
        await channel.waitForConfirms();
      }
      const ms = performance.now() - started;
      return { count: batch.length, ms, perSecond: (batch.length * 1000) / ms };
    };
    const pids = { bench: process.pid, engine: variant.enginePid, ...ctx.servicePids };
    // A relay runs for as long as its worker: the row measures it warm. Here the relay, the
    // engine and RabbitMQ take about 80,000 events to reach their steady rate (a fresh relay's
    // backlogs of 20,000: the 2nd to 4th at 9,600-10,400 events/s, the 5th to 9th at
    // 12,500-13,000), so the full profile warms each side that long before its pairs.
    const warmups = { smoke: 1, quick: 1, full: 4 }[ctx.profile.name];
    ctx.log(`events-relay: warm-up, ${warmups} × ${events} events each side`);
    for (let i = 0; i < warmups; i += 1) {
      await viaRelay();
      await bare();
    }
    ctx.log(`events-relay: ${events} events × ${ctx.profile.variantReps} each side`);
    const runs = await interleave<Measured<Batch>>(
      ctx.profile.variantReps,
      () => withCpu(pids, viaRelay),
      () => withCpu(pids, bare),
    );
    const m = compareRuns(
      runs,
      (v) => v.perSecond,
      (v) => v.count,
      { digits: 0 },
    );
    return {
      id: 'events-relay',
      scenario: `Outbox relay: ${events} message.created events waiting in message documents, read, published confirmed in batches of ${batchSize} and cleared, vs bare confirmed publishes of the same events to the same exchange (amqplib, same batches)`,
      unit: 'events/s',
      ...m.reported,
      ratioNote: 'relay events/s ÷ bare publish events/s',
      budget: `≥ ${MIN_RATE.toLocaleString('en')} events/s`,
      met: m.parley >= MIN_RATE,
    };
  } finally {
    await relay.stop();
    await connection.close();
    await rabbit.close();
  }
}
