import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { createClient } from '@parley/client';
import { startTestApp, type TestApp } from '../support/app.js';

const run = promisify(execFile);

/** The ```sh blocks of examples/curl.md, in order: what a reader pastes. */
async function curlExample(): Promise<string> {
  const text = await readFile('examples/curl.md', 'utf8');
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).join('\n');
}

describe('examples/curl.md', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });

  test('runs as written and does what it says', async () => {
    const suffix = Date.now().toString(36);
    const script = await curlExample();
    assert.ok(script.includes('/api/auth/refresh'), 'the blocks were found');
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], {
      env: { ...process.env, BASE: app.url, SUFFIX: suffix },
    });
    const lines = stdout.trim().split('\n');
    assert.equal(lines.at(-1), '401', 'after logout the access token is refused');
    assert.ok(stdout.includes(': Hello from curl'), 'history shows the message');

    // What it left behind, seen by Alice logging in again.
    const alice = createClient({ baseUrl: app.url, autoRefresh: false });
    await alice.login({ login: `alice_${suffix}`, password: 'correct horse battery' });
    const { items } = await alice.api.listConversations();
    assert.equal(items.length, 1);
    const conversation = items[0]!;
    assert.ok(conversation.participants.some((p) => p.username === `bob_${suffix}`));
    const history = await alice.api.history({ params: { id: conversation.id } });
    assert.deepEqual(
      history.items.map((m) => m.content),
      ['Hello from curl'],
      'the retry with the same clientMessageId stored nothing new',
    );
    alice.close();
  });
});
