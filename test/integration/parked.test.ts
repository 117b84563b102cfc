/**
 * Parked jobs (SPEC §13): list, requeue and discard on every queue Parley owns (the job queues
 * and the event consumers' queues), against real RabbitMQ. The app runs as ROLE=api, so nothing
 * consumes: what the routes do stays visible.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { queueNames } from '../../src/infra/rabbit.js';
import { ATTEMPT_HEADER } from '../../src/infra/rabbit/topology.js';
import { silentLogger } from '../../src/logger.js';
import { consumerRabbit } from '../../src/roles/event-consumers.js';
import { atEnd, isolatedEnv, registerAdmin, startTestApp, type TestApp } from '../support/app.js';
import { http, registerUser, type Registered } from '../support/http.js';
import { eventually } from '../support/sockets.js';

interface ParkedItem {
  id: string;
  payload: unknown;
  error: string | null;
  attempts: number;
  parkedAt: string | null;
}

describe('parked jobs', () => {
  let app: TestApp;
  let admin: Registered;
  let channel: ConfirmChannel;
  let connection: ChannelModel;

  before(async () => {
    app = await startTestApp(await isolatedEnv({ ROLE: 'api' }));
    admin = await registerAdmin(app.url, app.config);
    connection = await amqp.connect(app.config.AMQP_URL);
    atEnd(() => connection.close());
    channel = await connection.createConfirmChannel();
    // The stats consumer's queue as a worker running it declares it (bound to the events).
    const stats = consumerRabbit(app.config, app.infra.events.names, statsQueue, silentLogger);
    await stats.connect();
    await stats.close();
  });

  const statsQueue = { name: 'stats', keys: ['#'] };
  const queuesOf = (name: string) =>
    queueNames(app.config.AMQP_QUEUE_PREFIX, name, app.config.AUTO_MESSAGE_RETRY_DELAYS_MS);

  /** A job as the consumer parks it: body, id and the headers it writes. */
  async function park(queue: string, id: string, payload: unknown): Promise<void> {
    channel.sendToQueue(queuesOf(queue).dead, Buffer.from(JSON.stringify(payload)), {
      messageId: id,
      persistent: true,
      headers: {
        [ATTEMPT_HEADER]: 5,
        'x-attempts': 5,
        'x-last-error': 'Error: receiver gone',
        'x-parked-at': '2026-01-02T03:04:05.000Z',
      },
    });
    await channel.waitForConfirms();
  }

  const call = (method: string, path: string, body?: unknown, who = admin) =>
    http<Record<string, unknown>>(app.url, method, path, { token: who.accessToken, body });

  async function parked(queue: string): Promise<ParkedItem[]> {
    const res = await call('GET', `/api/admin/queues/${queue}/parked?limit=100`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as { items: ParkedItem[] }).items;
  }

  for (const queue of ['message_sending_queue', 'media_processing_queue', 'parley.events.stats']) {
    test(`${queue}: list leaves jobs parked; requeue and discard act on the chosen ones`, async () => {
      await park(queue, 'job-a', { n: 1 });
      await park(queue, 'job-b', { n: 2 });
      await park(queue, 'job-c', { n: 3 });

      const listed = await parked(queue);
      assert.deepEqual(listed.map((j) => j.id).sort(), ['job-a', 'job-b', 'job-c']);
      const a = listed.find((j) => j.id === 'job-a');
      assert.deepEqual(a, {
        id: 'job-a',
        payload: { n: 1 },
        error: 'Error: receiver gone',
        attempts: 5,
        parkedAt: '2026-01-02T03:04:05.000Z',
      });
      assert.equal((await parked(queue)).length, 3, 'listing took nothing away');

      const requeued = await call('POST', `/api/admin/queues/${queue}/parked/requeue`, {
        ids: ['job-a'],
      });
      assert.deepEqual(requeued.body, { requeued: 1 });
      const back = await channel.get(queuesOf(queue).main, { noAck: true });
      assert.ok(back, 'the job is on the main queue');
      assert.equal(back.properties.messageId, 'job-a');
      assert.deepEqual(JSON.parse(back.content.toString()), { n: 1 });
      assert.equal(back.properties.headers?.[ATTEMPT_HEADER], 1, 'starts again as attempt 1');
      assert.equal(back.properties.headers?.['x-last-error'], undefined);

      const discarded = await call('DELETE', `/api/admin/queues/${queue}/parked`, {
        ids: ['job-b'],
      });
      assert.deepEqual(discarded.body, { discarded: 1 });
      assert.deepEqual(
        (await parked(queue)).map((j) => j.id),
        ['job-c'],
      );

      const overview = await call('GET', '/api/admin/queues');
      const summary = (overview.body.queues as { name: string; parked: number }[]).find(
        (q) => q.name === queue,
      );
      assert.equal(summary?.parked, 1);

      assert.deepEqual((await call('DELETE', `/api/admin/queues/${queue}/parked`)).body, {
        discarded: 1,
      });
      assert.deepEqual(await parked(queue), []);
    });
  }

  test("each event consumer's queue is listed with its depths, running or not", async () => {
    type Summary = { name: string; ready: number; parked: number; consumers: number };
    const listing = async () => {
      const res = await call('GET', '/api/admin/queues');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.queues as Summary[];
    };
    const stats = queuesOf('parley.events.stats');
    for (const id of ['e-1', 'e-2']) {
      channel.sendToQueue(stats.main, Buffer.from('{}'), { messageId: id, persistent: true });
    }
    await channel.waitForConfirms();
    await park('parley.events.stats', 'e-0', {});

    const queues = await listing();
    assert.deepEqual(
      queues.map((q) => q.name),
      [
        'message_sending_queue',
        'media_processing_queue',
        'parley.events.stats',
        'parley.events.webhooks',
      ],
    );
    const of = (name: string, list: Summary[]) => list.find((q) => q.name === name);
    assert.deepEqual(of('parley.events.stats', queues), {
      name: 'parley.events.stats',
      ready: 2,
      unacknowledged: null,
      consumers: 0,
      parked: 1,
    });
    // No worker ever ran webhooks here: its queue does not exist and reads as empty.
    assert.deepEqual(of('parley.events.webhooks', queues), {
      name: 'parley.events.webhooks',
      ready: 0,
      unacknowledged: null,
      consumers: 0,
      parked: 0,
    });

    // A consumer holding one delivery: one ready, one consumer.
    const reader = await connection.createChannel();
    await reader.prefetch(1);
    await reader.consume(stats.main, () => undefined, { noAck: false });
    await eventually(async () => {
      const now = of('parley.events.stats', await listing());
      return now?.consumers === 1 && now.ready === 1;
    });
    await reader.close();
    await channel.purgeQueue(stats.main);
    assert.deepEqual((await call('DELETE', '/api/admin/queues/parley.events.stats/parked')).body, {
      discarded: 1,
    });
  });

  test('requeue without ids moves every parked job', async () => {
    const queue = 'message_sending_queue';
    for (const id of ['all-1', 'all-2']) await park(queue, id, { id });
    const res = await call('POST', `/api/admin/queues/${queue}/parked/requeue`);
    assert.deepEqual(res.body, { requeued: 2 });
    assert.deepEqual(await parked(queue), []);
    const { messageCount } = await channel.checkQueue(queuesOf(queue).main);
    assert.equal(messageCount, 2);
    await channel.purgeQueue(queuesOf(queue).main);
  });

  test('bad input is refused and changes nothing; only admins may act', async () => {
    await park('message_sending_queue', 'keep-me', { keep: true });
    const unknown = await call('GET', '/api/admin/queues/nope/parked');
    assert.equal(unknown.status, 400);
    assert.equal((unknown.body.error as { code: string }).code, 'validation_failed');
    for (const body of [{ ids: [] }, { ids: 'keep-me' }, { other: 1 }]) {
      const res = await call('DELETE', '/api/admin/queues/message_sending_queue/parked', body);
      assert.equal(res.status, 400, JSON.stringify(body));
    }
    const tooMany = await call('GET', '/api/admin/queues/message_sending_queue/parked?limit=501');
    assert.equal(tooMany.status, 400);
    const user = await registerUser(app.url);
    const forbidden = await call(
      'POST',
      '/api/admin/queues/message_sending_queue/parked/requeue',
      undefined,
      user,
    );
    assert.equal(forbidden.status, 403);
    assert.deepEqual(
      (await parked('message_sending_queue')).map((j) => j.id),
      ['keep-me'],
    );
  });
});
