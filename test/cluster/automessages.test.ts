import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { registerAdmin } from '../support/app.js';
import { http, registerUser, type Registered } from '../support/http.js';
import { connectSocket, eventually, record } from '../support/sockets.js';
import { skipWithoutNginx, startTestCluster, type TestCluster } from './support.js';

const USERS = 12;

describe('two schedulers and two workers', { skip: skipWithoutNginx }, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startTestCluster(
      { instances: 1, workers: 2, schedulers: 2 },
      // Both schedulers fire the queue job every second; the run record lets one of them run it.
      { AUTO_MESSAGE_QUEUE_CRON: '* * * * * *' },
    );
  });

  test('every auto message is published once and delivered exactly once', async () => {
    // The cluster's probe user is a user too, so planning pairs it like anyone else.
    const users: Registered[] = [await registerAdmin(cluster.url, cluster.env), cluster.probe];
    while (users.length < USERS) users.push(await registerUser(cluster.url));
    const sockets = await Promise.all(users.map((u) => connectSocket(cluster.url, u.accessToken)));
    const received = sockets.map((s) => record(s, 'message_received'));

    const admin = users[0] as Registered;
    const planned = await http<{ runId: string; pairs: number }>(
      cluster.url,
      'POST',
      '/api/admin/auto-messages/plan',
      { token: admin.accessToken, body: { sendDateTo: new Date().toISOString() } },
    );
    assert.equal(planned.status, 200);
    assert.equal(planned.body.pairs, USERS / 2);

    // Nobody calls the queue route: the schedulers' cron ticks publish, the workers deliver.
    const autos = cluster.db.collection('automessages');
    await eventually(
      async () =>
        (await autos.countDocuments({ runId: planned.body.runId, isSent: true })) === USERS / 2,
      20_000,
      'every auto message delivered',
    );
    const queueRuns = await cluster.db
      .collection<{ counts: { queued?: number } }>('jobruns')
      .find({ name: 'auto-message-queue', trigger: 'cron' })
      .toArray();
    const published = queueRuns.reduce((n, run) => n + (run.counts.queued ?? 0), 0);
    assert.equal(published, USERS / 2, 'each published once across both schedulers');
    await eventually(
      async () => {
        type Depth = { ready: number; consumers: number };
        const res = await http<{ main: Depth; dead: Depth }>(
          cluster.url,
          'GET',
          '/api/admin/queues',
          { token: admin.accessToken },
        );
        const { main, dead } = res.body;
        return res.status === 200 && main.ready === 0 && main.consumers === 2 && dead.ready === 0;
      },
      10_000,
      'queue drained, two competing consumers, nothing parked',
    );

    for (const auto of await autos.find({ runId: planned.body.runId }).toArray()) {
      const receiver = users.findIndex((u) => u.user.id === String(auto.receiverId));
      const events = () =>
        (received[receiver] ?? []).filter(
          (p) => p.message.type === 'auto' && p.message.id === String(auto.messageId),
        );
      await eventually(() => events().length > 0, 5000, 'receiver event');
      assert.equal(events().length, 1, 'one message_received per auto message');
    }
    const messages = await cluster.db.collection('messages').countDocuments({ type: 'auto' });
    assert.equal(messages, USERS / 2, 'one stored message per auto message');
  });
});
