import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TaskView } from '../../src/contracts/tasks.js';
import { atEnd, isolatedEnv, startTestApp } from '../support/app.js';
import { startIsolatedBroker } from '../support/broker.js';
import { http, registerUser } from '../support/http.js';
import { filesUnder, image, upload } from '../support/media.js';
import { connectSocket, eventually, record } from '../support/sockets.js';

describe('uploads while the broker is down (SPEC §12, §7)', () => {
  test('503; no file or attachment kept; the tasks the owner saw end failed; accepted again once it is back', async () => {
    const broker = await startIsolatedBroker();
    // Registered before the app, so it runs after the app's own cleanup.
    atEnd(() => broker.shutdown());
    const env = await isolatedEnv({ AMQP_URL: broker.url, AUTO_MESSAGE_QUEUE_CRON: '0 0 1 1 *' });
    const app = await startTestApp({ ...env, ROLE: 'api' });
    const alice = await registerUser(app.url);
    const socket = await connectSocket(app.url, alice.accessToken);
    const updates = record(socket, 'task_updated');
    const png = await image('png', 64, 48);

    const accepted = await upload(app.url, alice, [{ name: 'before.png', data: png }]);
    assert.equal(accepted.status, 202, 'uploads work while the broker is up');
    const filesBefore = await filesUnder(env.UPLOAD_DIR ?? '');

    await broker.stopApp();
    const refused = await upload(app.url, alice, [
      { name: 'a.png', data: png },
      { name: 'b.png', data: png },
    ]);
    assert.equal(refused.status, 503);
    assert.equal(refused.body.error?.code, 'unavailable');

    assert.deepEqual(await filesUnder(env.UPLOAD_DIR ?? ''), filesBefore, 'no file kept');
    const attachments = app.mongo.db.collection('attachments');
    assert.equal(await attachments.countDocuments({ ownerId: alice.user.id }), 1);
    const listed = await http<{ items: TaskView[] }>(app.url, 'GET', '/api/tasks?limit=10', {
      token: alice.accessToken,
    });
    const tasks = listed.body.items;
    assert.equal(tasks.length, 3);
    const withdrawn = tasks.filter((t) => t.id !== accepted.body.uploads[0]?.task.id);
    assert.deepEqual(
      withdrawn.map((t) => t.state),
      ['failed', 'failed'],
      'the refused upload’s tasks are failed, not left queued for ever',
    );
    assert.match(withdrawn[0]?.error ?? '', /could not be queued/);
    // Their owner heard both outcomes: queued, then failed.
    await eventually(
      () => updates.filter((u) => u.task.state === 'failed').length === 2,
      10_000,
      'task_updated failed for both',
    );

    // The broker back: uploads are accepted again (the app's cleanup needs it up too).
    await broker.startApp();
    await eventually(
      async () => (await upload(app.url, alice, [{ name: 'after.png', data: png }])).status === 202,
      30_000,
      'an upload accepted once the broker is back',
      500,
    );
    socket.disconnect();
  });
});
