/**
 * The web client in real Chromium (SPEC §13), two people in two browser contexts against the
 * real API and Socket.IO: register and log in, a message with its unread badge, typing, a read
 * receipt, a reaction, an image upload with progress whose thumbnail reaches the other side,
 * and a network drop caught up on reconnect.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../support/app.js';
import { browserMissing, launchBrowser, openPage, screenshot } from '../support/browser.js';
import { registerUser } from '../support/http.js';
import { sendText } from '../support/messaging.js';
import { image } from '../support/media.js';

const missing = browserMissing();

describe('web client', { skip: missing ?? false, timeout: 300_000 }, () => {
  let app: TestApp;
  let browser: Browser;
  const pages: { page: Page; problems: string[] }[] = [];

  before(async () => {
    app = await startTestApp();
    browser = await launchBrowser();
  });

  test('two people chat: message, typing, read receipt, reaction, image', async () => {
    const aliceName = `alice_${Date.now().toString(36)}`;
    const bob = await registerUser(app.url);

    const aliceTab = await openPage(browser, `${app.url}/`);
    const bobTab = await openPage(browser, `${app.url}/`);
    pages.push(aliceTab, bobTab);
    const alice = aliceTab.page;
    const bobPage = bobTab.page;

    // Alice registers through the page; Bob logs in.
    await alice.getByRole('button', { name: 'New here? Create an account' }).click();
    await alice.getByLabel('Username').fill(aliceName);
    await alice.getByLabel('Email').fill(`${aliceName}@example.test`);
    await alice.getByLabel('Password').fill('correct horse battery');
    await alice.getByRole('button', { name: 'Create account' }).click();
    await bobPage.getByLabel('Username or email').fill(bob.user.username);
    await bobPage.getByLabel('Password').fill(bob.password);
    await bobPage.getByRole('button', { name: 'Log in' }).click();
    for (const page of [alice, bobPage])
      await page.getByTestId('connection').getByText('connected').waitFor();

    // Alice opens a chat with Bob and sends a message with the keyboard.
    await alice.getByLabel('Chat with (username)').fill(bob.user.username);
    await alice.getByRole('button', { name: 'Start' }).click();
    await alice.getByRole('heading', { name: bob.user.username }).waitFor();
    await alice.getByLabel('Message', { exact: true }).fill('hello bob');
    await alice.getByLabel('Message', { exact: true }).press('Enter');
    await alice.locator('.message.mine').getByText('hello bob').waitFor();

    // Bob sees the conversation with one unread message, opens it: Alice sees the receipt.
    const entry = bobPage.locator('.conversation').filter({ hasText: aliceName });
    await entry.getByTestId('unread').getByText('1').waitFor();
    await entry.click();
    const received = bobPage.locator('.message').filter({ hasText: 'hello bob' });
    await received.waitFor();
    await entry.getByTestId('unread').waitFor({ state: 'detached' });
    await alice.getByTestId('seen').waitFor();

    // Bob types: Alice sees it; Bob reacts: Alice sees the count.
    await bobPage.getByLabel('Message', { exact: true }).pressSequentially('hi al', { delay: 20 });
    await alice.getByTestId('typing').getByText(`${bob.user.username} is typing…`).waitFor();
    await received.getByRole('button', { name: 'React with 👍' }).click();
    await alice
      .locator('.message.mine')
      .filter({ hasText: 'hello bob' })
      .getByRole('button', { name: '👍 1' })
      .waitFor();
    await bobPage.getByLabel('Message', { exact: true }).press('Enter');
    await alice.locator('.message').filter({ hasText: 'hi al' }).waitFor();

    // Alice sends an image: progress while it is processed, a thumbnail on both sides.
    await alice.getByLabel('Image').setInputFiles({
      name: 'sunset.png',
      mimeType: 'image/png',
      buffer: await image('png', 640, 480),
    });
    await alice.getByTestId('upload').waitFor();
    for (const page of [alice, bobPage]) {
      const thumbnail = page.getByRole('img', { name: 'sunset.png' });
      await thumbnail.waitFor();
      // The image decoded (a Blob URL the CSP allows); evaluated in the page.
      await page.waitForFunction(
        "[...document.querySelectorAll('img[data-testid=thumbnail]')].some((i) => i.complete && i.naturalWidth > 0)",
        undefined,
        { timeout: 60_000 },
      );
    }

    // A network drop: Alice's page shows it, misses a message, and catches up on reconnect.
    await alice.context().setOffline(true);
    await alice.getByTestId('connection').getByText('reconnecting…').waitFor();
    const conversationId = await alice
      .locator('.conversation.selected')
      .getAttribute('data-conversation');
    await sendText(app.url, bob, conversationId ?? '', 'sent while you were away');
    await alice.context().setOffline(false);
    await alice.getByTestId('connection').getByText('connected').waitFor();
    await alice.locator('.message').filter({ hasText: 'sent while you were away' }).waitFor();

    await screenshot(alice, 'chat');
    await screenshot(bobPage, 'chat-other-side');
    for (const { problems } of pages)
      assert.deepEqual(problems, [], 'no console errors or CSP violations');
  });
});
