import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UnrecoverableJobError } from '../../src/infra/job-errors.js';
import { silentLogger } from '../../src/logger.js';
import type { AutoMessageJob } from '../../src/contracts/automessages.js';
import {
  AutoMessagesService,
  type AutoMessageQueue,
  type AutoMessagesServiceDeps,
} from '../../src/modules/automessages/automessages.service.js';
import { pairUp, shuffle } from '../../src/modules/automessages/plan.js';
import { FakeAutoMessages, FakeUsers, fakeId } from './fakes.js';

type Published = Awaited<ReturnType<AutoMessageQueue['publishMany']>>;

/** A queue whose broker confirms every job unless `refuse` says otherwise. */
class FakeQueue implements AutoMessageQueue {
  readonly published: AutoMessageJob[] = [];
  refuse: (job: AutoMessageJob) => boolean = () => false;
  down = false;

  publishMany(jobs: readonly AutoMessageJob[]): Promise<Published> {
    if (this.down) return Promise.reject(new Error('no broker within 5000 ms'));
    const result: Published = { confirmed: [], failed: [] };
    for (const job of jobs) {
      if (this.refuse(job)) result.failed.push({ payload: job, error: new Error('nacked') });
      else {
        this.published.push(job);
        result.confirmed.push(job);
      }
    }
    return Promise.resolve(result);
  }
}

const runner: AutoMessagesServiceDeps['runner'] = {
  runManually: async (_name, job) => ({ runId: 'manual', counts: await job('manual') }),
};

/** Stores each auto message as a Message with a fresh id (what MessagesService returns). */
const messages: AutoMessagesServiceDeps['messages'] = {
  sendAutoMany: (inputs) => Promise.resolve(inputs.map(() => sent())),
  sendAuto: () => Promise.resolve(sent()),
};
function sent() {
  const message = {
    ...{ id: fakeId(), conversationId: fakeId(), senderId: fakeId(), content: 'hi' },
    ...{ type: 'auto' as const, reactions: [], createdAt: new Date().toISOString() },
  };
  return { message, created: true };
}

function setUp(settings: { publishBatchSize?: number; insertBatchSize?: number } = {}) {
  const autos = new FakeAutoMessages();
  const users = new FakeUsers();
  const queue = new FakeQueue();
  const service = new AutoMessagesService(
    autos,
    users,
    messages,
    queue,
    runner,
    silentLogger,
    settings,
  );
  return { autos, users, queue, service };
}

const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000);

describe('pairing and shuffling', () => {
  test('shuffle is a permutation; pairUp pairs neighbours and leaves the odd one out', () => {
    const ids = Array.from({ length: 101 }, (_, i) => `u${i}`);
    const shuffled = shuffle([...ids]);
    assert.deepEqual([...shuffled].sort(), [...ids].sort());
    const { pairs, unpaired } = pairUp(['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(pairs, [
      ['a', 'b'],
      ['c', 'd'],
    ]);
    assert.equal(unpaired, 'e');
    assert.deepEqual(pairUp(['a', 'b']), { pairs: [['a', 'b']], unpaired: null });
  });

  test('shuffle draws one index per position (Fisher–Yates) from the random source it is given', () => {
    const draws: number[] = [];
    const lastEachTime = (max: number) => {
      draws.push(max);
      return max - 1;
    };
    assert.deepEqual(shuffle([1, 2, 3, 4], lastEachTime), [1, 2, 3, 4]);
    assert.deepEqual(draws, [4, 3, 2]);
    assert.deepEqual(
      shuffle([1, 2, 3, 4], () => 0),
      [2, 3, 4, 1],
    );
  });

  test('planning pairs every active user at most once, in the window, tagged with the run', async () => {
    const { autos, users, service } = setUp({ insertBatchSize: 2 });
    const everyone = await users.seed(7);
    const inactive = everyone[3]?.id as string;
    users.deactivate(inactive);
    const from = minutesAgo(60);
    const to = new Date();
    const result = await service.plan('run-1', from, to);
    assert.deepEqual([result.users, result.pairs], [6, 3]);
    assert.equal(result.unpairedUserId, null);
    const planned = [...autos.rows.values()];
    assert.equal(planned.length, 3, 'three pairs, written in batches of two');
    const paired = planned.flatMap((a) => [a.senderId, a.receiverId]);
    assert.equal(new Set(paired).size, 6, 'nobody twice');
    assert.ok(!paired.includes(inactive), 'inactive users are not paired');
    for (const a of planned) {
      assert.equal(a.runId, 'run-1');
      assert.ok(a.sendDate >= from && a.sendDate <= to, 'due inside the window');
      assert.notEqual(a.senderId, a.receiverId);
    }
  });

  test('a run repeated (or taken over) pairs only the users it has not paired yet', async () => {
    const { autos, users, service } = setUp();
    await users.seed(4);
    const first = await service.plan('run-1', minutesAgo(1), new Date());
    await users.seed(2);
    const again = await service.plan('run-1', minutesAgo(1), new Date());
    assert.deepEqual([first.pairs, again.pairs, again.users], [2, 3, 6]);
    const paired = [...autos.rows.values()].flatMap((a) => [a.senderId, a.receiverId]);
    assert.equal(new Set(paired).size, 6, 'nobody paired twice in one night');
  });

  test('with an odd number of users one is left out and reported', async () => {
    const { users, service } = setUp();
    const ids = (await users.seed(5)).map((u) => u.id);
    const result = await service.plan('run-odd', minutesAgo(1), new Date());
    assert.equal(result.pairs, 2);
    assert.ok(ids.includes(result.unpairedUserId as string));
  });
});

describe('queue stage claims', () => {
  async function due(autos: FakeAutoMessages, count: number, sendDate = minutesAgo(1)) {
    const ids = Array.from({ length: count * 2 }, fakeId);
    await autos.insertBatch(
      Array.from({ length: count }, (_, i) => ({
        senderId: ids[2 * i] as string,
        receiverId: ids[2 * i + 1] as string,
        content: `#${i}`,
        sendDate,
        runId: 'plan',
      })),
    );
  }

  test('publishes every due message once, in batches, and marks it queued', async () => {
    const { autos, queue, service } = setUp({ publishBatchSize: 2 });
    await due(autos, 5);
    await due(autos, 2, new Date(Date.now() + 3_600_000)); // not due yet
    assert.deepEqual(await service.queueDue('q1'), { queued: 5, failed: 0 });
    assert.deepEqual(await service.queueDue('q2'), { queued: 0, failed: 0 }, 'nothing twice');
    assert.equal(queue.published.length, 5);
    const queued = [...autos.rows.values()].filter((a) => a.isQueued);
    assert.equal(queued.length, 5);
    assert.ok(queued.every((a) => a.claimToken === undefined));
  });

  test('unconfirmed jobs give their claims back at once and the run stops there', async () => {
    const { autos, queue, service } = setUp({ publishBatchSize: 10 });
    await due(autos, 4);
    const refused = new Set([...autos.rows.keys()].slice(0, 1));
    queue.refuse = (job) => refused.has(job.autoMessageId);
    assert.deepEqual(await service.queueDue('q1'), { queued: 3, failed: 1 });
    const [left] = [...autos.rows.values()].filter((a) => !a.isQueued);
    assert.equal(left?.claimToken, undefined, 'released, not held until the claim timeout');
    queue.refuse = () => false;
    assert.deepEqual(await service.queueDue('q2'), { queued: 1, failed: 0 });
  });

  test('a publish that throws releases the whole batch and rethrows', async () => {
    const { autos, queue, service } = setUp();
    await due(autos, 3);
    queue.down = true;
    await assert.rejects(service.queueDue('q1'), /no broker/);
    assert.ok([...autos.rows.values()].every((a) => !a.isQueued && a.claimToken === undefined));
    queue.down = false;
    assert.deepEqual(await service.queueDue('q2'), { queued: 3, failed: 0 });
  });

  test('a stale claim of a dead run is taken over; a fresh claim of a live run is not', async () => {
    const { autos, service } = setUp();
    await due(autos, 2);
    const [stale, fresh] = [...autos.rows.values()];
    Object.assign(stale as object, { claimToken: 'dead-run', claimedAt: minutesAgo(10) });
    Object.assign(fresh as object, { claimToken: 'live-run', claimedAt: new Date() });
    assert.deepEqual(await service.queueDue('q1'), { queued: 1, failed: 0 });
    assert.equal(stale?.isQueued, true);
    assert.equal(fresh?.isQueued, false);
  });
});

describe('delivery outcomes', () => {
  test('a job whose user no longer exists fails as unrecoverable; the rest are delivered', async () => {
    const { autos, users, service } = setUp();
    const [alice, bob] = await users.seed(2);
    const ghost = fakeId();
    await autos.insertBatch(
      [
        {
          senderId: alice?.id ?? '',
          receiverId: bob?.id ?? '',
          content: 'a',
          sendDate: new Date(),
        },
        { senderId: alice?.id ?? '', receiverId: ghost, content: 'b', sendDate: new Date() },
      ].map((p) => ({ ...p, runId: 'plan' })),
    );
    const jobs = [...autos.rows.values()].map((a) => ({
      autoMessageId: a.id,
      senderId: a.senderId,
      receiverId: a.receiverId,
      content: a.content,
    }));
    const [ok, gone] = await service.deliverMany(jobs);
    assert.equal(ok, null);
    assert.ok(gone instanceof UnrecoverableJobError);
    assert.match(gone.message, new RegExp(`user ${ghost} no longer exists`));
    const [sentRow, ghostRow] = [...autos.rows.values()];
    assert.equal(sentRow?.isSent, true);
    assert.deepEqual([ghostRow?.isSent, ghostRow?.attempts], [false, 1]);
    assert.match(ghostRow?.lastError ?? '', /no longer exists/);
  });
});
