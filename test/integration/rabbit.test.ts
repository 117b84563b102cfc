import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect as amqpConnect, type GetMessage } from 'amqplib';
import { z } from 'zod';
import { silentLogger } from '../../src/logger.js';
import { eventually } from '../support/sockets.js';
import { QueueUnavailableError, RetryableJobError } from '../../src/infra/job-errors.js';
import { createRabbit, type Rabbit, type RabbitOptions } from '../../src/infra/rabbit.js';
import {
  createTestVhost,
  startIsolatedBroker,
  type IsolatedBroker,
  type TestVhost,
} from '../support/broker.js';

function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  return eventually(check, timeoutMs, what);
}

/** One job, which the broker must confirm. */
async function publishOne(rabbit: Rabbit, payload: unknown, messageId?: string): Promise<void> {
  const { confirmed, failed } = await rabbit.publishMany([payload], {
    ...(messageId ? { messageIdOf: () => messageId } : {}),
  });
  assert.equal(confirmed.length, 1, `publish not confirmed: ${failed[0]?.error.message}`);
}

/** Pops every message of a queue with a raw client (tests may see amqplib; services may not). */
async function drain(url: string, queue: string): Promise<GetMessage[]> {
  const conn = await amqpConnect(url);
  try {
    const ch = await conn.createChannel();
    const out: GetMessage[] = [];
    for (let msg = await ch.get(queue); msg !== false; msg = await ch.get(queue)) {
      out.push(msg);
      ch.ack(msg);
    }
    return out;
  } finally {
    await conn.close();
  }
}

const opened: Rabbit[] = [];
function rabbitFor(url: string, extra: Partial<RabbitOptions> = {}): Rabbit {
  const rabbit = createRabbit({
    url,
    logger: silentLogger,
    prefix: `t-${randomUUID().slice(0, 8)}.`,
    ...extra,
  });
  opened.push(rabbit);
  return rabbit;
}
after(async () => {
  await Promise.all(opened.map((r) => r.close()));
});

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

describe('rabbit on the shared broker (fresh vhost)', () => {
  let vhost: TestVhost;
  before(async () => {
    vhost = await createTestVhost();
  });
  after(async () => {
    await Promise.all(opened.map((r) => r.close()));
    await vhost.remove();
  });

  it('declares topology in the URL vhost and round-trips confirmed JSON jobs', async () => {
    const rabbit = rabbitFor(vhost.url);
    await rabbit.connect();
    assert.equal(await rabbit.ping(), true);
    const queues = await vhost.listQueues();
    for (const q of [rabbit.queues.main, rabbit.queues.dead, ...rabbit.queues.retries])
      assert.ok(queues.includes(q), q);

    await publishOne(rabbit, { n: 1 }, 'job-1');
    const { confirmed, failed } = await rabbit.publishMany([{ n: 2 }, { n: 3 }]);
    assert.equal(confirmed.length, 2);
    assert.deepEqual(failed, []);
    await waitUntil(async () => (await rabbit.queueStats()).main.ready === 3, '3 ready');

    const seen: { n: number; attempt: number; redelivered: boolean; id: string | undefined }[] = [];
    const schema = z.object({ n: z.number() });
    await rabbit.consume(
      (job, d) =>
        void seen.push({
          n: job.n,
          attempt: d.attempt,
          redelivered: d.redelivered,
          id: d.messageId,
        }),
      { prefetch: 10, parse: (raw: unknown) => schema.parse(raw) },
    );
    await waitUntil(() => seen.length === 3, '3 deliveries');
    assert.deepEqual(seen.map((s) => s.n).sort(), [1, 2, 3]);
    assert.ok(seen.every((s) => s.attempt === 1 && !s.redelivered));
    assert.equal(seen.find((s) => s.n === 1)?.id, 'job-1');
    await waitUntil(async () => (await rabbit.queueStats()).main.ready === 0, 'queue empty');
    const stats = await rabbit.queueStats();
    assert.equal(stats.main.consumers, 1);
    assert.equal(stats.main.unacknowledged, 0);
  });

  it('retries a failing job through the delay queues, then succeeds', async () => {
    const rabbit = rabbitFor(vhost.url, { retryDelaysMs: [200, 400] });
    await rabbit.connect();
    const tries: { attempt: number; at: number }[] = [];
    await rabbit.consume(
      (_job, d) => {
        tries.push({ attempt: d.attempt, at: Date.now() });
        if (d.attempt < 3) throw new RetryableJobError('downstream unavailable');
      },
      { prefetch: 5 },
    );
    await publishOne(rabbit, { flaky: true });
    await waitUntil(() => tries.length === 3, 'third attempt');
    assert.deepEqual(
      tries.map((t) => t.attempt),
      [1, 2, 3],
    );
    const [t1, t2, t3] = tries.map((t) => t.at) as [number, number, number];
    assert.ok(t2 - t1 >= 180, `first backoff ${t2 - t1} ms`);
    assert.ok(t3 - t2 >= 380, `second backoff ${t3 - t2} ms`);
    await waitUntil(async () => (await rabbit.queueStats()).main.unacknowledged === 0, 'ack');
    assert.equal((await rabbit.queueStats()).dead.ready, 0);
  });

  it('parks a poison job after maxAttempts with its error while other jobs keep flowing', async () => {
    const rabbit = rabbitFor(vhost.url, { retryDelaysMs: [50, 100], maxAttempts: 3 });
    await rabbit.connect();
    const done = new Set<number>();
    let poisonTries = 0;
    const schema = z.object({ n: z.number().int() });
    await rabbit.consume(
      (job) => {
        if (job.n === -1) {
          poisonTries++;
          throw new Error('cannot deliver to user 42');
        }
        done.add(job.n);
      },
      { prefetch: 4, parse: (raw: unknown) => schema.parse(raw) },
    );
    await rabbit.publishMany([
      { n: -1 },
      { n: 'not a number' },
      ...Array.from({ length: 50 }, (_, n) => ({ n })),
    ]);
    await waitUntil(async () => (await rabbit.queueStats()).dead.ready === 2, 'two parked jobs');
    assert.equal(done.size, 50);
    assert.equal(poisonTries, 3);

    const parked = await drain(vhost.url, rabbit.queues.dead);
    const byBody = new Map(parked.map((m) => [m.content.toString(), m.properties.headers ?? {}]));
    const poison = byBody.get('{"n":-1}');
    assert.equal(poison?.['x-attempts'], 3);
    assert.match(String(poison?.['x-last-error']), /cannot deliver to user 42/);
    const invalid = byBody.get('{"n":"not a number"}');
    assert.equal(invalid?.['x-attempts'], 1, 'invalid payloads are parked without retries');
    assert.match(String(invalid?.['x-last-error']), /UnrecoverableJobError: invalid payload/);
  });

  it('publishes 5,000 jobs with pipelined confirms and consumes each exactly once', async () => {
    const rabbit = rabbitFor(vhost.url);
    await rabbit.connect();
    const jobs = Array.from({ length: 5_000 }, (_, i) => ({ id: `job-${i}` }));
    const { confirmed, failed } = await rabbit.publishMany(jobs, { messageIdOf: (j) => j.id });
    assert.equal(confirmed.length, 5_000);
    assert.equal(failed.length, 0);

    const counts = new Map<string, number>();
    await rabbit.consume(
      (j: { id: string }) => void counts.set(j.id, (counts.get(j.id) ?? 0) + 1),
      { prefetch: 200 },
    );
    await waitUntil(() => counts.size === 5_000, 'all 5,000 consumed');
    await waitUntil(async () => (await rabbit.queueStats()).main.unacknowledged === 0, 'all acked');
    await rabbit.stopConsuming();
    assert.equal((await rabbit.queueStats()).main.ready, 0);
    assert.deepEqual(
      [...counts.values()].filter((c) => c !== 1),
      [],
      'no job consumed twice',
    );
  });

  it('stopConsuming waits for in-flight handlers and their acks', async () => {
    const rabbit = rabbitFor(vhost.url);
    await rabbit.connect();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started = 0;
    let finished = 0;
    await rabbit.consume(
      async () => {
        started++;
        await gate;
        finished++;
      },
      { prefetch: 1 },
    );
    await rabbit.publishMany([{ a: 1 }, { a: 2 }]);
    await waitUntil(() => started === 1, 'handler running');
    await waitUntil(async () => (await rabbit.queueStats()).main.ready === 1, 'second job ready');
    assert.equal(
      (await rabbit.queueStats()).main.unacknowledged,
      1,
      'ready excludes the in-flight job',
    );
    let stopped = false;
    const stopping = rabbit.stopConsuming().then(() => (stopped = true));
    await rabbit.queueStats(); // several broker round-trips: a stop that did not wait would be done
    assert.equal(stopped, false, 'stop waits for the running handler');
    release();
    await stopping;
    assert.equal(finished, 1);

    // Only the unstarted job comes back: the in-flight one was acked before the channel closed.
    const again: unknown[] = [];
    await rabbit.consume((job) => void again.push(job), { prefetch: 10 });
    await waitUntil(async () => {
      const { main } = await rabbit.queueStats();
      return again.length >= 1 && main.ready === 0 && main.unacknowledged === 0;
    }, 'second job consumed');
    assert.deepEqual(again, [{ a: 2 }]);
  });

  it('a handler aborted by a forced stop returns its job to the queue without spending an attempt', async () => {
    const rabbit = rabbitFor(vhost.url, { retryDelaysMs: [60_000] });
    await rabbit.connect();
    const aborted: string[] = [];
    await rabbit.consume(
      (_job, _delivery, signal) =>
        new Promise<void>((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            aborted.push(String(signal.reason));
            reject(signal.reason as Error);
          });
        }),
      { prefetch: 1 },
    );
    await publishOne(rabbit, { stuck: true }, 'stuck-job');
    await waitUntil(async () => (await rabbit.queueStats()).main.unacknowledged === 1, 'running');
    await rabbit.stopConsuming(1); // the handler never finishes by itself: it is aborted
    assert.deepEqual(aborted, ['Error: consumer stopped']);

    const again: { attempt: number; id: string | undefined }[] = [];
    await rabbit.consume((_job, d) => void again.push({ attempt: d.attempt, id: d.messageId }), {
      prefetch: 1,
    });
    await waitUntil(() => again.length === 1, 'the job delivered again');
    assert.deepEqual(again, [{ attempt: 1, id: 'stuck-job' }]);
    await waitUntil(async () => (await rabbit.queueStats()).main.unacknowledged === 0, 'acked');
    const { main, dead } = await rabbit.queueStats();
    assert.deepEqual([main.ready, dead.ready], [0, 0]);
    const retried = await drain(vhost.url, rabbit.queues.retries[0] ?? 'none');
    assert.deepEqual(retried, [], 'no copy scheduled for retry');
  });

  it('close() is idempotent and later publishes reject clearly', async () => {
    const rabbit = rabbitFor(vhost.url);
    await rabbit.connect();
    await Promise.all([rabbit.close(), rabbit.close()]);
    await rabbit.close();
    assert.equal(await rabbit.ping(), false);
    await assert.rejects(rabbit.publishMany([{ late: true }]), QueueUnavailableError);
    await rabbitFor(vhost.url).close(); // never connected
  });

  it('AMQP_URL listing several nodes: connects past one that is down, to the next', async () => {
    const down = `amqp://guest:guest@127.0.0.1:${await closedPort()}`;
    const rabbit = rabbitFor(`${down},${vhost.url}`, {
      reconnect: { initialDelayMs: 50, maxDelayMs: 200, startupRetries: 3 },
    });
    await rabbit.connect();
    await publishOne(rabbit, { n: 1 });
    await waitUntil(async () => (await rabbit.queueStats()).main.ready === 1, 'job in the vhost');
  });

  it('connect() rejects clearly when the broker is unreachable', async () => {
    const reconnect = { initialDelayMs: 20, maxDelayMs: 50, startupRetries: 2 };
    const rabbit = rabbitFor('amqp://guest:guest@127.0.0.1:1', { reconnect });
    await assert.rejects(rabbit.connect(), QueueUnavailableError);
    assert.equal(await rabbit.ping(), false);
  });
});

describe('rabbit across a broker restart (isolated node)', () => {
  let broker: IsolatedBroker;
  before(async () => {
    broker = await startIsolatedBroker();
  });
  after(async () => {
    await Promise.all(opened.map((r) => r.close()));
    await broker.shutdown();
  });

  it('recovers publisher and consumer; every confirmed job is consumed', async () => {
    const reconnect = { initialDelayMs: 100, maxDelayMs: 500 };
    const rabbit = rabbitFor(broker.url, { reconnect, publishWaitMs: 30_000 });
    const impatient = rabbitFor(broker.url, { reconnect, publishWaitMs: 300 });
    await Promise.all([rabbit.connect(), impatient.connect()]);
    const consumed = new Set<number>();
    let deliveries = 0;
    await rabbit.consume(
      (j: { n: number }) => {
        deliveries++;
        consumed.add(j.n);
      },
      { prefetch: 50 },
    );

    const confirmed = new Set<number>();
    let next = 0;
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        const batch = Array.from({ length: 100 }, () => ({ n: next++ }));
        const result = await rabbit.publishMany(batch).catch(() => ({ confirmed: [] }));
        for (const j of result.confirmed) confirmed.add(j.n);
      }
    })();

    await waitUntil(
      () => confirmed.size >= 1_000 && consumed.size >= 500,
      'traffic before the outage',
    );
    await broker.stopApp();
    await waitUntil(
      async () => !(await rabbit.ping()) && !(await impatient.ping()),
      'disconnect noticed',
    );
    await assert.rejects(impatient.publishMany([{ n: -1 }]), QueueUnavailableError);
    const beforeRestart = confirmed.size;
    await broker.startApp();
    await waitUntil(() => rabbit.ping(), 'reconnected', 30_000);
    await waitUntil(() => confirmed.size >= beforeRestart + 1_000, 'publishing resumed', 30_000);
    publishing = false;
    await publisher;
    await waitUntil(
      () => [...confirmed].every((n) => consumed.has(n)),
      'every confirmed job consumed',
      30_000,
    );
    // At-least-once: deliveries unacked when the broker stopped come again (handlers are idempotent).
    console.log(
      `# ${confirmed.size} confirmed, ${deliveries - consumed.size} redelivered after restart`,
    );
  });
});
