/**
 * The shared consumer's batch path (infra/rabbit/consumer.ts `batch`), against a channel kept in
 * memory: which acks reach the broker, and when a `multiple` ack would cover a delivery that is
 * still being handled elsewhere.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import type { Channel, ChannelModel, ConsumeMessage, MessagePropertyHeaders } from 'amqplib';
import { JobConsumer, type ConsumeOptions } from '../../src/infra/rabbit/consumer.js';
import { buildTopology } from '../../src/infra/rabbit/topology.js';
import { silentLogger } from '../../src/logger.js';

type Settled = { how: 'ack' | 'nack'; tag: number; multiple: boolean };

/** The few channel methods the consumer calls, recording every ack and nack. */
class FakeChannel extends EventEmitter {
  readonly settled: Settled[] = [];
  private deliver: ((msg: ConsumeMessage | null) => void) | null = null;
  private tag = 0;

  prefetch(): Promise<void> {
    return Promise.resolve();
  }
  consume(_queue: string, onMessage: (msg: ConsumeMessage | null) => void) {
    this.deliver = onMessage;
    return Promise.resolve({ consumerTag: 'ctag' });
  }
  ack(msg: ConsumeMessage, allUpTo = false): void {
    this.settled.push({ how: 'ack', tag: msg.fields.deliveryTag, multiple: allUpTo });
  }
  nack(msg: ConsumeMessage, allUpTo = false): void {
    this.settled.push({ how: 'nack', tag: msg.fields.deliveryTag, multiple: allUpTo });
  }
  cancel(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Delivers `bodies` in one tick, as amqplib does for one socket read. */
  push(...bodies: unknown[]): void {
    for (const body of bodies) {
      this.tag += 1;
      const headers: MessagePropertyHeaders = {};
      this.deliver?.({
        content: Buffer.from(JSON.stringify(body)),
        fields: { deliveryTag: this.tag, redelivered: false, exchange: '', routingKey: 'q' },
        properties: { headers, messageId: `m${this.tag}` },
      } as unknown as ConsumeMessage);
    }
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function consumerWith(
  options: Omit<ConsumeOptions<number>, 'prefetch'>,
  handler: (n: number) => Promise<void> = () => Promise.resolve(),
) {
  const channel = new FakeChannel();
  const model = { createChannel: () => Promise.resolve(channel) } as unknown as ChannelModel;
  const republished: number[] = [];
  const consumer = new JobConsumer<number>(
    handler,
    { prefetch: 100, ...options },
    {
      topology: buildTopology('q', [10], 1),
      maxAttempts: 2,
      logger: silentLogger,
      republish: (_queue, msg) => {
        republished.push(msg.fields.deliveryTag);
        return Promise.resolve();
      },
      onBrokerCancel: () => undefined,
    },
  );
  await consumer.attach(model);
  return { channel: channel as FakeChannel & Channel, consumer, republished };
}

describe('rabbit consumer, batch path', () => {
  test('deliveries of one read make one batch, acked with one multiple ack', async () => {
    const batches: number[][] = [];
    const { channel, consumer } = await consumerWith({
      batch: (payloads) => {
        batches.push([...payloads]);
        return Promise.resolve();
      },
    });
    channel.push(1, 2, 3);
    await consumer.stop(1_000);
    assert.deepEqual(batches, [[1, 2, 3]]);
    assert.deepEqual(channel.settled, [{ how: 'ack', tag: 3, multiple: true }]);
  });

  test('a batch never acks past a delivery still being handled in an earlier one', async () => {
    const first = deferred();
    const { channel, consumer } = await consumerWith({
      batch: ([n]) => (n === 1 ? first.promise : Promise.resolve()),
    });
    channel.push(1);
    await nextTurn(); // batch [1] is being handled
    channel.push(2, 3);
    await nextTurn();
    await nextTurn(); // batch [2, 3] is done while 1 is still open: acked one by one
    assert.deepEqual(channel.settled, [
      { how: 'ack', tag: 2, multiple: false },
      { how: 'ack', tag: 3, multiple: false },
    ]);
    first.resolve();
    await consumer.stop(1_000);
    assert.deepEqual(channel.settled.at(-1), { how: 'ack', tag: 1, multiple: false });
  });

  test('a failed batch goes to the single handler, job by job, with its own retries', async () => {
    const single: number[] = [];
    const { channel, consumer, republished } = await consumerWith(
      { batch: () => Promise.reject(new Error('redis down')) },
      (n) => {
        single.push(n);
        return n === 2 ? Promise.reject(new Error('still failing')) : Promise.resolve();
      },
    );
    channel.push(1, 2, 3);
    await consumer.stop(1_000);
    assert.deepEqual(single, [1, 2, 3]);
    assert.deepEqual(republished, [2], 'only the failing job is moved to its retry queue');
    assert.deepEqual(
      channel.settled.map((s) => [s.tag, s.multiple]),
      [
        [1, false],
        [3, false],
        [2, false],
      ],
    );
  });
});
