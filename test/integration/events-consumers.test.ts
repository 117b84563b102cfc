import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { before, describe, test } from 'node:test';
import { ObjectId } from 'mongodb';
import type { DomainEvent } from '../../src/contracts/events.js';
import type { StatsHour } from '../../src/contracts/stats.js';
import { silentLogger } from '../../src/logger.js';
import { consumerQueue, type EventConsumer } from '../../src/modules/events/consumers.js';
import { replay } from '../../src/modules/events/event-log.js';
import { hourOf } from '../../src/modules/stats/stats.consumer.js';
import { queueNames } from '../../src/infra/rabbit.js';
import { startEventConsumers } from '../../src/roles/event-consumers.js';
import { Shutdown } from '../../src/shutdown.js';
import { atEnd, isolatedEnv, registerAdmin, startTestApp, type TestApp } from '../support/app.js';
import { directConversation, http, registerUser } from '../support/http.js';
import { sendText } from '../support/messaging.js';
import { eventually } from '../support/sockets.js';

const run = promisify(execFile);

/** Depths of a consumer's queue and parking queue. */
function consumerDepths(app: TestApp, consumer: string) {
  const { AMQP_QUEUE_PREFIX: prefix, AUTO_MESSAGE_RETRY_DELAYS_MS: delays } = app.config;
  return app.infra.rabbit.queueOf(queueNames(prefix, consumerQueue(consumer), delays)).queueStats();
}

describe('event consumers: queues, the stats consumer, replay (SPEC §10)', () => {
  let app: TestApp;
  let env: Record<string, string>;

  before(async () => {
    env = await isolatedEnv({
      AUTO_MESSAGE_MAX_ATTEMPTS: '2',
      AUTO_MESSAGE_RETRY_DELAYS_MS: '50',
      EVENTS_CONSUMERS: 'all',
    });
    app = await startTestApp(env);
  });

  test('stats counts from the events, and a replay of the log, twice, changes nothing', async () => {
    const started = new Date();
    const alice = await registerUser(app.url);
    const bob = await registerUser(app.url);
    const direct = await directConversation(app.url, alice, bob);
    for (let i = 0; i < 5; i += 1) await sendText(app.url, alice, direct, `a${i}`);
    for (let i = 0; i < 3; i += 1) await sendText(app.url, bob, direct, `b${i}`);
    const { liveStats } = app.services;
    const day = started.toISOString().slice(0, 10);
    const hour = hourOf(started.toISOString());
    const perConversation = async () => (await liveStats.perDay(day, 'conversations'))[direct];
    await eventually(async () => (await perConversation()) === 8, 10_000, 'stats to count 8');
    const perUser = await liveStats.perDay(day, 'users');
    assert.equal(perUser[alice.user.id], 5);
    assert.equal(perUser[bob.user.id], 3);
    const counts = await liveStats.hour(hour);
    // The same hour as the hourly job computes it from MongoDB (this run's messages only).
    const fromMongo = await app.services.repos.stats.count(
      new Date(`${hour}:00:00.000Z`),
      new Date(Date.parse(`${hour}:00:00.000Z`) + 3600_000),
    );
    assert.equal(counts.messages, fromMongo.messages);
    assert.equal(counts.activeSenders, fromMongo.activeSenders);
    assert.equal(counts.newUsers, fromMongo.newUsers);
    assert.ok((await liveStats.activeUsers(hour)) >= 2);

    const queue = `${env.AMQP_QUEUE_PREFIX}${consumerQueue('stats')}`;
    const from = new Date(started.getTime() - 1000);
    const first = await replay(app.infra.events, app.infra.rabbit, queue, from, ['#']);
    const second = await replay(app.infra.events, app.infra.rabbit, queue, from, ['#']);
    assert.ok(first >= 11 && second === first, `replayed ${first} then ${second}`);
    // A fence: one new message, counted once the replayed copies ahead of it in the queue are.
    await sendText(app.url, alice, direct, 'fence');
    await eventually(async () => (await perConversation()) === 9, 10_000, 'the fence counted');
    await eventually(async () => {
      return (await consumerDepths(app, 'stats')).main.ready === 0;
    });
    assert.equal(await perConversation(), 9, 'replayed events were not counted again');
    assert.equal((await liveStats.perDay(day, 'users'))[alice.user.id], 6);
    assert.deepEqual(await liveStats.hour(hour), { ...counts, messages: counts.messages + 1 });
  });

  test('stats-hourly and the dashboard read the stats consumer counters, not MongoDB', async () => {
    const { liveStats } = app.services;
    const hour = hourOf(new Date().toISOString());
    const hourStart = new Date(`${hour}:00:00.000Z`);
    const before = await liveStats.hour(hour);
    const admin = await registerAdmin(app.url, app.config);
    const alice = await registerUser(app.url);
    const bob = await registerUser(app.url);
    const direct = await directConversation(app.url, alice, bob);
    for (let i = 0; i < 3; i += 1) await sendText(app.url, alice, direct, `s${i}`);
    await sendText(app.url, bob, direct, 'hi');
    const expected = {
      ...before,
      messages: before.messages + 4,
      activeSenders: before.activeSenders + 2,
      newUsers: before.newUsers + 3,
    };
    await eventually(
      async () => JSON.stringify(await liveStats.hour(hour)) === JSON.stringify(expected),
      10_000,
      "the stats consumer counted this test's events",
    );
    // A message written to MongoDB behind Parley's back: no event, so no counter sees it.
    await app.infra.mongo.db
      .collection('messages')
      .insertOne({ _id: new ObjectId(), senderId: new ObjectId(alice.user.id), type: 'text' });
    const fromMongo = await app.services.repos.stats.count(
      hourStart,
      new Date(hourStart.getTime() + 3600_000),
    );
    assert.equal(fromMongo.messages, expected.messages + 1, 'MongoDB counts one more');

    const listed = async () => {
      const res = await http<{ items: StatsHour[] }>(app.url, 'GET', '/api/admin/stats', {
        token: admin.accessToken,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const item = res.body.items.find((h) => h.hour === hourStart.toISOString());
      assert.ok(item, `hour ${hour} listed`);
      const { hour: _h, computedAt: _c, source, ...counts } = item;
      return { source, counts };
    };
    // The dashboard's current hours come from the counters before any job ran...
    assert.deepEqual(await listed(), { source: 'counters', counts: expected });
    // ...and the job stores the counters too.
    const run = await http<{ counts: Record<string, unknown> }>(
      app.url,
      'POST',
      '/api/admin/stats/hourly',
      { token: admin.accessToken },
    );
    assert.equal(run.status, 200, JSON.stringify(run.body));
    assert.equal(run.body.counts.source, 'counters');
    const [stored] = await app.services.repos.stats.range(
      hourStart,
      new Date(hourStart.getTime() + 1),
    );
    assert.ok(stored);
    const { _id, computedAt: _computed, source, ...counts } = stored;
    assert.deepEqual({ source, counts }, { source: 'counters', counts: expected });
    assert.deepEqual(await listed(), { source: 'counters', counts: expected });
  });

  test('npm run cli -- events tail prints the log as JSON lines, filtered by type', async () => {
    const cli = fileURLToPath(new URL('../../src/entrypoints/cli.js', import.meta.url));
    const { stdout } = await run(
      process.execPath,
      [cli, 'events', 'tail', '--from', 'first', '--type', 'user.*'],
      { env: { PATH: process.env.PATH ?? '', ...env } },
    );
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as DomainEvent & { offset: number });
    assert.ok(lines.length >= 2);
    assert.ok(lines.every((l) => l.type === 'user.registered' && l.offset >= 0));
    const offsets = lines.map((l) => l.offset);
    assert.deepEqual(
      offsets,
      [...offsets].sort((a, b) => a - b),
      'in log order',
    );
  });

  test('a consumer that keeps failing retries with backoff, then parks the event', async () => {
    const seen: { id: string; attempt: number }[] = [];
    const flaky: EventConsumer = {
      name: 'flaky',
      keys: ['user.registered'],
      handle: (event: DomainEvent) => {
        seen.push({ id: event.id, attempt: seen.filter((s) => s.id === event.id).length + 1 });
        return Promise.reject(new Error('receiver down'));
      },
    };
    const shutdown = new Shutdown(silentLogger);
    atEnd(() => shutdown.run());
    await startEventConsumers(app.config, app.infra.events.names, [flaky], shutdown, silentLogger);
    const carol = await registerUser(app.url);
    const prefix = env.AMQP_QUEUE_PREFIX ?? '';
    await eventually(
      async () => (await consumerDepths(app, 'flaky')).dead.ready === 1,
      10_000,
      'the event parked',
    );
    assert.equal(seen.length, 2, 'AUTO_MESSAGE_MAX_ATTEMPTS attempts, then parked');
    assert.equal(new Set(seen.map((s) => s.id)).size, 1);
    assert.ok(carol.user.id);
    await shutdown.run();
    await app.infra.rabbit.withChannel(async (ch) => {
      const main = `${prefix}${consumerQueue('flaky')}`;
      for (const q of [main, `${main}.dead`, `${main}.retry.50ms`]) await ch.deleteQueue(q);
    });
  });
});
