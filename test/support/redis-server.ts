/**
 * A private redis-server on its own port, for tests that stop and restart Redis. Never the shared
 * one on 6379: other tests run against it at the same time. Killed when the test file ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { atEnd } from './app.js';
import { freePort } from './ports.js';

export interface PrivateRedis {
  url: string;
  /** SIGKILL, as a crash would: no save, every connection cut. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty (no persistence), as after a crash. Idempotent. */
  start(): Promise<void>;
}

/**
 * `persistent`: an append-only file synced on every write, in a temp dir, so a kill -9 and restart
 * keeps everything (sessions included), as a production Redis with AOF does.
 */
export async function startPrivateRedis(
  options: { persistent?: boolean } = {},
): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = options.persistent ? await mkdtemp(join(tmpdir(), 'parley-redis-')) : null;
  const persistence = dir
    ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir]
    : ['--appendonly', 'no'];
  let child: ChildProcess | null = null;
  const start = async () => {
    if (child) return;
    const proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    child = proc;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      proc.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('Ready to accept connections')) resolve();
      });
      proc.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
    });
  };
  const stop = async () => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGKILL');
    await exited;
  };
  await start();
  atEnd(async () => {
    await stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return { url: `redis://127.0.0.1:${port}`, stop, start };
}
