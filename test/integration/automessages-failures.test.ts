/**
 * Failure tests for the auto-message pipeline (issue 5), against real RabbitMQ, the embedded
 * MongoDB engine and real processes. The scheduler race and planning sizes live in
 * automessages.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import amqp, { type Channel, type GetMessage } from 'amqplib';
import { ObjectId, type Db } from 'mongodb';
import type { MessageView } from '../../src/contracts/messages.js';
import {
  atEnd,
  isolatedEnv,
  registerAdmin,
  startTestApp,
  type TestApp,
  uniqueId,
} from '../support/app.js';
import { startIsolatedBroker } from '../support/broker.js';
import { http, registerUser, type Registered } from '../support/http.js';
import { startRoleProcess } from '../support/processes.js';
import { connectSocket, eventually, record } from '../support/sockets.js';

// Crons that never fire during a test: the tests drive each stage themselves.
const NO_CRON = { AUTO_MESSAGE_PLAN_CRON: '0 0 1 1 *', AUTO_MESSAGE_QUEUE_CRON: '0 0 1 1 *' };

const autosOf = (db: Db) => db.collection('automessages');
const messagesOf = (db: Db) => db.collection('messages');

async function registerUsers(app: TestApp, count: number): Promise<Registered[]> {
  const users = [await registerAdmin(app.url, app.config)];
  while (users.length < count) users.push(await registerUser(app.url));
  return users;
}

async function adminPost<T>(app: TestApp, admin: Registered, path: string, body?: unknown) {
  const res = await http<T>(app.url, 'POST', path, { token: admin.accessToken, body });
  assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Every due auto message a planning run over all users makes: one per pair, due now. */
const planDueNow = (app: TestApp, admin: Registered) =>
  adminPost<{ runId: string; pairs: number }>(app, admin, '/api/admin/auto-messages/plan', {
    sendDateTo: new Date().toISOString(),
  });

const queueNow = (app: TestApp, admin: Registered) =>
  adminPost<{ queued: number; failed: number }>(app, admin, '/api/admin/auto-messages/queue');

/** Auto messages with more than one Message: must always be empty. */
async function duplicateDeliveries(db: Db): Promise<unknown[]> {
  return messagesOf(db)
    .aggregate([
      { $match: { type: 'auto' } },
      { $group: { _id: '$autoMessageId', n: { $sum: 1 } } },
      { $match: { n: { $gt: 1 } } },
    ])
    .toArray();
}

/** Exactly one Message per auto message, each auto message sent, none queued-but-undelivered. */
async function assertDeliveredExactlyOnce(db: Db, total: number): Promise<void> {
  assert.deepEqual(await duplicateDeliveries(db), [], 'no auto message has two Messages');
  assert.equal(await messagesOf(db).countDocuments({ type: 'auto' }), total);
  assert.equal(await autosOf(db).countDocuments({ isSent: true }), total);
  assert.equal(await autosOf(db).countDocuments({ isQueued: true, isSent: false }), 0);
  const unlinked = await autosOf(db).countDocuments({ messageId: { $exists: false } });
  assert.equal(unlinked, 0, 'every sent auto message points at its Message');
}

async function withChannel<T>(url: string, use: (channel: Channel) => Promise<T>): Promise<T> {
  const connection = await amqp.connect(url);
  try {
    return await use(await connection.createChannel());
  } finally {
    await connection.close();
  }
}

describe('automatic messages under failure', () => {
  test('worker killed between the Message insert and the ack: after a restart, exactly one Message and one message_received per auto message', async () => {
    const env = await isolatedEnv({ WORKER_PREFETCH: '20', ...NO_CRON });
    const api = await startTestApp({ ...env, ROLE: 'api' });
    const users = await registerUsers(api, 16);
    const admin = users[0] as Registered;
    const received = new Map<string, { message: MessageView }[]>();
    for (const u of users)
      received.set(
        u.user.id,
        record(await connectSocket(api.url, u.accessToken), 'message_received'),
      );
    // Enough due messages that batched delivery is still running when the first kill lands.
    const total = 2000;
    await insertDue(api, users, total);

    const autos = autosOf(api.mongo.db);
    const messages = messagesOf(api.mongo.db);
    const startWorker = async () => {
      const worker = startRoleProcess('worker', env);
      await eventually(
        async () => (await api.infra.rabbit.queueStats()).main.consumers === 1,
        20_000,
        () => Promise.resolve(`no worker consuming; its stderr: ${worker.stderr()}`),
        200,
      );
      return worker;
    };
    let worker = await startWorker();
    assert.equal((await queueNow(api, admin)).queued, total);

    // Kill -9 while deliveries are in progress. A kill lands at a random point; it is repeated
    // (with a fresh worker) until one has landed after some Message insert and before that job's
    // isSent + ack — the window a crash must not turn into a lost or doubled message.
    let insertedNotAcked: string[] = [];
    let kills = 0;
    while (insertedNotAcked.length === 0 && kills < 6) {
      await eventually(
        async () => {
          const inserted = await messages.countDocuments({ type: 'auto' });
          const sent = await autos.countDocuments({ isSent: true });
          return inserted > sent || sent === total;
        },
        20_000,
        'deliveries in progress',
      );
      await worker.kill();
      kills += 1;
      const unsent = await autos.find({ isSent: false }, { projection: { _id: 1 } }).toArray();
      if (unsent.length === 0) break;
      insertedNotAcked = (
        await messages
          .find({ autoMessageId: { $in: unsent.map((a) => a._id) } }, { projection: { _id: 1 } })
          .toArray()
      ).map((m) => m._id.toHexString());
      if (insertedNotAcked.length === 0) worker = await startWorker();
    }
    const sentAtKill = await autos.countDocuments({ isSent: true });
    assert.ok(sentAtKill < total, `killed before the end (${sentAtKill}/${total} sent)`);
    assert.ok(
      insertedNotAcked.length > 0,
      `after ${kills} kills, one landed after some Message insert, before its ack`,
    );

    const second = startRoleProcess('worker', env);
    await eventually(
      async () => (await autos.countDocuments({ isSent: true })) === total,
      30_000,
      async () =>
        `${await autos.countDocuments({ isSent: true })}/${total} sent after the restart; ` +
        `worker stderr: ${second.stderr()}`,
      200,
    );
    await assertDeliveredExactlyOnce(api.mongo.db, total);

    // Each receiver's socket: one event per auto message addressed to them, carrying its Message.
    const expected = new Map<string, string[]>(users.map((u) => [u.user.id, []]));
    for (const auto of await autos.find().toArray())
      expected.get(String(auto.receiverId))?.push(String(auto.messageId));
    const autoEventsTo = (userId: string) =>
      (received.get(userId) ?? [])
        .filter((p) => p.message.type === 'auto' && p.message.senderId !== userId)
        .map((p) => p.message.id);
    // All emits precede the last isSent, and Redis pub/sub keeps order: once every expected event
    // is in, any duplicate would be in too.
    const complete = () =>
      users.every((u) => autoEventsTo(u.user.id).length >= (expected.get(u.user.id) ?? []).length);
    await eventually(complete, 10_000, 'every receiver socket got its auto messages').catch(
      (error: unknown) => {
        const missing = users.flatMap((u) => {
          const got = new Set(autoEventsTo(u.user.id));
          return (expected.get(u.user.id) ?? []).filter((id) => !got.has(id));
        });
        const cut = missing.filter((id) => insertedNotAcked.includes(id)).length;
        assert.fail(
          `${missing.length} message_received never arrived, ${cut} of them for Messages the ` +
            `killed worker had inserted but not marked sent (${String(error)})`,
        );
      },
    );
    for (const u of users)
      assert.deepEqual(autoEventsTo(u.user.id).sort(), (expected.get(u.user.id) ?? []).sort());
    await second.stop();
  });

  test('broker stopped while queueing and started again: each auto message delivered once, none stuck queued', async (t) => {
    const broker = await startIsolatedBroker();
    // Registered before the app, so it runs after the app's own cleanup (which deletes queues).
    atEnd(() => broker.shutdown());
    const env = await isolatedEnv({ AMQP_URL: broker.url, ...NO_CRON });
    const app = await startTestApp({ ...env, ROLE: 'all' });
    const users = await registerUsers(app, 10);
    const batch = 500;
    await insertDue(app, users, batch);
    const autos = autosOf(app.mongo.db);

    // Queue runs back to back, each with fresh due messages, until after the broker is back:
    // whatever the timing, runs are publishing while the broker is down.
    const runs: { result: unknown; error: unknown }[] = [];
    let outageOver = false;
    const producer = (async () => {
      while (!outageOver) {
        runs.push(
          await app.services.autoMessages.queueNow().then(
            (result) => ({ result, error: null }),
            (error: unknown) => ({ result: null, error }),
          ),
        );
        if (!outageOver) await insertDue(app, users, batch);
      }
    })();
    await eventually(
      async () => (await autos.countDocuments({ isQueued: true })) > 0,
      20_000,
      'the first batch confirmed',
    );
    const stoppedAt = Date.now();
    await broker.stopApp();
    const stopAppMs = Date.now() - stoppedAt;
    // A run that starts after stop_app cannot publish: wait for one to fail.
    await eventually(() => runs.some((r) => r.error !== null), 30_000, 'a queue run refused');
    const firstRun = runs.find((r) => r.error !== null) ?? { result: null, error: null };
    const queuedBeforeStop = await autos.countDocuments({ isQueued: true });
    await broker.startApp();
    outageOver = true;
    await producer;
    const total = await autos.countDocuments();
    const restartedAt = Date.now();
    // The queue stage runs again (as its cron would) until nothing is left unqueued.
    await eventually(
      async () => {
        await app.services.autoMessages.queueNow().catch(() => undefined);
        return (await autos.countDocuments({ isQueued: false })) === 0;
      },
      30_000,
      async () => {
        const left = await autos.countDocuments({ isQueued: false });
        const claimed = await autos.countDocuments({ isQueued: false, claimToken: { $exists: 1 } });
        return `${left} never queued after the restart, ${claimed} of them still claimed; first run: ${describeRun(firstRun)}`;
      },
      200,
    );
    const requeuedMs = Date.now() - restartedAt;
    await eventually(
      async () => (await autos.countDocuments({ isSent: true })) === total,
      40_000,
      async () =>
        `${await autos.countDocuments({ isSent: true })}/${total} delivered after the restart`,
      200,
    );
    const recoveredMs = Date.now() - restartedAt;
    await assertDeliveredExactlyOnce(app.mongo.db, total);
    const depths = await app.infra.rabbit.queueStats();
    assert.deepEqual([depths.main.ready, depths.dead.ready], [0, 0]);
    t.diagnostic(
      `${queuedBeforeStop}/${total} queued before stop_app (${stopAppMs} ms); first run ` +
        `${describeRun(firstRun)}; after start_app: all queued in ${requeuedMs} ms, all ` +
        `delivered in ${recoveredMs} ms; stop_app → all delivered ${Date.now() - stoppedAt} ms`,
    );
  });

  test('a poison job is parked after N attempts with its error, an invalid payload at once, while other jobs keep flowing', async () => {
    const env = await isolatedEnv({
      AUTO_MESSAGE_RETRY_DELAYS_MS: '1000,2000',
      AUTO_MESSAGE_MAX_ATTEMPTS: '3',
      ...NO_CRON,
    });
    const app = await startTestApp({ ...env, ROLE: 'all' });
    const users = await registerUsers(app, 6);
    const admin = users[0] as Registered;
    const { main, dead } = app.infra.rabbit.queues;

    // One content value the messages collection refuses twice: the poison job's insert fails on
    // every attempt with a duplicate key that is not its own autoMessageId (so not a redelivery).
    const poisonContent = `poison ${uniqueId()}`;
    await messagesOf(app.mongo.db).createIndex(
      { content: 1 },
      { unique: true, name: 'test_poison', partialFilterExpression: { content: poisonContent } },
    );
    await messagesOf(app.mongo.db).insertOne({ content: poisonContent, type: 'text' });
    const [poisonId] = await insertAutos(app, [
      { from: users[1] as Registered, to: users[2] as Registered, content: poisonContent },
    ]);
    await withChannel(app.config.AMQP_URL, async (channel) => {
      channel.sendToQueue(main, Buffer.from(JSON.stringify({ autoMessageId: 'not-an-id' })), {
        persistent: true,
        messageId: 'invalid-payload',
      });
      await channel.checkQueue(main); // a round trip: the publish above has reached the broker
    });
    assert.equal((await queueNow(app, admin)).queued, 1);
    const lifecycle = () => poisonLifecycle(app, admin, poisonId as string);
    await eventually(async () => (await lifecycle()).attempts >= 1, 10_000, 'first failure');

    // While the poison job waits in its retry queues, new jobs go straight through.
    const normal = (await planDueNow(app, admin)).pairs;
    assert.equal((await queueNow(app, admin)).queued, normal);
    await eventually(
      async () => (await autosOf(app.mongo.db).countDocuments({ isSent: true })) === normal,
      10_000,
      'the other jobs delivered',
    );
    assert.ok((await lifecycle()).attempts < 3, 'other jobs did not wait for the poison job');

    await eventually(
      async () => (await app.infra.rabbit.queueStats()).dead.ready === 2,
      15_000,
      'both jobs parked',
    );
    const parked = await drain(app.config.AMQP_URL, dead);
    const byId = new Map(parked.map((m) => [m.properties.messageId as string, m]));
    const invalid = byId.get('invalid-payload')?.properties.headers ?? {};
    assert.equal(invalid['x-attempts'], 1, 'an invalid payload is parked without retries');
    assert.match(String(invalid['x-last-error']), /UnrecoverableJobError: invalid payload/);
    const poison = byId.get(poisonId as string)?.properties.headers ?? {};
    assert.equal(poison['x-attempts'], 3);
    assert.match(String(poison['x-last-error']), /duplicate key|E11000/i);
    const parkedJob = JSON.parse(byId.get(poisonId as string)?.content.toString() ?? '{}') as {
      content?: string;
    };
    assert.equal(parkedJob.content, poisonContent, 'the parked job is the original payload');

    const final = await lifecycle();
    assert.equal(final.state, 'queued');
    assert.equal(final.attempts, 3);
    assert.match(final.lastError ?? '', /duplicate key|E11000/i);
    const poisonMessages = await messagesOf(app.mongo.db).countDocuments({
      autoMessageId: new ObjectId(poisonId),
    });
    assert.equal(poisonMessages, 0);
    const normalAttempts = await autosOf(app.mongo.db).distinct('attempts', { isSent: true });
    assert.deepEqual(normalAttempts, [1]);
    const depths = await app.infra.rabbit.queueStats();
    assert.deepEqual([depths.main.ready, depths.dead.ready], [0, 0]);
  });

  test('a job whose receiver no longer exists is parked at once with the reason; its batch-mates are delivered', async () => {
    // Retries a minute apart: a job that were retried could not reach the dead queue in time.
    const env = await isolatedEnv({
      AUTO_MESSAGE_RETRY_DELAYS_MS: '60000,60000',
      AUTO_MESSAGE_MAX_ATTEMPTS: '3',
      ...NO_CRON,
    });
    const app = await startTestApp({ ...env, ROLE: 'all' });
    const [admin, alice, bob, gone] = (await registerUsers(app, 4)) as [
      Registered,
      Registered,
      Registered,
      Registered,
    ];
    const [deliverableId, ghostId] = await insertAutos(app, [
      { from: alice, to: bob, content: 'hello bob' },
      { from: alice, to: gone, content: 'hello nobody' },
    ]);
    const removed = await app.mongo.db
      .collection('users')
      .deleteOne({ _id: new ObjectId(gone.user.id) });
    assert.equal(removed.deletedCount, 1);

    assert.equal((await queueNow(app, admin)).queued, 2);
    await eventually(
      async () => (await app.infra.rabbit.queueStats()).dead.ready === 1,
      15_000,
      'the job for the removed user parked',
    );
    await eventually(
      async () => (await autosOf(app.mongo.db).countDocuments({ isSent: true })) === 1,
      10_000,
      'the other job delivered',
    );
    const [parked, ...more] = await drain(app.config.AMQP_URL, app.infra.rabbit.queues.dead);
    assert.equal(more.length, 0);
    assert.equal(parked?.properties.messageId, ghostId);
    const headers = parked?.properties.headers ?? {};
    assert.equal(headers['x-attempts'], 1, 'parked on its first attempt, no retries');
    assert.match(
      String(headers['x-last-error']),
      new RegExp(`UnrecoverableJobError: user ${gone.user.id} no longer exists`),
    );
    const lifecycle = await poisonLifecycle(app, admin, ghostId as string);
    assert.equal(lifecycle.state, 'queued');
    assert.match(lifecycle.lastError ?? '', /no longer exists/);
    const ghostMessages = await messagesOf(app.mongo.db).countDocuments({
      autoMessageId: new ObjectId(ghostId),
    });
    assert.equal(ghostMessages, 0, 'no Message for a user that is gone');
    const sent = await autosOf(app.mongo.db).findOne({ _id: new ObjectId(deliverableId) });
    assert.equal(sent?.isSent, true);
  });
});

function describeRun(run: { result: unknown; error: unknown }): string {
  if (run.error === null) return JSON.stringify(run.result);
  return `failed (${run.error instanceof Error ? `${run.error.name}: ${run.error.message}` : 'non-Error'})`;
}

/** `count` due auto messages among `users`, written by the planner's own repository. */
async function insertDue(app: TestApp, users: Registered[], count: number): Promise<void> {
  const batch: { from: Registered; to: Registered; content: string }[] = [];
  for (let i = 0; i < count; i += 1) {
    const from = users[i % users.length] as Registered;
    const to = users[(i + 1 + (i % (users.length - 1))) % users.length] as Registered;
    batch.push({ from, to, content: `due #${i}` });
    if (batch.length === 1000) await insertAutos(app, batch.splice(0));
  }
  await insertAutos(app, batch);
}

async function insertAutos(
  app: TestApp,
  items: { from: Registered; to: Registered; content: string }[],
): Promise<string[]> {
  const runId = `test-${uniqueId()}`;
  const sendDate = new Date(Date.now() - 1000);
  await app.services.repos.autoMessages.insertBatch(
    items.map((i) => ({
      senderId: i.from.user.id,
      receiverId: i.to.user.id,
      content: i.content,
      sendDate,
      runId,
    })),
  );
  const docs = await autosOf(app.mongo.db).find({ runId }).toArray();
  return docs.map((d) => d._id.toHexString());
}

async function poisonLifecycle(app: TestApp, admin: Registered, id: string) {
  const res = await http<{
    lifecycle: { state: string; attempts: number; lastError: string | null };
  }>(app.url, 'GET', `/api/admin/auto-messages/${id}`, { token: admin.accessToken });
  assert.equal(res.status, 200);
  return res.body.lifecycle;
}

/** Takes every message off a queue (basic.get + ack). */
async function drain(url: string, queue: string): Promise<GetMessage[]> {
  return withChannel(url, async (channel) => {
    const taken: GetMessage[] = [];
    for (let msg = await channel.get(queue); msg !== false; msg = await channel.get(queue)) {
      taken.push(msg);
      channel.ack(msg);
    }
    return taken;
  });
}
