import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedMongo, type EmbeddedMongo } from '@parley/embedded-mongo';
import type { Logger } from '../logger.js';
import { embeddedMongoDir } from '../config.js';
import { findNginx, nginxArgs, repoRoot, writeNginxConfig } from './nginx.js';
import {
  describeExit,
  freePort,
  readyMessage,
  spawnProcess,
  stopProcess,
  waitForHttp,
  type ClusterProcess,
} from './processes.js';

const MAIN = fileURLToPath(new URL('../entrypoints/main.js', import.meta.url));
const START_TIMEOUT_MS = 60_000;

export interface ClusterOptions {
  /** Number of ROLE=api processes behind Nginx. */
  instances: number;
  /** Nginx's port; 0 picks a free one. */
  port: number;
  workers?: number;
  schedulers?: number;
  /** Environment for every process, over this process's own. */
  env?: Record<string, string>;
  /** Echo every process's output, prefixed with its name (the CLI does). */
  echo?: boolean;
  logger: Logger;
}

export interface Cluster {
  /** Nginx: the one address clients use. */
  url: string;
  runDir: string;
  mongoUri: string;
  apis: ClusterProcess[];
  workers: ClusterProcess[];
  schedulers: ClusterProcess[];
  nginx: ClusterProcess;
  /**
   * Starts a process that exited (killed, crashed) again: same name, role and port, so Nginx
   * finds an api where it was. Replaces it in `apis`/`workers`/`schedulers`; resolves when ready.
   */
  restart(proc: ClusterProcess): Promise<ClusterProcess>;
  /** Idempotent: Nginx first, then every Parley process (SIGTERM), then the engine. */
  stop(): Promise<void>;
}

type Started = ClusterProcess & Parameters<typeof readyMessage>[0];

/**
 * The production topology on one machine: Nginx in front of N api processes, plus workers and
 * schedulers, all sharing MongoDB (an embedded engine started here when MONGODB_URI is unset),
 * Redis and RabbitMQ. If any part fails to start, everything started so far is stopped.
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const nginxBin = findNginx();
  if (!nginxBin) throw new Error('nginx is not installed (Debian: apt-get install -y nginx)');
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  delete env.NODE_TEST_CONTEXT; // set by `node --test`; children are not test processes
  const runDir = await makeRunDir();
  const started: Started[] = [];
  let engine: EmbeddedMongo | null = null;
  const stopAll = once(async () => {
    await shutdown(started, env, options.logger);
    await engine?.stop();
    await rm(runDir, { recursive: true, force: true });
  });

  try {
    // Checked before anything starts, so a busy port fails fast and never answers for us.
    const port = await freePort('0.0.0.0', options.port);
    if (!env.MONGODB_URI) {
      engine = await startEmbeddedMongo({
        port: 0,
        dataDir: embeddedMongoDir(env.EMBEDDED_MONGO_DIR),
        logger: options.logger,
      });
      env.MONGODB_URI = engine.uri;
      options.logger.info({ uri: engine.uri }, 'embedded MongoDB-compatible engine started');
    }
    env.CORS_ORIGINS ??= `http://localhost:${port},http://127.0.0.1:${port}`;
    const roles = new Map<string, { role: string; extra: Record<string, string> }>();
    const spawnRole = (name: string, role: string, extra: Record<string, string> = {}) => {
      roles.set(name, { role, extra });
      const proc = spawnProcess({
        name,
        command: process.execPath,
        args: [MAIN],
        env: { ...env, ROLE: role, ...extra },
        logFile: join(runDir, 'logs', `${name}.log`),
        echo: options.echo ?? false,
        ipc: true,
        ...(extra.PORT ? { url: `http://127.0.0.1:${extra.PORT}` } : {}),
      });
      started.push(proc);
      return proc;
    };

    const apis: Started[] = [];
    for (let i = 1; i <= options.instances; i += 1) {
      const apiPort = String(await freePort());
      apis.push(
        spawnRole(`api-${i}`, 'api', { PORT: apiPort, HOST: '127.0.0.1', TRUST_PROXY: '1' }),
      );
    }
    const workers = range(options.workers ?? 1).map((i) => spawnRole(`worker-${i}`, 'worker'));
    const schedulers = range(options.schedulers ?? 1).map((i) =>
      spawnRole(`scheduler-${i}`, 'scheduler'),
    );
    await Promise.all(started.map((proc) => readyMessage(proc, START_TIMEOUT_MS)));
    await Promise.all(
      apis.map((api) =>
        waitForHttp(`${api.url ?? ''}/health/ready`, START_TIMEOUT_MS, api.isRunning),
      ),
    );

    const conf = await writeNginxConfig(runDir, {
      listen: String(port),
      upstreams: apis.map((api) => (api.url ?? '').replace('http://', '')),
    });
    const nginx = spawnProcess({
      name: 'nginx',
      command: nginxBin,
      args: nginxArgs(runDir, conf),
      env,
      logFile: join(runDir, 'logs', 'nginx.out'),
      echo: options.echo ?? false,
    });
    started.push(nginx);
    const url = `http://127.0.0.1:${port}`;
    await waitForHttp(`${url}/health/ready`, 15_000, nginx.isRunning).catch((error: unknown) => {
      throw new Error(`nginx did not come up: ${String(error)}\n${nginx.tail()}`);
    });
    const restart = async (old: ClusterProcess): Promise<ClusterProcess> => {
      const spec = roles.get(old.name);
      if (!spec) throw new Error(`${old.name} is not a Parley process of this cluster`);
      if (old.isRunning()) throw new Error(`${old.name} is still running`);
      const proc = spawnRole(old.name, spec.role, spec.extra);
      for (const list of [apis, workers, schedulers]) {
        const at = list.indexOf(old as Started);
        if (at >= 0) list[at] = proc;
      }
      await readyMessage(proc, START_TIMEOUT_MS);
      if (proc.url) await waitForHttp(`${proc.url}/health/ready`, START_TIMEOUT_MS, proc.isRunning);
      return proc;
    };
    return {
      url,
      runDir,
      mongoUri: env.MONGODB_URI,
      apis,
      workers,
      schedulers,
      nginx,
      restart,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function shutdown(started: Started[], env: NodeJS.ProcessEnv, logger: Logger) {
  // The app bounds its own drain by SHUTDOWN_TIMEOUT_MS; give it that and a little more.
  const graceMs = Number(env.SHUTDOWN_TIMEOUT_MS ?? 10_000) + 5_000;
  const stopOne = async (proc: ClusterProcess, signal: NodeJS.Signals) => {
    if (!proc.isRunning()) return;
    const exit = await stopProcess(proc, signal, graceMs);
    const clean = exit.code === 0 || (proc.name === 'nginx' && exit.signal === 'SIGTERM');
    if (!clean) logger.warn({ process: proc.name, exit: describeExit(exit) }, 'stopped uncleanly');
  };
  // Nginx first (stop accepting), then every Parley process drains in parallel.
  await Promise.all(started.filter((p) => p.name === 'nginx').map((p) => stopOne(p, 'SIGTERM')));
  await Promise.all(started.filter((p) => p.name !== 'nginx').map((p) => stopOne(p, 'SIGTERM')));
}

let runDirs = 0;

/** `.run/cluster-<pid>` under the repository (a second cluster in one process gets `-2`). */
async function makeRunDir(): Promise<string> {
  runDirs += 1;
  const base = join(repoRoot, '.run', `cluster-${process.pid}`);
  const dir = runDirs === 1 && !existsSync(base) ? base : `${base}-${runDirs}`;
  // Readable by others: Nginx's workers run as `nobody` when the master is root.
  await mkdir(join(dir, 'logs'), { recursive: true, mode: 0o755 });
  return dir;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

function once(run: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  return () => (running ??= run());
}
