import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createClient } from '@parley/client';
import { startParley, type Parley } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { cleanUpServices, isolatedEnv } from '../support/app.js';
import { registerUser } from '../support/http.js';

const CLI = fileURLToPath(new URL('../../src/entrypoints/cli.js', import.meta.url));

/** `npm run cli -- …` with `env`; resolves to its output and exit code. */
async function cli(env: Record<string, string>, ...args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

void describe('npm run cli with the embedded engine (no MONGODB_URI)', () => {
  let dir: string;
  let env: Record<string, string>;
  let app: Parley | undefined;

  const start = async () => {
    app = await startParley(loadConfig(env), silentLogger);
    return app.url ?? '';
  };
  const stop = async () => {
    await app?.stop();
    app = undefined;
  };
  const roleOf = async (url: string, email: string) => {
    const client = createClient({ baseUrl: url, autoRefresh: false });
    const { user } = await client.login({ login: email, password: 'correct horse battery' });
    return user.role;
  };

  after(async () => {
    await stop();
    await cleanUpServices(env);
    await rm(dir, { recursive: true, force: true });
  });

  void test('promotes through the running app’s engine, and with none running opens the data itself', async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-cli-'));
    const { MONGODB_URI: _shared, ...isolated } = await isolatedEnv({ EMBEDDED_MONGO_DIR: dir });
    env = isolated;
    let url = await start();
    const { user } = await registerUser(url);
    const email = user.email ?? '';

    const promoted = await cli(env, 'promote', email);
    assert.equal(promoted.code, 0, promoted.stderr);
    assert.match(promoted.stdout, /is now admin/);
    assert.equal(await roleOf(url, email), 'admin', 'the running app sees the change at once');

    // Stopped, the app no longer names an address; the CLI opens the directory with its own engine.
    await stop();
    await assert.rejects(access(join(dir, 'ADDRESS')));
    const demoted = await cli(env, 'demote', email);
    assert.equal(demoted.code, 0, demoted.stderr);
    assert.match(demoted.stdout, /is now user/);

    url = await start();
    assert.equal(await roleOf(url, email), 'user', 'what the CLI wrote was journaled');
    assert.equal((await cli(env, 'promote', 'nobody@example.test')).code, 1);
  });

  void test('says why when the data lives only in memory', async () => {
    const result = await cli({ ...env, EMBEDDED_MONGO_DIR: ':memory:' }, 'promote', 'a@b.test');
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /:memory: keeps the data inside the process/);
  });
});
