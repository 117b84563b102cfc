import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cleanUpEnv, isolatedEnv } from '../support/app.js';
import { http, registerUser } from '../support/http.js';

const MAIN = fileURLToPath(new URL('../../src/entrypoints/main.js', import.meta.url));

function startMain(env: Record<string, string>) {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, exited, stderr: () => stderr };
}

/** Resolves with the URL the process logs once it listens. */
async function listeningUrl(child: ReturnType<typeof startMain>['child']): Promise<string> {
  for await (const line of createInterface({ input: child.stdout })) {
    const match = /"url":"(http:\/\/localhost:\d+)"/.exec(line);
    if (match?.[1]) return match[1];
  }
  throw new Error('process exited before listening');
}

describe('the parley process', () => {
  test('SIGTERM stops it gracefully with exit code 0', async () => {
    const env = await isolatedEnv({ LOG_LEVEL: 'info' });
    const proc = startMain(env);
    const url = await listeningUrl(proc.child);
    const user = await registerUser(url);
    assert.equal((await http(url, 'GET', '/api/auth/me', { token: user.accessToken })).status, 200);
    proc.child.kill('SIGTERM');
    const [code] = await proc.exited;
    assert.equal(code, 0, proc.stderr());
    await cleanUpEnv(env);
  });

  test('unreachable Redis: one clear line naming the URL, exit code 1', async () => {
    const proc = startMain(
      await isolatedEnv({ REDIS_URL: 'redis://127.0.0.1:1', LOG_LEVEL: 'silent' }),
    );
    const [code] = await proc.exited;
    assert.equal(code, 1);
    assert.equal(
      proc.stderr().trim(),
      'parley: Cannot reach Redis at redis://127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1',
    );
  });

  test('unreachable RabbitMQ: one clear line naming the URL, exit code 1', async () => {
    const proc = startMain(
      await isolatedEnv({ AMQP_URL: 'amqp://guest:secret@127.0.0.1:1', LOG_LEVEL: 'silent' }),
    );
    const [code] = await proc.exited;
    assert.equal(code, 1);
    const lines = proc.stderr().trim().split('\n');
    assert.equal(lines.length, 1, proc.stderr());
    assert.match(
      lines[0] ?? '',
      /^parley: Cannot reach RabbitMQ at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1/,
    );
  });

  test('bad configuration names each bad variable and exits 1', async () => {
    const proc = startMain({ PORT: 'eighty', ROLE: 'everything', LOG_LEVEL: 'silent' });
    const [code] = await proc.exited;
    assert.equal(code, 1);
    assert.match(proc.stderr(), /PORT/);
    assert.match(proc.stderr(), /ROLE/);
  });
});
