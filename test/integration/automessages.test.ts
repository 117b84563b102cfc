import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ObjectId } from 'mongodb';
import { http, registerUser, type Registered } from '../support/http.js';
import { isolatedEnv, registerAdmin, startTestApp, type TestApp } from '../support/app.js';
import { connectSocket, eventually, record } from '../support/sockets.js';

interface AutoDoc {
  _id: ObjectId;
  senderId: ObjectId;
  receiverId: ObjectId;
  content: string;
}

async function appWithAdmin(overrides: Record<string, string> = {}) {
  const app = await startTestApp(await isolatedEnv(overrides));
  const admin = await registerAdmin(app.url, app.config);
  return { app, admin };
}

interface PlanBody {
  runId: string;
  pairs: number;
  unpairedUserId: string | null;
  durationMs: number;
}

const plan = (
  app: TestApp,
  admin: Registered,
  body: unknown = { sendDateTo: new Date().toISOString() },
) =>
  http<PlanBody>(app.url, 'POST', '/api/admin/auto-messages/plan', {
    token: admin.accessToken,
    body,
  });

describe('automatic messages', () => {
  test('planning pairs 0, 1, 2 and an odd number of users, reporting the odd one out', async () => {
    const { app, admin } = await appWithAdmin();
    const first = await plan(app, admin);
    assert.equal(first.status, 200);
    assert.deepEqual([first.body.pairs, first.body.unpairedUserId], [0, admin.user.id]);
    const second = await registerUser(app.url);
    const two = await plan(app, admin);
    assert.deepEqual([two.body.pairs, two.body.unpairedUserId], [1, null]);
    const third = await registerUser(app.url);
    const three = await plan(app, admin);
    assert.equal(three.body.pairs, 1);
    assert.ok(
      [admin.user.id, second.user.id, third.user.id].includes(three.body.unpairedUserId ?? ''),
    );
    const planned = await app.services.repos.autoMessages.countByRun(three.body.runId);
    assert.equal(planned, 1);
  });

  test('planning with no users at all', async () => {
    const app = await startTestApp(await isolatedEnv());
    const result = await app.services.autoMessages.plan('empty-run', new Date(), new Date());
    assert.deepEqual(result, { users: 0, pairs: 0, unpairedUserId: null });
  });

  test('operator routes are for admins only, and validate the window', async () => {
    const { app, admin } = await appWithAdmin();
    const user = await registerUser(app.url);
    for (const [method, path] of [
      ['POST', '/api/admin/auto-messages/plan'],
      ['POST', '/api/admin/auto-messages/queue'],
      ['GET', '/api/admin/jobs/runs'],
      ['GET', '/api/admin/queues'],
      ['GET', '/api/admin/auto-messages/0123456789abcdef01234567'],
    ] as const) {
      assert.equal(
        (await http(app.url, method, path, { token: user.accessToken })).status,
        403,
        path,
      );
      assert.equal((await http(app.url, method, path)).status, 401, path);
    }
    const inverted = await plan(app, admin, {
      sendDateFrom: '2030-01-02T00:00:00Z',
      sendDateTo: '2030-01-01T00:00:00Z',
    });
    assert.equal(inverted.status, 400);
    assert.equal((await plan(app, admin, { sendDateTo: 'tomorrow' })).status, 400);
    const missing = await http(
      app.url,
      'GET',
      '/api/admin/auto-messages/0123456789abcdef01234567',
      { token: admin.accessToken },
    );
    assert.equal(missing.status, 404);
  });

  test('plan → queue → deliver: each receiver socket gets exactly one auto message', async () => {
    const { app, admin } = await appWithAdmin();
    const users = [admin];
    for (let i = 0; i < 7; i += 1) users.push(await registerUser(app.url));
    const sockets = await Promise.all(users.map((u) => connectSocket(app.url, u.accessToken)));
    const received = sockets.map((s) => record(s, 'message_received'));

    const planned = await plan(app, admin);
    assert.equal(planned.body.pairs, 4);
    const queued = await http<{ runId: string; queued: number }>(
      app.url,
      'POST',
      '/api/admin/auto-messages/queue',
      { token: admin.accessToken },
    );
    assert.equal(queued.status, 200);
    assert.equal(queued.body.queued, 4);

    const autos = await app.mongo.db
      .collection<AutoDoc>('automessages')
      .find({ runId: planned.body.runId })
      .toArray();
    await eventually(
      async () =>
        (await app.mongo.db
          .collection('automessages')
          .countDocuments({ runId: planned.body.runId, isSent: true })) === 4,
      10_000,
      'all four delivered',
    );
    for (const auto of autos) {
      const receiver = users.findIndex((u) => u.user.id === auto.receiverId.toHexString());
      const sender = users.findIndex((u) => u.user.id === auto.senderId.toHexString());
      await eventually(
        () => (received[receiver] ?? []).some((p) => p.message.type === 'auto'),
        5000,
        'receiver event',
      );
      const autosForReceiver = (received[receiver] ?? []).filter(
        (p) => p.message.type === 'auto' && p.message.senderId === auto.senderId.toHexString(),
      );
      assert.equal(autosForReceiver.length, 1);
      assert.equal(autosForReceiver[0]?.message.content, auto.content);
      assert.ok(sender >= 0);
    }
    assert.equal(await app.mongo.db.collection('messages').countDocuments({ type: 'auto' }), 4);
    // The sockets connected before the pairs existed (their contact lists were cached empty):
    // the new direct conversations must reach presence, or nobody hears the partner go offline.
    for (const auto of autos) {
      const contacts = await app.services.membership.contacts(auto.receiverId.toHexString());
      assert.ok(contacts.includes(auto.senderId.toHexString()), 'partner is a contact');
    }

    const lifecycle = await http<{ lifecycle: { state: string; attempts: number } }>(
      app.url,
      'GET',
      `/api/admin/auto-messages/${autos[0]?._id.toHexString()}`,
      { token: admin.accessToken },
    );
    assert.equal(lifecycle.body.lifecycle.state, 'delivered');
    assert.equal(lifecycle.body.lifecycle.attempts, 1);
    const again = await http<{ queued: number }>(
      app.url,
      'POST',
      '/api/admin/auto-messages/queue',
      { token: admin.accessToken },
    );
    assert.equal(again.body.queued, 0, 'nothing is published twice');

    const runs = await http<{ items: { name: string; outcome: string }[] }>(
      app.url,
      'GET',
      '/api/admin/jobs/runs?limit=10',
      { token: admin.accessToken },
    );
    assert.deepEqual(
      runs.body.items.slice(0, 2).map((r) => [r.name, r.outcome]),
      [
        ['auto-message-queue', 'succeeded'],
        ['auto-message-queue', 'succeeded'],
      ],
    );
    const queues = await http<{
      main: { queue: string; consumers: number };
      dead: { ready: number };
    }>(app.url, 'GET', '/api/admin/queues', { token: admin.accessToken });
    assert.equal(queues.status, 200);
    assert.match(queues.body.main.queue, /message_sending_queue$/);
    assert.equal(queues.body.main.consumers, 1);
    assert.equal(queues.body.dead.ready, 0);
  });

  test('two schedulers on the same tick: one run, each message published once', async () => {
    // The test apps run the scheduler role too: its every-minute queue cron must not claim the
    // tick (or the due messages) this test races for, so it fires once a year here.
    const env = await isolatedEnv({ AUTO_MESSAGE_QUEUE_CRON: '0 0 1 1 *' });
    const [a, b] = [await startTestApp(env), await startTestApp(env)];
    for (let i = 0; i < 40; i += 1) await registerUser(a.url);
    await a.services.autoMessages.plan('race-plan', new Date(Date.now() - 1000), new Date());
    const tick = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    const results = await Promise.all(
      [a, b].map((app) =>
        app.services.runner.runOnce('auto-message-queue', tick, (runId) =>
          app.services.autoMessages.queueDue(runId),
        ),
      ),
    );
    assert.equal(results.filter((r) => r === null).length, 1, 'exactly one scheduler ran the tick');
    assert.equal(results.find((r) => r !== null)?.counts.queued, 20);
    // Even without the run lock, overlapping queue runs never publish a message twice.
    await a.services.autoMessages.plan('race-plan-2', new Date(Date.now() - 1000), new Date());
    const overlapping = await Promise.all(
      [a, b].map((app, i) => app.services.autoMessages.queueDue(`overlap-${i}`)),
    );
    assert.equal(
      overlapping.reduce((n, r) => n + r.queued, 0),
      20,
    );
    await eventually(
      async () => (await a.mongo.db.collection('messages').countDocuments({ type: 'auto' })) === 40,
      10_000,
      'all delivered',
    );
    const dupes = await a.mongo.db
      .collection('messages')
      .aggregate([
        { $group: { _id: '$autoMessageId', n: { $sum: 1 } } },
        { $match: { n: { $gt: 1 } } },
      ])
      .toArray();
    assert.deepEqual(dupes, []);
  });
});
