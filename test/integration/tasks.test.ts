import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { MongoClient, ObjectId } from 'mongodb';
import type { TaskView } from '../../src/contracts/tasks.js';
import { TaskFailedError, type TaskWork } from '../../src/modules/tasks/task-runner.js';
import { atEnd, isolatedEnv, registerAdmin, startTestApp, type TestApp } from '../support/app.js';
import { http, registerUser, type Registered } from '../support/http.js';
import {
  connectSocket,
  eventually,
  nextEvent,
  record,
  type ClientSocket,
} from '../support/sockets.js';

const FIRST = { attempt: 1, redelivered: false, finalAttempt: false };

describe('tasks (SPEC §12): store, API, task_updated, cancellation', () => {
  let app: TestApp;
  let env: Record<string, string>;
  let alice: Registered;
  let bob: Registered;
  let admin: Registered;
  let aliceSocket: ClientSocket;
  let dir: string;

  const call = (who: Registered, method: string, path: string) =>
    http<{ task: TaskView; items: TaskView[]; nextCursor: string | null }>(app.url, method, path, {
      token: who.accessToken,
    });
  const newTask = (owner: Registered = alice) =>
    app.services.tasks.create('test.work', owner.user.id, { n: 1 });
  const run = (
    id: string,
    work: TaskWork,
    delivery = FIRST,
    signal = new AbortController().signal,
  ) => app.services.taskRunner.run(id, work, delivery, signal);

  before(async () => {
    env = await isolatedEnv({ AUTO_MESSAGE_QUEUE_CRON: '0 0 1 1 *' });
    app = await startTestApp(env);
    alice = await registerUser(app.url);
    bob = await registerUser(app.url);
    admin = await registerAdmin(app.url, env);
    aliceSocket = await connectSocket(app.url, alice.accessToken);
    dir = await mkdtemp(join(tmpdir(), 'parley-tasks-'));
    atEnd(() => rm(dir, { recursive: true, force: true }));
  });

  test('the owner and admins see a task; anyone else gets 404', async () => {
    const task = await newTask();
    assert.equal(task.state, 'queued');
    assert.equal(task.progress, 0);
    const own = await call(alice, 'GET', `/api/tasks/${task.id}`);
    assert.equal(own.status, 200);
    assert.deepEqual(own.body.task, task);
    assert.equal((await call(admin, 'GET', `/api/tasks/${task.id}`)).status, 200);
    assert.equal((await call(bob, 'GET', `/api/tasks/${task.id}`)).status, 404);
    assert.equal((await call(bob, 'POST', `/api/tasks/${task.id}/cancel`)).status, 404);
    assert.equal((await call(alice, 'GET', '/api/tasks/nope')).status, 404);
  });

  test('lists filter by state, page by cursor, and all=true is for admins', async () => {
    const owner = await registerUser(app.url);
    const ids = [];
    for (let i = 0; i < 3; i += 1) ids.push((await newTask(owner)).id);
    await run(ids[0] ?? '', () => Promise.resolve({ done: true }));
    const active = await call(owner, 'GET', '/api/tasks?state=active&limit=1');
    assert.equal(active.status, 200);
    assert.deepEqual(
      active.body.items.map((t) => t.id),
      [ids[2]],
    );
    const rest = await call(
      owner,
      'GET',
      `/api/tasks?state=active&cursor=${active.body.nextCursor}`,
    );
    assert.deepEqual(
      rest.body.items.map((t) => t.id),
      [ids[1]],
    );
    assert.equal(rest.body.nextCursor, null);
    const done = await call(owner, 'GET', '/api/tasks?state=succeeded');
    assert.deepEqual(
      done.body.items.map((t) => [t.id, t.progress, t.result]),
      [[ids[0], 1, { done: true }]],
    );
    assert.equal((await call(owner, 'GET', '/api/tasks')).body.items.length, 3);
    assert.equal((await call(owner, 'GET', '/api/tasks?all=true')).status, 403);
    assert.equal((await call(owner, 'GET', '/api/tasks?state=bogus')).status, 400);
    const everyone = await call(admin, 'GET', '/api/tasks?all=true&limit=100');
    assert.ok(ids.every((id) => everyone.body.items.some((t) => t.id === id)));
  });

  test('cancelling a queued task is immediate; its job then does nothing; a second cancel is 409', async () => {
    const task = await newTask();
    const updates = record(aliceSocket, 'task_updated');
    const res = await call(alice, 'POST', `/api/tasks/${task.id}/cancel`);
    assert.equal(res.status, 200);
    assert.equal(res.body.task.state, 'cancelled');
    assert.ok(res.body.task.finishedAt);
    await eventually(() =>
      updates.some((u) => u.task.id === task.id && u.task.state === 'cancelled'),
    );
    let ran = false;
    await run(task.id, () => {
      ran = true;
      return Promise.resolve({});
    });
    assert.equal(ran, false, 'a cancelled task must not run');
    assert.equal((await call(alice, 'POST', `/api/tasks/${task.id}/cancel`)).status, 409);
  });

  test('cancelling a running task aborts its signal; the work removes its partial output', async () => {
    const task = await newTask();
    const partial = join(dir, `${task.id}.part`);
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const finished = run(task.id, async ({ signal }) => {
      await writeFile(partial, 'half');
      started();
      await new Promise<void>((resolve) =>
        signal.addEventListener('abort', () => resolve(), { once: true }),
      );
      await rm(partial, { force: true });
      signal.throwIfAborted();
      return {};
    });
    await running;
    const cancelled = nextEvent(
      aliceSocket,
      'task_updated',
      (u) => u.task.id === task.id && u.task.state === 'cancelled',
    );
    const res = await call(alice, 'POST', `/api/tasks/${task.id}/cancel`);
    assert.equal(res.status, 200);
    assert.equal(res.body.task.state, 'running');
    assert.equal(res.body.task.cancelRequested, true);
    await finished;
    await cancelled;
    assert.equal(existsSync(partial), false, 'partial output removed');
    const after = await call(alice, 'GET', `/api/tasks/${task.id}`);
    assert.equal(after.body.task.state, 'cancelled');
    assert.equal(after.body.task.cancelRequested, undefined);
  });

  test('progress reaches the owner throttled: a burst of 500 reports sends one', async () => {
    const task = await newTask();
    const updates = record(aliceSocket, 'task_updated');
    await run(task.id, async ({ progress }) => {
      for (let i = 1; i <= 500; i += 1) progress(i / 1000);
      await new Promise((r) => setImmediate(r));
      return { ok: true };
    });
    await eventually(() =>
      updates.some((u) => u.task.id === task.id && u.task.state === 'succeeded'),
    );
    // The creation's `queued` may still be on its way when recording starts.
    const states = updates
      .filter((u) => u.task.id === task.id && u.task.state !== 'queued')
      .map((u) => u.task.state);
    // running (claim), at most one leading progress report (the trailing one is dropped at the
    // finish), then succeeded.
    assert.equal(states[0], 'running');
    assert.equal(states.at(-1), 'succeeded');
    assert.ok(states.length <= 3, `too many updates: ${states.join(',')}`);
  });

  test('bad input fails at once; other errors go back to queued, then fail on the last attempt', async () => {
    const bad = await newTask();
    await run(bad.id, () => Promise.reject(new TaskFailedError('not an image')));
    const failed = await call(alice, 'GET', `/api/tasks/${bad.id}`);
    assert.equal(failed.body.task.state, 'failed');
    assert.equal(failed.body.task.error, 'not an image');

    const flaky = await newTask();
    const boom = () => Promise.reject(new Error('disk unavailable'));
    await assert.rejects(run(flaky.id, boom), /disk unavailable/);
    const retrying = await call(alice, 'GET', `/api/tasks/${flaky.id}`);
    assert.equal(retrying.body.task.state, 'queued');
    assert.equal(retrying.body.task.error, 'disk unavailable');
    await assert.rejects(
      run(flaky.id, boom, { attempt: 2, redelivered: false, finalAttempt: true }),
    );
    assert.equal((await call(alice, 'GET', `/api/tasks/${flaky.id}`)).body.task.state, 'failed');
  });

  test('a redelivered job takes over a dead run and the task finishes exactly once', async () => {
    const task = await newTask();
    // The first run's process "dies": its work never returns, and nothing acks the job.
    let firstStarted!: () => void;
    const started = new Promise<void>((r) => (firstStarted = r));
    let releaseFirst!: () => void;
    const first = run(task.id, async () => {
      firstStarted();
      await new Promise<void>((r) => (releaseFirst = r));
      return { by: 'first' };
    });
    await started;
    // Without the redelivered flag a second delivery cannot take a running task.
    let secondRan = false;
    await run(task.id, () => {
      secondRan = true;
      return Promise.resolve({ by: 'duplicate' });
    });
    assert.equal(secondRan, false);
    const updates = record(aliceSocket, 'task_updated');
    await run(task.id, () => Promise.resolve({ by: 'redelivery' }), {
      attempt: 1,
      redelivered: true,
      finalAttempt: false,
    });
    releaseFirst();
    await first; // the superseded run's finish matches nothing
    const final = await call(alice, 'GET', `/api/tasks/${task.id}`);
    assert.equal(final.body.task.state, 'succeeded');
    assert.deepEqual(final.body.task.result, { by: 'redelivery' });
    await eventually(() =>
      updates.some((u) => u.task.id === task.id && u.task.state === 'succeeded'),
    );
    assert.equal(
      updates.filter((u) => u.task.state === 'succeeded' && u.task.id === task.id).length,
      1,
    );
  });

  test('finished tasks carry their expiry (TASK_RETENTION, default 7 days) for the TTL index', async () => {
    const task = await newTask();
    await run(task.id, () => Promise.resolve({}));
    const mongo = new MongoClient(env.MONGODB_URI ?? '');
    await mongo.connect();
    try {
      const tasks = mongo.db(env.MONGODB_DB).collection('tasks');
      const stored = await tasks.findOne({ _id: new ObjectId(task.id) });
      assert.equal(stored?.state, 'succeeded');
      const finishedAt = (stored?.finishedAt as Date).getTime();
      assert.equal((stored?.expireAt as Date).getTime() - finishedAt, 7 * 24 * 3600 * 1000);
      const indexes = await tasks.indexes();
      assert.ok(indexes.some((i) => i.name === 'retention' && i.expireAfterSeconds === 0));
    } finally {
      await mongo.close();
    }
  });
});
