/**
 * A private three-node RabbitMQ cluster on localhost for the chaos run: node names
 * `parley-chaos-<run>-<n>@localhost`, free ports, data and logs under the run's directory. The
 * shared broker (5672) is never touched: every control command checks the node name's prefix.
 * /usr/sbin/rabbitmq-server drops to the rabbitmq user when run as root, so the run directory is
 * chowned to it and the nodes share that user's Erlang cookie with rabbitmqctl.
 */
import { execFile } from 'node:child_process';
import { chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../src/cluster/processes.js';

const run = promisify(execFile);
export const NODE_PREFIX = 'parley-chaos-';

export interface RabbitNode {
  readonly index: number;
  readonly name: string;
  readonly port: number;
  readonly url: string;
  /** The beam process's pid while the node runs, else null. */
  pid: number | null;
}

export interface RabbitCluster {
  readonly nodes: readonly RabbitNode[];
  /** Every node's URL, comma-separated: the app's AMQP_URL. */
  readonly amqpUrl: string;
  /** `kill -9` of the node's Erlang VM, as a crash would. */
  kill(node: RabbitNode): Promise<void>;
  /** Starts a killed node again (it rejoins the cluster from its data dir) and waits for it. */
  start(node: RabbitNode): Promise<void>;
  /** The node that leads quorum queue `queue` now (null if none does). */
  leaderOf(queue: string): Promise<RabbitNode | null>;
  /** Waits until every quorum queue has a leader and all three members online. */
  awaitReplicas(timeoutMs: number): Promise<void>;
  /** Kills every node (graceful shutdown first) and forgets them. Idempotent. */
  stop(): Promise<void>;
}

export async function startRabbitCluster(runId: string, dir: string): Promise<RabbitCluster> {
  const owner = await rabbitmqOwner();
  const nodes: (RabbitNode & { env: NodeJS.ProcessEnv })[] = [];
  for (const index of [1, 2, 3]) {
    const name = `${NODE_PREFIX}${runId}-${index}@localhost`;
    const port = await freePort();
    const distPort = await freePort();
    const base = join(dir, `rabbit-${index}`);
    await mkdir(base, { recursive: true });
    await writeFile(join(base, 'enabled_plugins'), '[].\n');
    // No management plugin (faster restarts); the listener on 127.0.0.1 only.
    await writeFile(join(base, 'rabbitmq.conf'), `listeners.tcp.local = 127.0.0.1:${port}\n`);
    if (owner) for (const path of [dir, base]) await chown(path, owner.uid, owner.gid);
    if (owner)
      for (const file of ['enabled_plugins', 'rabbitmq.conf'])
        await chown(join(base, file), owner.uid, owner.gid);
    const env = {
      ...process.env,
      RABBITMQ_NODENAME: name,
      RABBITMQ_NODE_PORT: String(port),
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_MNESIA_BASE: join(base, 'mnesia'),
      RABBITMQ_LOG_BASE: join(base, 'log'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(base, 'enabled_plugins'),
      RABBITMQ_CONFIG_FILE: join(base, 'rabbitmq.conf'),
    };
    nodes.push({ index, name, port, url: `amqp://guest:guest@127.0.0.1:${port}`, pid: null, env });
  }
  let stopped = false;
  /** Restarts in flight: stop() waits for them, or a node started meanwhile would outlive us. */
  const launching = new Set<Promise<void>>();
  const cluster: RabbitCluster = {
    nodes,
    amqpUrl: nodes.map((node) => node.url).join(','),
    kill: async (node) => {
      if (node.pid !== null) await killHard(node.pid);
      node.pid = null;
    },
    start: async (node) => {
      const full = nodes.find((n) => n.name === node.name);
      if (!full) throw new Error(`unknown node ${node.name}`);
      if (stopped) throw new Error('the cluster is stopped');
      const launched = launch(full);
      launching.add(launched);
      await launched.finally(() => launching.delete(launched));
    },
    leaderOf: async (queue) => {
      const alive = nodes.find((n) => n.pid !== null);
      if (!alive) return null;
      const out = await ctl(alive.name, ['list_queues', 'name', 'leader', '--no-table-headers']);
      for (const line of out.split('\n')) {
        const [name, leader] = line.trim().split(/\s+/);
        if (name === queue) return nodes.find((n) => n.name === leader) ?? null;
      }
      return null;
    },
    awaitReplicas: async (timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const alive = nodes.find((n) => n.pid !== null);
        const out = alive
          ? await ctl(alive.name, [
              'list_queues',
              'type',
              'leader',
              'online',
              '--no-table-headers',
            ]).catch(() => '')
          : '';
        const lines = out.split('\n').filter((l) => l.startsWith('quorum'));
        const healthy = lines.every((l) => l.includes('@') && countNodes(l) >= 4);
        if (out && healthy) return;
        if (Date.now() > deadline) throw new Error(`quorum queues not fully replicated:\n${out}`);
        await delay(500);
      }
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await Promise.allSettled([...launching]);
      // By name, every node: one whose launch failed half-way may run without a known pid.
      await Promise.all(
        nodes.map(async (node) => {
          await ctl(node.name, ['shutdown'], 20_000).catch(() => undefined);
          if (node.pid !== null && isAlive(node.pid)) await killHard(node.pid);
          node.pid = null;
        }),
      );
    },
  };
  try {
    await Promise.all(nodes.map((node) => launch(node)));
    const [first, ...others] = nodes;
    for (const node of others) {
      await ctl(node.name, ['stop_app']);
      await ctl(node.name, ['join_cluster', first?.name ?? '']);
      await ctl(node.name, ['start_app']);
      await awaitStartup(node.name, 120_000);
    }
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

/** The leader and the online members, each `name@host`: a healthy line names 1 + 3 nodes. */
function countNodes(line: string): number {
  return (line.match(/@localhost/g) ?? []).length;
}

async function launch(node: RabbitNode & { env: NodeJS.ProcessEnv }): Promise<void> {
  await run('rabbitmq-server', ['-detached'], { env: node.env, timeout: 60_000 });
  await awaitStartup(node.name, 120_000);
  node.pid = Number((await ctl(node.name, ['eval', 'list_to_integer(os:getpid()).'])).trim());
}

async function ctl(node: string, args: string[], timeoutMs = 60_000): Promise<string> {
  if (!node.startsWith(NODE_PREFIX)) throw new Error(`refusing to control ${node}`);
  const { stdout } = await run('rabbitmqctl', ['-n', node, '-q', ...args], { timeout: timeoutMs });
  return stdout;
}

/** await_startup fails at once while the node is still registering with epmd, so poll it. */
async function awaitStartup(node: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await ctl(node, ['await_startup', '--timeout', '60'], 70_000);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${node} did not start`, { cause: error });
      await delay(500);
    }
  }
}

async function rabbitmqOwner(): Promise<{ uid: number; gid: number } | null> {
  if (process.getuid?.() !== 0) return null;
  const uid = Number((await run('id', ['-u', 'rabbitmq'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'rabbitmq'])).stdout.trim());
  return { uid, gid };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function killHard(pid: number): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, 'SIGKILL');
  while (isAlive(pid)) await delay(50);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
