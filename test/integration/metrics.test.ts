/**
 * GET /metrics from every role (SPEC §13), read with a strict exposition parser: the api on its
 * HTTP port, worker and scheduler on METRICS_PORT, METRICS_TOKEN enforced.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { before, describe, test } from 'node:test';
import amqp from 'amqplib';
import { startParley, type Parley } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { atEnd, isolatedEnv, registerAdmin, startTestApp, type TestApp } from '../support/app.js';
import { directConversation, http, registerUser } from '../support/http.js';
import { sendText } from '../support/messaging.js';
import { parseExposition, type Exposition } from '../support/prometheus.js';
import { connectSocket, eventually } from '../support/sockets.js';

const TOKEN = 'metrics-token-for-tests-0123456789';

const SPEC_METRICS = [
  'parley_messages_total',
  'parley_socket_connections',
  'parley_http_request_duration_seconds',
  'parley_queue_jobs_total',
  'parley_job_runs_total',
  'parley_events_published_total',
  'parley_tasks_total',
  'parley_message_fanout_seconds',
  'parley_queue_ready_jobs',
  'parley_queue_parked_jobs',
  'nodejs_eventloop_lag_seconds',
  'process_cpu_seconds_total',
];

async function scrape(url: string): Promise<Exposition> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

describe('metrics', () => {
  let env: Record<string, string>;
  let api: TestApp;

  before(async () => {
    env = await isolatedEnv({ METRICS_TOKEN: TOKEN });
    api = await startTestApp(env);
  });

  /** A worker or scheduler in this process, sharing the api's names (cleaned with them). */
  async function startRole(role: 'worker' | 'scheduler'): Promise<Parley> {
    const parley = await startParley(
      loadConfig({ ...env, ROLE: role, METRICS_PORT: '0' }),
      silentLogger,
    );
    atEnd(() => parley.stop());
    return parley;
  }

  test('the api refuses a scrape without the bearer token, with the error body', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong-token-wrong-token-wrong' },
    ];
    for (const headers of attempts) {
      const res = await fetch(`${api.url}/metrics`, { headers });
      assert.equal(res.status, 401);
      const body = (await res.json()) as { error: { code: string } };
      assert.equal(body.error.code, 'unauthorized');
    }
  });

  const announced = new Set<string>();

  test('every role serves a valid exposition with the metrics of SPEC §13', async () => {
    const worker = await startRole('worker');
    const scheduler = await startRole('scheduler');
    assert.equal(worker.url, null);
    for (const [role, url] of [
      ['all', api.metricsUrl],
      ['worker', worker.metricsUrl],
      ['scheduler', scheduler.metricsUrl],
    ] as const) {
      assert.ok(url, `${role} has a metrics URL`);
      const exposition = await scrape(url);
      for (const name of exposition.types.keys()) announced.add(name);
      for (const name of SPEC_METRICS)
        assert.ok(exposition.types.has(name), `${role}: ${name} is announced`);
      assert.ok(
        exposition.samples.every((s) => s.labels.role === role),
        `${role}: every sample carries its role`,
      );
    }
    const refused = await fetch(worker.metricsUrl ?? '');
    assert.equal(refused.status, 401, 'the worker also wants the token');
    // Their consumers would take the jobs the next tests give the api's own worker.
    await Promise.all([worker.stop(), scheduler.stop()]);
  });

  test('the Grafana dashboard only queries metrics that some role announces', async () => {
    assert.ok(announced.size > 0, 'runs after the scrape of every role');
    const dashboard = await readFile(
      new URL('../../../deploy/grafana/dashboards/parley.json', import.meta.url),
      'utf8',
    );
    const queried = new Set(dashboard.match(/\b(?:parley|nodejs|process)_[a-z0-9_]+/g) ?? []);
    assert.ok(queried.size >= 10);
    for (const name of queried) {
      const family = name.replace(/_(bucket|sum|count)$/, '');
      assert.ok(announced.has(family) || announced.has(name), `${name} is exposed`);
    }
  });

  test('messages, sockets and HTTP requests are counted by type and route template', async () => {
    const [alice, bob] = [await registerUser(api.url), await registerUser(api.url)];
    await connectSocket(api.url, bob.accessToken);
    const conversationId = await directConversation(api.url, alice, bob);
    await sendText(api.url, alice, conversationId, 'one');
    await sendText(api.url, alice, conversationId, 'two');
    await http(api.url, 'GET', '/api/no-such-route/12345');

    const metrics = await scrape(api.metricsUrl ?? '');
    assert.equal(metrics.value('parley_messages_total', { type: 'text' }), 2);
    assert.equal(metrics.value('parley_message_fanout_seconds_count'), 2);
    assert.equal(metrics.value('parley_socket_connections'), 1);
    const sends = metrics.value('parley_http_request_duration_seconds_count', {
      method: 'POST',
      route: '/api/conversations/:id/messages',
      status: '201',
    });
    assert.equal(sends, 2, 'labelled by the route template, not the raw path');
    assert.ok(
      metrics.samples.every((s) => !(s.labels.route ?? '').includes(conversationId)),
      'no raw path reaches a label',
    );
    assert.equal(
      metrics.value('parley_http_request_duration_seconds_count', {
        route: 'unmatched',
        status: '404',
      }),
      1,
    );
  });

  test('queue outcomes, queue depths and job runs are counted', async () => {
    const admin = await registerAdmin(api.url, api.config);
    // An unparsable job is parked at once by the worker of this ROLE=all app.
    const connection = await amqp.connect(env.AMQP_URL ?? '');
    atEnd(() => connection.close());
    const channel = await connection.createConfirmChannel();
    channel.sendToQueue(api.infra.rabbit.queues.main, Buffer.from('{"not":"a job"}'), {
      messageId: 'bad-job-1',
      persistent: true,
    });
    await channel.waitForConfirms();
    const res = await http(api.url, 'POST', '/api/admin/stats/hourly', {
      token: admin.accessToken,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));

    let metrics: Exposition | null = null;
    await eventually(
      async () => {
        metrics = await scrape(api.metricsUrl ?? '');
        return (
          metrics.value('parley_queue_jobs_total', {
            queue: 'message_sending_queue',
            outcome: 'parked',
          }) === 1 &&
          metrics.value('parley_queue_parked_jobs', { queue: 'message_sending_queue' }) === 1
        );
      },
      15_000,
      'the parked job in the counters and the sampled depth',
      250,
    );
    assert.ok(metrics);
    const m: Exposition = metrics;
    assert.equal(
      m.value('parley_job_runs_total', { job: 'stats-hourly', outcome: 'succeeded' }),
      1,
    );
    assert.equal(m.value('parley_queue_consumers', { queue: 'media_processing_queue' }), 1);
    // Event consumers' queues are sampled too (none runs here: its queue reads as empty).
    assert.equal(m.value('parley_queue_ready_jobs', { queue: 'parley.events.stats' }), 0);
  });
});
