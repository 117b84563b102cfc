import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { TaskView } from '../../src/contracts/tasks.js';
import { isolatedEnv, startTestApp, type TestApp } from '../support/app.js';
import { http, registerUser, type Registered } from '../support/http.js';
import {
  attachment,
  content,
  filesUnder,
  finishedTask,
  upload,
  type Upload,
} from '../support/media.js';
import { startRoleProcess, type RoleProcess } from '../support/processes.js';
import {
  connectSocket,
  eventually,
  nextEvent,
  record,
  type ClientSocket,
} from '../support/sockets.js';

/** A JPEG whose processing takes seconds (42 megapixels), so a test can act while it runs. */
async function slowJpeg(): Promise<Buffer> {
  const side = 6500;
  return sharp({ create: { width: side, height: side, channels: 3, background: '#468' } })
    .composite([
      {
        input: Buffer.from(
          `<svg width="${side}" height="${side}"><circle cx="3250" cy="3250" r="2100" fill="#c42"/></svg>`,
        ),
      },
    ])
    .jpeg({ quality: 90 })
    .toBuffer();
}

describe('media worker: cancellation and a worker killed mid-processing (SPEC §12)', () => {
  let api: TestApp;
  let env: Record<string, string>;
  let alice: Registered;
  let socket: ClientSocket;
  let big: Buffer;
  let worker: RoleProcess | null = null;

  before(async () => {
    env = await isolatedEnv({ MEDIA_CONCURRENCY: '1' });
    // The api alone: media jobs wait in the queue until a worker process is started.
    api = await startTestApp({ ...env, ROLE: 'api' });
    alice = await registerUser(api.url);
    socket = await connectSocket(api.url, alice.accessToken);
    big = await slowJpeg();
  });

  const startWorker = () => {
    worker = startRoleProcess('worker', env);
    return worker;
  };

  const uploadBig = async (): Promise<Upload> => {
    const res = await upload(api.url, alice, [{ name: 'big.jpg', data: big }]);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return res.body.uploads[0] as Upload;
  };

  const running = (taskId: string) =>
    nextEvent(
      socket,
      'task_updated',
      (u) => u.task.id === taskId && u.task.state === 'running',
      60_000,
    );

  const cancel = (taskId: string) =>
    http<{ task: TaskView }>(api.url, 'POST', `/api/tasks/${taskId}/cancel`, {
      token: alice.accessToken,
    });

  test('a task cancelled while queued never runs; its upload is removed when the job arrives', async () => {
    const u = await uploadBig();
    const res = await cancel(u.task.id);
    assert.equal(res.status, 200);
    assert.equal(res.body.task.state, 'cancelled');
    startWorker();
    await eventually(
      async () =>
        (await attachment(api.url, alice, u.attachment.id)).body.attachment.status === 'failed',
      30_000,
      'the worker to discard the cancelled upload',
    );
    const view = (await attachment(api.url, alice, u.attachment.id)).body.attachment;
    assert.equal(view.error, 'Processing was cancelled');
    assert.equal((await content(api.url, alice, u.attachment.id)).status, 404);
    assert.equal((await finishedTask(api.url, alice, u.task.id)).state, 'cancelled');
    assert.deepEqual(await filesUnder(env.UPLOAD_DIR ?? ''), []);
  });

  test('a running task stops when cancelled; what it wrote is removed', async () => {
    const u = await uploadBig();
    await running(u.task.id);
    const res = await cancel(u.task.id);
    assert.equal(res.status, 200);
    const task = await finishedTask(api.url, alice, u.task.id);
    // It may have finished in the instant between "running" and the cancel: then 409 above.
    assert.equal(task.state, 'cancelled');
    assert.equal(
      (await attachment(api.url, alice, u.attachment.id)).body.attachment.status,
      'failed',
    );
    assert.deepEqual(await filesUnder(env.UPLOAD_DIR ?? ''), []);
  });

  test('kill -9 of the worker mid-processing: the task still finishes, exactly once', async () => {
    const u = await uploadBig();
    const updates = record(socket, 'task_updated');
    await running(u.task.id);
    await worker?.kill();
    startWorker();
    const task = await finishedTask(api.url, alice, u.task.id);
    assert.equal(task.state, 'succeeded', task.error);
    const view = (await attachment(api.url, alice, u.attachment.id)).body.attachment;
    assert.equal(view.status, 'ready');
    assert.deepEqual([view.width, view.height], [6500, 6500]);
    const thumb = await content(api.url, alice, u.attachment.id, '600');
    assert.deepEqual(
      [(await sharp(thumb.body).metadata()).width, thumb.headers.get('content-type')],
      [600, 'image/webp'],
    );
    // Events after the final one would have arrived by the time the HTTP answer did; wait for
    // the succeeded event itself, then count.
    await eventually(() =>
      updates.some((x) => x.task.id === u.task.id && x.task.state === 'succeeded'),
    );
    const finals = updates.filter(
      (x) => x.task.id === u.task.id && ['succeeded', 'failed', 'cancelled'].includes(x.task.state),
    );
    assert.equal(finals.length, 1);
  });
});
