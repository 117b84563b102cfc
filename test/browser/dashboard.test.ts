/**
 * The operations dashboard in real Chromium (SPEC §13): admin login through the page, a failing
 * webhook's delivery shown until it is parked, a parked job shown and requeued, a queued task
 * cancelled; strict CSP holds (no console errors). ROLE=api, so nothing consumes: the job and the
 * task stay where the dashboard acts on them. Webhooks are delivered by a worker process that
 * runs only for their test.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { before, describe, test } from 'node:test';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { Browser, Page } from 'playwright-core';
import { consumerQueue } from '../../src/modules/events/consumers.js';
import { ATTEMPT_HEADER } from '../../src/infra/rabbit/topology.js';
import { atEnd, isolatedEnv, registerAdmin, startTestApp, type TestApp } from '../support/app.js';
import { browserMissing, launchBrowser, openPage, screenshot } from '../support/browser.js';
import { http, registerUser } from '../support/http.js';
import { image, upload } from '../support/media.js';
import { startRoleProcess } from '../support/processes.js';
import { eventually } from '../support/sockets.js';

const missing = browserMissing();

describe('operations dashboard', { skip: missing ?? false, timeout: 240_000 }, () => {
  let env: Record<string, string>;
  let app: TestApp;
  let admin: Awaited<ReturnType<typeof registerAdmin>>;
  let browser: Browser;
  let connection: ChannelModel;
  let channel: ConfirmChannel;
  let page: Page;
  let problems: string[];

  before(async () => {
    env = await isolatedEnv({ ROLE: 'api' });
    app = await startTestApp(env);
    connection = await amqp.connect(app.config.AMQP_URL);
    atEnd(() => connection.close());
    channel = await connection.createConfirmChannel();
    browser = await launchBrowser();
  });

  test('an admin logs in; a non-admin is turned away', async () => {
    const user = await registerUser(app.url);
    admin = await registerAdmin(app.url, app.config);
    ({ page, problems } = await openPage(browser, `${app.url}/admin`));
    const csp = (await http(app.url, 'GET', '/api/openapi.json')).headers;
    assert.match(csp.get('content-security-policy') ?? '', /script-src 'self'/);

    await page.getByLabel('Username or email').fill(user.user.username);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Administrators only' }).waitFor();

    await page.getByLabel('Username or email').fill(admin.user.username);
    await page.getByLabel('Password').fill(admin.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Parley operations' }).waitFor();
    await page.getByTestId('queues').getByText('media_processing_queue').waitFor();
    assert.deepEqual(
      // A string: the test project has no DOM types; it runs in the page.
      await page.evaluate('[localStorage.length, sessionStorage.length]'),
      [0, 0],
      'tokens stay in memory',
    );
  });

  test("a failing webhook's delivery is shown as it fails, then parked", async () => {
    const receiver = createServer((_req, res) => res.writeHead(503).end('down for the test'));
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    atEnd(() => new Promise((resolve) => receiver.close(() => resolve())));
    const { port } = receiver.address() as AddressInfo;
    const worker = startRoleProcess('worker', {
      ...env,
      EVENTS_CONSUMERS: 'webhooks',
      AUTO_MESSAGE_RETRY_DELAYS_MS: '50,100',
    });
    let stopped = false;
    void worker.exited.then(() => (stopped = true));
    // The webhook's queue is bound from its registration on: registered once the worker has
    // relayed the earlier registrations (this file's other users), it gets only the one below.
    const queue = `${env.AMQP_QUEUE_PREFIX}${consumerQueue('webhooks')}`;
    await eventually(
      async () => {
        if (stopped) throw new Error(`the worker exited: ${worker.stderr()}`);
        const probe = await connection.createChannel();
        probe.on('error', () => undefined); // a missing queue closes the probe: not declared yet
        const found = await probe.checkQueue(queue).catch(() => null);
        if (found) await probe.close();
        if ((found?.consumerCount ?? 0) === 0) return false;
        return (await app.services.repos.outbox.pending(1)).length === 0;
      },
      60_000,
      'the worker consuming webhook events, the outbox relayed',
    );
    const created = await http<{ webhook: { id: string } }>(
      app.url,
      'POST',
      '/api/admin/webhooks',
      {
        token: admin.accessToken,
        body: { url: `http://127.0.0.1:${port}/hook`, events: ['user.registered'] },
      },
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const hook = page.getByTestId(`webhook-${created.body.webhook.id}`);
    await hook.getByText('No matching event yet.').waitFor();
    await registerUser(app.url);
    const row = hook.locator('[data-delivery]');
    await row.getByText('HTTP 503').waitFor({ timeout: 60_000 });
    await row.getByText('parked').waitFor({ timeout: 60_000 });
    assert.equal(await row.getByText('user.registered').count(), 1);
    assert.equal(await row.locator('td').nth(2).textContent(), '5', 'five attempts');
    await worker.stop();
  });

  test('a parked job is shown and requeued after confirmation', async () => {
    const queues = app.infra.rabbit.queues;
    channel.sendToQueue(queues.dead, Buffer.from(JSON.stringify({ broken: true })), {
      messageId: 'parked-in-browser',
      persistent: true,
      headers: { [ATTEMPT_HEADER]: 5, 'x-attempts': 5, 'x-last-error': 'Error: receiver gone' },
    });
    await channel.waitForConfirms();

    const row = page.locator('[data-job="parked-in-browser"]');
    await row.getByText('Error: receiver gone').waitFor();
    await page.getByTestId('parked-count-message_sending_queue').getByText('1').waitFor();
    await screenshot(page, 'admin');
    await row.getByRole('button', { name: 'Requeue job parked-in-browser' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Requeue job parked-in-browser?').waitFor();
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await page
      .getByTestId('status')
      .getByText('Requeued 1 job(s) of message_sending_queue.')
      .waitFor();
    await row.waitFor({ state: 'detached' });

    const back = await channel.get(queues.main, { noAck: true });
    assert.ok(back, 'the job is back on the main queue');
    assert.equal(back.properties.messageId, 'parked-in-browser');
  });

  test('a queued task is cancelled from the dashboard', async () => {
    const owner = await registerUser(app.url);
    const res = await upload(app.url, owner, [
      { name: 'photo.png', data: await image('png', 64, 64) },
    ]);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const taskId = res.body.uploads[0]?.task.id ?? '';

    const row = page.locator(`[data-task="${taskId}"]`);
    await row.waitFor();
    await row.getByRole('button', { name: `Cancel task ${taskId}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
    await page.getByTestId('status').getByText(`Task ${taskId} is cancelled.`).waitFor();
    await row.waitFor({ state: 'detached' });
    await eventually(
      async () => {
        const task = await http<{ task: { state: string } }>(
          app.url,
          'GET',
          `/api/tasks/${taskId}`,
          {
            token: owner.accessToken,
          },
        );
        return task.body.task.state === 'cancelled';
      },
      10_000,
      'the task to be cancelled',
    );
    assert.deepEqual(problems, [], 'no console errors or CSP violations');
  });
});
