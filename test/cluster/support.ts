import { Redis } from 'ioredis';
import { MongoClient, type Db } from 'mongodb';
import { startCluster, type Cluster } from '../../src/cluster/cluster.js';
import { findNginx } from '../../src/cluster/nginx.js';
import { silentLogger } from '../../src/logger.js';
import { atEnd, cleanUpEnv, isolatedEnv } from '../support/app.js';
import { directConversation, http, registerUser, type Registered } from '../support/http.js';
import { connectSocket, eventually, type ClientSocket } from '../support/sockets.js';

/** Why the cluster suites skip, or false when Nginx is there (`scripts/services.sh` installs it). */
export const skipWithoutNginx: string | false = findNginx()
  ? false
  : 'nginx is not installed: run `bash scripts/services.sh` as root, or apt-get install -y nginx';

export interface TestCluster extends Cluster {
  env: Record<string, string>;
  db: Db;
  redis: Redis;
  /** The user registered to learn the instance ids (it exists in the database like any other). */
  probe: Registered;
  /** Presence instance id of each api process, in `apis` order. */
  instanceIds: string[];
  /** Indexes (into `apis`) of the instances that hold this user's sockets right now. */
  instancesOf(userId: string): Promise<number[]>;
  /** Waits until exactly the instances `expected` (or, without it, any one) hold the user. */
  heldBy(userId: string, expected?: number[], timeoutMs?: number): Promise<number[]>;
}

/**
 * The real `npm run cluster` topology (real processes, real Nginx) on names unique to this test;
 * stopped, and its database, Redis keys and queues deleted, when the test file ends.
 */
export async function startTestCluster(
  options: { instances: number; workers?: number; schedulers?: number },
  overrides: Record<string, string> = {},
): Promise<TestCluster> {
  const env = await isolatedEnv({
    RATE_LIMIT_MESSAGES_PER_MINUTE: '100000',
    RATE_LIMIT_SOCKET_PER_SECOND: '10000',
    RATE_LIMIT_SOCKET_BURST: '10000',
    ...overrides,
  });
  delete env.PORT;
  delete env.HOST;
  const cluster = await startCluster({ ...options, port: 0, env, logger: silentLogger });
  const mongo = new MongoClient(env.MONGODB_URI ?? '');
  const redis = new Redis(env.REDIS_URL ?? '', { lazyConnect: true });
  atEnd(async () => {
    await cluster.stop();
    await mongo.close();
    redis.disconnect();
    await cleanUpEnv(env);
  });
  await mongo.connect();
  await redis.connect();
  const prefix = env.REDIS_KEY_PREFIX ?? '';
  const instancesHolding = (userId: string) => redis.hkeys(`${prefix}presence:user:${userId}`);
  const probe = await registerUser(cluster.url);
  const instanceIds = await probeInstances(cluster, probe, instancesHolding);
  const instancesOf = async (userId: string) => {
    const held = await instancesHolding(userId);
    return instanceIds.flatMap((id, i) => (held.includes(id) ? [i] : []));
  };
  return {
    ...cluster,
    env,
    db: mongo.db(env.MONGODB_DB),
    redis,
    probe,
    instanceIds,
    instancesOf,
    heldBy: (userId, expected, timeoutMs = 10_000) =>
      waitFor(
        async () => {
          const held = await instancesOf(userId);
          const done = expected ? held.join() === expected.join() : held.length === 1;
          return done ? held : null;
        },
        `presence of ${userId} on ${expected ? expected.join() : 'one instance'}`,
        timeoutMs,
      ),
  };
}

/** Connects a probe user straight to each api process to learn its presence instance id. */
async function probeInstances(
  cluster: Cluster,
  probe: Registered,
  instancesHolding: (userId: string) => Promise<string[]>,
): Promise<string[]> {
  const ids: string[] = [];
  for (const api of cluster.apis) {
    const socket = await connectSocket(api.url ?? '', probe.accessToken);
    const held = await waitFor(async () => {
      const now = await instancesHolding(probe.user.id);
      return now.find((id) => !ids.includes(id)) ?? null;
    }, 'probe presence');
    ids.push(held);
    socket.disconnect();
  }
  return ids;
}

/** Polls until `probe` returns a value (not null), or fails after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => Promise<T | null>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  let value: T | null = null;
  await eventually(async () => (value = await probe()) !== null, timeoutMs, what, 50);
  return value as T;
}

export interface MessageBody {
  message: { id: string; conversationId: string; senderId: string; content: string; type: string };
}

/**
 * Every message newer than `since` across the user's conversations (GET /api/sync, all pages),
 * starting a few seconds before it. ObjectIds from different api processes are ordered by second,
 * then by a per-process random part, so a message another instance stored in the same second as
 * `since` can have a smaller id; a client rewinds and dedupes by id (docs/DEPLOYMENT.md).
 */
export async function syncSince(
  url: string,
  user: Registered,
  since: string,
  rewindSeconds = 5,
): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = rewindObjectId(since, rewindSeconds);
  while (cursor) {
    const res: { status: number; body: { items: { id: string }[]; nextCursor: string | null } } =
      await http(url, 'GET', `/api/sync?since=${cursor}&limit=100`, { token: user.accessToken });
    if (res.status !== 200) throw new Error(`sync: ${res.status} ${JSON.stringify(res.body)}`);
    ids.push(...res.body.items.map((m) => m.id));
    cursor = res.body.nextCursor;
  }
  return ids;
}

/** Resolves on the socket's next successful (re)connection. */
export function reconnected(socket: ClientSocket, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no reconnection')), timeoutMs);
    socket.io.once('reconnect', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The smallest ObjectId of the second `seconds` before the one `id` was made in. */
export function rewindObjectId(id: string, seconds: number): string {
  const time = Math.max(0, Number.parseInt(id.slice(0, 8), 16) - seconds);
  return `${time.toString(16).padStart(8, '0')}${'0'.repeat(16)}`;
}

export { directConversation };
