/**
 * RabbitMQ helpers for integration tests:
 * - a throw-away vhost on the shared broker (127.0.0.1:5672) for isolation, and
 * - a second, isolated broker node that failure tests may stop and start. The shared node is
 *   never the target of stop_app/shutdown: every such command checks the node name prefix.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

const run = promisify(execFile);
const NODE_PREFIX = 'parley-test-';
/**
 * The broker every test uses: AMQP_URL when set (e.g. a private node while the shared one is
 * down; point rabbitmqctl at it with RABBITMQ_NODENAME too), else the local default.
 */
export const SHARED_BROKER = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

async function rabbitmqctl(args: string[], timeoutMs = 60_000): Promise<string> {
  const { stdout } = await run('rabbitmqctl', args, { timeout: timeoutMs });
  return stdout;
}

function suffix(): string {
  return randomBytes(4).toString('hex');
}

export interface TestVhost {
  readonly name: string;
  /** amqp URL for guest on this vhost (the vhost is URL-encoded in the path). */
  readonly url: string;
  listQueues(): Promise<string[]>;
  remove(): Promise<void>;
}

/** A fresh vhost on the shared broker: queues declared by a test disappear with it. */
export async function createTestVhost(base = SHARED_BROKER): Promise<TestVhost> {
  const name = `${NODE_PREFIX}${suffix()}`;
  await rabbitmqctl(['-q', 'add_vhost', name]);
  await rabbitmqctl(['-q', 'set_permissions', '-p', name, 'guest', '.*', '.*', '.*']);
  return {
    name,
    url: `${base}/${encodeURIComponent(name)}`,
    listQueues: async () =>
      (await rabbitmqctl(['-q', 'list_queues', '-p', name, 'name', '--no-table-headers']))
        .split('\n')
        .filter(Boolean),
    remove: async () => void (await rabbitmqctl(['-q', 'delete_vhost', name])),
  };
}

export interface IsolatedBroker {
  readonly nodeName: string;
  readonly port: number;
  readonly url: string;
  stopApp(): Promise<void>;
  startApp(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Starts `parley-test-<random>@localhost` on free ports with its own data/log dirs, no plugins
 * (stop_app is faster without management) and its own config (the system config pins 5672).
 * Takes about 3.5 s here. /usr/sbin/rabbitmq-server drops to the rabbitmq user when run as root,
 * so the node shares that user's Erlang cookie with rabbitmqctl; the temp dir is chowned to it.
 */
export async function startIsolatedBroker(startupTimeoutMs = 60_000): Promise<IsolatedBroker> {
  const nodeName = `${NODE_PREFIX}${suffix()}@localhost`;
  const [port, distPort] = [await freePort(), await freePort()];
  const dir = await mkdtemp(join(tmpdir(), 'parley-rmq-'));
  await writeFile(join(dir, 'enabled_plugins'), '[].\n');
  await writeFile(join(dir, 'rabbitmq.conf'), `listeners.tcp.local = 127.0.0.1:${port}\n`);
  await chownToRabbitmq(dir);
  const env = {
    ...process.env,
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
  };
  await run('rabbitmq-server', ['-detached'], { env, timeout: 30_000 });
  const ctl = (...args: string[]): Promise<string> => {
    if (!nodeName.startsWith(NODE_PREFIX)) throw new Error(`refusing to control ${nodeName}`);
    return rabbitmqctl(['-n', nodeName, '-q', ...args]);
  };
  const broker: IsolatedBroker = {
    nodeName,
    port,
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    stopApp: async () => void (await ctl('stop_app')),
    startApp: async () => {
      await ctl('start_app');
      await awaitStartup(ctl, dir, startupTimeoutMs);
    },
    shutdown: () => shutdown(ctl, dir),
  };
  try {
    await awaitStartup(ctl, dir, startupTimeoutMs);
  } catch (err) {
    await shutdown(ctl, dir);
    throw err;
  }
  return broker;
}

async function chownToRabbitmq(dir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const uid = Number((await run('id', ['-u', 'rabbitmq'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'rabbitmq'])).stdout.trim());
  for (const file of ['', 'enabled_plugins', 'rabbitmq.conf'])
    await chown(join(dir, file), uid, gid);
}

/** await_startup fails at once while the node is still registering with epmd, so poll it. */
async function awaitStartup(
  ctl: (...args: string[]) => Promise<string>,
  dir: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      await ctl('await_startup', '--timeout', '30');
      return;
    } catch (err) {
      lastError = err;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  throw new Error(
    `isolated broker did not start within ${timeoutMs} ms; log tail:\n${await logTail(dir)}`,
    { cause: lastError },
  );
}

async function logTail(dir: string): Promise<string> {
  const logDir = join(dir, 'log');
  const files = await readdir(logDir).catch(() => [] as string[]);
  const log = files.find((f) => f.endsWith('.log') && !f.includes('upgrade'));
  if (log === undefined) return '(no log)';
  return (await readFile(join(logDir, log), 'utf8')).split('\n').slice(-30).join('\n');
}

async function shutdown(ctl: (...args: string[]) => Promise<string>, dir: string): Promise<void> {
  try {
    await ctl('shutdown');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
