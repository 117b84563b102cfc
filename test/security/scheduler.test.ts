import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { JobRunner } from '../../src/jobs/job-runner.js';
import { startScheduler } from '../../src/jobs/scheduler.js';
import { silentLogger } from '../../src/logger.js';
import { isolatedEnv, startTestApp, type TestApp } from '../support/app.js';
import { registerUser } from '../support/http.js';
import { eventually } from '../support/sockets.js';

const LEASE_MS = 300;
const NEVER = '0 0 1 1 *';

describe('security: a killed scheduler does not lose its tick', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp(
      await isolatedEnv({
        JOB_LEASE_MS: String(LEASE_MS),
        AUTO_MESSAGE_PLAN_CRON: NEVER,
        AUTO_MESSAGE_QUEUE_CRON: NEVER,
      }),
    );
  });

  /** What a scheduler killed mid-run leaves behind: the run record, never finished. */
  const leaveDeadRun = async (name: string, scheduledAt: Date) =>
    assert.ok(
      await app.services.repos.jobRuns.tryStart(
        `${name}@${scheduledAt.toISOString()}`,
        name,
        scheduledAt,
        'cron',
      ),
    );

  const runDoc = (id: string) =>
    app.mongo.db.collection<{ _id: string }>('jobruns').findOne({ _id: id });

  test('a run whose owner died is taken over once its lease expires, and runs once', async () => {
    const { runner, repos } = app.services;
    const scheduledAt = new Date(Date.UTC(2030, 0, 1, 2));
    const name = 'security-dead-owner';
    await leaveDeadRun(name, scheduledAt);
    let ran = 0;
    await eventually(
      async () =>
        (await runner.runOnce(name, scheduledAt, () => Promise.resolve({ ran: ++ran }))) !== null,
      5000,
      'another scheduler to take the expired run over',
    );
    assert.equal(ran, 1);
    const [run] = await repos.jobRuns.recent(1, name);
    assert.equal(run?.outcome, 'succeeded');
  });

  test('a live scheduler resumes a dead run by itself, without waiting for another tick', async () => {
    const { runner, repos } = app.services;
    const scheduledAt = new Date(Date.UTC(2030, 0, 4, 2));
    const name = 'security-resume';
    // A nightly job fires once: if its owner dies, no later tick will ever retry that night.
    await leaveDeadRun(name, scheduledAt);
    let ran = 0;
    const scheduler = startScheduler(
      [{ name, cron: NEVER, run: () => Promise.resolve({ ran: ++ran }) }],
      'UTC',
      runner,
      silentLogger,
    );
    try {
      await eventually(
        async () => (await repos.jobRuns.recent(1, name))[0]?.outcome === 'succeeded',
        5000,
        'a live scheduler to resume the dead run',
      );
      assert.equal(ran, 1);
    } finally {
      await scheduler.stop();
    }
  });

  test('a live run heartbeats its lease, so nobody takes it over', async () => {
    const { runner, repos } = app.services;
    const scheduledAt = new Date(Date.UTC(2030, 0, 2, 2));
    const name = 'security-live-owner';
    const id = `${name}@${scheduledAt.toISOString()}`;
    let release: () => void = () => undefined;
    const running = runner.runOnce(
      name,
      scheduledAt,
      () => new Promise<{ done: number }>((r) => (release = () => r({ done: 1 }))),
    );
    const first = await eventually(
      async () => (await runDoc(id)) !== null,
      5000,
      'the run to start',
    ).then(() => runDoc(id));
    const leaseOf = (doc: unknown) =>
      ((doc as { leaseUntil?: Date } | null)?.leaseUntil ?? new Date(0)).getTime();
    await eventually(
      async () => leaseOf(await runDoc(id)) > leaseOf(first) + LEASE_MS,
      5000,
      'the owner to renew its lease',
    );
    const other = new JobRunner(repos.jobRuns, silentLogger);
    assert.equal(
      await other.runOnce(name, scheduledAt, () => Promise.resolve({ stolen: 1 })),
      null,
    );
    release();
    assert.deepEqual((await running)?.counts, { done: 1 });
  });

  test('planning twice for one night creates one set of auto messages', async () => {
    for (let i = 0; i < 4; i += 1) await registerUser(app.url);
    const runId = 'auto-message-plan@2030-01-03T02:00:00.000Z';
    const from = new Date();
    const to = new Date(from.getTime() + 3600_000);
    await app.services.autoMessages.plan(runId, from, to);
    await app.services.autoMessages.plan(runId, from, to);
    const planned = await app.mongo.db.collection('automessages').find({ runId }).toArray();
    const users = await app.mongo.db.collection('users').countDocuments({});
    assert.equal(planned.length, Math.floor(users / 2), 'a second set was planned');
    const people = planned.flatMap((a) => [String(a.senderId), String(a.receiverId)]);
    assert.equal(new Set(people).size, people.length, 'someone was paired twice');
  });
});
