import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { after } from 'node:test';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger, silentLogger, type Logger } from '../../src/logger.js';
import type { ErrorReporter } from '../../src/infra/sentry.js';
import { startParley, type Parley } from '../../src/app.js';
import { deleteOwnedQueues } from '../../src/core.js';
import { connectRedis } from '../../src/infra/redis.js';
import { bumpUserVersion } from '../../src/modules/users/user.cache.js';
import { UsersRepository } from '../../src/modules/users/users.repository.js';
import { startEmbeddedMongo, type EmbeddedMongo } from '@parley/embedded-mongo';
import { registerUser, type Registered } from './http.js';

/** A short random suffix for the names tests isolate themselves by. */
export function uniqueId(): string {
  return randomBytes(5).toString('hex');
}

let sharedEngine: Promise<EmbeddedMongo> | null = null;
const cleanups: (() => Promise<void>)[] = [];

// node:test runs `after` hooks registered inside a `before` hook right after that hook, so
// everything a test file starts is cleaned up once, at the end of the file, newest first.
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await (await sharedEngine)?.stop();
});

/** The real MongoDB named by MONGODB_URI, or one embedded engine per test process. */
export async function mongoUri(): Promise<string> {
  if (process.env.MONGODB_URI) return process.env.MONGODB_URI;
  sharedEngine ??= startEmbeddedMongo({ port: 0 });
  return (await sharedEngine).uri;
}

/** Registers a cleanup to run when the test file ends. */
export function atEnd(cleanup: () => Promise<void>): void {
  cleanups.push(cleanup);
}

export interface TestEnv {
  /** Environment for every instance of one test: same database, Redis prefix and queues. */
  env: Record<string, string>;
}

/** Names that isolate one test's data on the shared servers. */
export async function isolatedEnv(
  overrides: Record<string, string> = {},
): Promise<Record<string, string>> {
  const id = uniqueId();
  return {
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    MONGODB_URI: await mongoUri(),
    MONGODB_DB: `t_${id}`,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `t:${id}:`,
    AMQP_URL: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    AMQP_QUEUE_PREFIX: `t.${id}.`,
    UPLOAD_DIR: join(tmpdir(), `parley-uploads-${id}`),
    // Tests share one client address; the rate-limit tests set their own limits.
    RATE_LIMIT_AUTH_PER_MINUTE: '100000',
    RATE_LIMIT_API_PER_MINUTE: '100000',
    RATE_LIMIT_SOCKET_HANDSHAKES_PER_MINUTE: '100000',
    // Maintenance jobs run when a test triggers them, never on a tick mid-test.
    MEDIA_ORPHAN_CLEANUP_CRON: '0 0 1 1 *',
    STATS_HOURLY_CRON: '0 0 1 1 *',
    MEDIA_OPTIMIZE_CRON: '0 0 1 1 *',
    // Each consumer is five quorum queues and a connection per app: only the event tests run them.
    EVENTS_CONSUMERS: 'none',
    ...overrides,
  };
}

export interface TestApp extends Parley {
  url: string;
}

/**
 * Starts the real app (same composition as production) on port 0. When the test file ends it is
 * stopped and, after every app sharing its names has stopped, its database, Redis keys and
 * queues are removed.
 */
export async function startTestApp(
  env?: Record<string, string>,
  options: { logger?: Logger; reportError?: ErrorReporter } = {},
): Promise<TestApp> {
  const config: Readonly<Config> = loadConfig(env ?? (await isolatedEnv()));
  const names = `${config.MONGODB_DB}|${config.REDIS_KEY_PREFIX}`;
  // Cleanups run newest first: registered before the first app of these names, this one runs
  // after all of them have stopped (and written their last presence and cache keys).
  if (!cleaned.has(names)) {
    cleaned.add(names);
    atEnd(() => cleanUpEnv(config));
  }
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);
  const parley = await startParley(config, logger, {
    ...(options.reportError ? { reportError: options.reportError } : {}),
  });
  atEnd(() => parley.stop());
  if (!parley.url) throw new Error('test app has no HTTP server');
  return parley as TestApp;
}

const cleaned = new Set<string>();

/** The names a test environment isolates itself by: an env record or a parsed config. */
export interface TestNames {
  MONGODB_URI?: string | undefined;
  MONGODB_DB?: string | undefined;
  REDIS_URL?: string | undefined;
  REDIS_KEY_PREFIX?: string | undefined;
  AMQP_URL?: string | undefined;
  AMQP_QUEUE_PREFIX?: string | undefined;
  UPLOAD_DIR?: string | undefined;
}

/**
 * Removes everything a test environment created on the shared servers (its database, Redis keys
 * and queues), with connections of its own, so it can run after the apps have stopped.
 */
export async function cleanUpEnv(env: Record<string, string> | Readonly<Config>): Promise<void> {
  const mongo = new MongoClient(env.MONGODB_URI ?? '');
  await mongo.connect();
  await mongo.db(env.MONGODB_DB ?? '').dropDatabase();
  await mongo.close();
  await cleanUpServices(env);
}

/** `cleanUpEnv` but for the database: for an app whose engine kept its data in a temporary dir. */
export async function cleanUpServices(
  env: Record<string, string> | Readonly<Config>,
): Promise<void> {
  const redis = new Redis(env.REDIS_URL ?? '');
  await deleteKeys(redis, `${env.REDIS_KEY_PREFIX}*`);
  await redis.quit();
  if (env.UPLOAD_DIR?.startsWith(tmpdir()))
    await rm(env.UPLOAD_DIR, { recursive: true, force: true });
  await deleteOwnedQueues(isConfig(env) ? env : loadConfig(env));
}

function isConfig(env: Record<string, string> | Readonly<Config>): env is Readonly<Config> {
  return Array.isArray((env as Partial<Config>).AUTO_MESSAGE_RETRY_DELAYS_MS);
}

/**
 * Makes a user an admin the way an operator does (`npm run cli -- promote <email>`): ADMIN_EMAILS
 * never promotes an account registered after its address was listed (docs/SECURITY.md).
 */
export async function promoteToAdmin(names: TestNames, email: string): Promise<void> {
  const mongo = new MongoClient(names.MONGODB_URI ?? '');
  await mongo.connect();
  const redis = await connectRedis(
    names.REDIS_URL ?? '',
    names.REDIS_KEY_PREFIX ?? '',
    silentLogger,
  );
  try {
    const users = new UsersRepository(mongo.db(names.MONGODB_DB), undefined, (id) =>
      bumpUserVersion(redis, id),
    );
    await users.setRoleByEmail(email, 'admin');
  } finally {
    await mongo.close();
    await redis.close();
  }
}

/**
 * Registers a user and promotes them as an operator would; `names` locate the database. Here,
 * not in http.ts: that module stays free of this one (and of `node:test`, whose harness tracks
 * every promise with async hooks), since the benchmark imports it for `http`.
 */
export async function registerAdmin(
  baseUrl: string,
  names: TestNames,
  overrides: Partial<{ username: string; email: string; password: string }> = {},
): Promise<Registered & { password: string }> {
  const admin = await registerUser(baseUrl, overrides);
  await promoteToAdmin(names, admin.user.email ?? '');
  return { ...admin, user: { ...admin.user, role: 'admin' } };
}

/** Deletes every Redis key matching `pattern` (a test's prefix). */
async function deleteKeys(client: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    if (keys.length) await client.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
