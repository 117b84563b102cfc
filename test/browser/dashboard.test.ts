/**
 * The operations dashboard in real Chromium (SPEC §13): admin login through the page, a parked
 * job shown and requeued, a queued task cancelled; strict CSP holds (no console errors).
 * ROLE=api, so nothing consumes: the job and the task stay where the dashboard acts on them.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import amqp, { type ConfirmChannel } from 'amqplib';
import type { Browser, Page } from 'playwright-core';
import { ATTEMPT_HEADER } from '../../src/infra/rabbit/topology.js';
import { atEnd, isolatedEnv, startTestApp, type TestApp } from '../support/app.js';
import { browserMissing, launchBrowser, openPage, screenshot } from '../support/browser.js';
import { http, registerAdmin, registerUser } from '../support/http.js';
import { image, upload } from '../support/media.js';
import { eventually } from '../support/sockets.js';

const missing = browserMissing();

describe('operations dashboard', { skip: missing ?? false, timeout: 240_000 }, () => {
  let app: TestApp;
  let browser: Browser;
  let channel: ConfirmChannel;
  let page: Page;
  let problems: string[];

  before(async () => {
    app = await startTestApp(await isolatedEnv({ ROLE: 'api' }));
    const connection = await amqp.connect(app.config.AMQP_URL);
    atEnd(() => connection.close());
    channel = await connection.createConfirmChannel();
    browser = await launchBrowser();
  });

  test('an admin logs in; a non-admin is turned away', async () => {
    const user = await registerUser(app.url);
    const admin = await registerAdmin(app.url, app.config);
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
