/**
 * The chaos run's own Redis (AOF, fsync on every write) and embedded engine (journaled), each a
 * separate process on a fixed free port so a `kill -9` and restart brings it back where the app
 * expects it. Never the shared Redis on 6379.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from '../src/cluster/nginx.js';
import { freePort } from '../src/cluster/processes.js';

export interface Service {
  readonly name: string;
  readonly url: string;
  /** SIGKILL, as a crash would; resolves once it has exited. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data dir; resolves when it is ready. */
  start(): Promise<void>;
}

interface Spec {
  name: string;
  command: string;
  args: string[];
  ready: RegExp;
  log: string;
}

function supervised(spec: Spec, url: string): Service {
  let child: ChildProcess | null = null;
  const log = createWriteStream(spec.log, { flags: 'a' });
  const start = async () => {
    if (child) return;
    const proc = spawn(spec.command, spec.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    const ready = new Promise<void>((resolve, reject) => {
      const onLine = (line: string) => {
        log.write(`${line}\n`);
        if (spec.ready.test(line)) resolve();
      };
      createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', onLine);
      createInterface({ input: proc.stderr as NodeJS.ReadableStream }).on('line', onLine);
      proc.once('exit', (code, signal) =>
        reject(new Error(`${spec.name} exited during start-up (${code ?? signal})`)),
      );
    });
    await ready;
  };
  return {
    name: spec.name,
    url,
    start,
    kill: async () => {
      const proc = child;
      child = null;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = once(proc, 'exit');
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

export async function startRedis(dir: string): Promise<Service> {
  const port = await freePort();
  const data = join(dir, 'redis');
  await mkdir(data, { recursive: true });
  const service = supervised(
    {
      name: 'redis',
      command: 'redis-server',
      args: [
        ...['--port', String(port), '--bind', '127.0.0.1', '--save', ''],
        ...['--appendonly', 'yes', '--appendfsync', 'always', '--dir', data],
      ],
      ready: /Ready to accept connections/,
      log: join(dir, 'redis.log'),
    },
    `redis://127.0.0.1:${port}`,
  );
  await service.start();
  return service;
}

export async function startEngine(dir: string): Promise<Service> {
  const port = await freePort();
  const data = join(dir, 'db');
  await mkdir(data, { recursive: true });
  const cli = join(repoRoot, 'packages', 'embedded-mongo', 'dist', 'src', 'cli.js');
  const service = supervised(
    {
      name: 'engine',
      command: process.execPath,
      args: [cli, '--port', String(port), '--dir', data, '--log-level', 'warn'],
      ready: /^mongodb:\/\//,
      log: join(dir, 'engine.log'),
    },
    `mongodb://127.0.0.1:${port}/parley`,
  );
  await service.start();
  return service;
}
