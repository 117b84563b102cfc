import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { errorMessage } from '../errors.js';
import { StartupError, redactUrl } from './startup-error.js';

export interface RedisHandles {
  /** Commands: caches, sessions, presence, rate limits. */
  client: Redis;
  /** Prepends the configured prefix, so test runs and tenants never share keys. */
  key(name: string): string;
  prefix: string;
  /** A second connection for subscriber mode (the Socket.IO adapter needs one). */
  duplicate(): Redis;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Connects once, failing fast at start-up with one line naming the URL; afterwards ioredis
 * reconnects on its own and commands queue until it is back.
 */
export async function connectRedis(
  url: string,
  prefix: string,
  logger: Logger,
): Promise<RedisHandles> {
  // Auto-pipelining sends the commands of concurrent requests in one write: fewer syscalls.
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 3,
    enableAutoPipelining: true,
  });
  let lastError: unknown = null;
  const onError = (error: Error) => {
    lastError = error;
    logger.warn({ err: error }, 'redis connection error');
  };
  client.on('error', onError);
  try {
    await withTimeout(client.connect(), 5000);
  } catch (error) {
    client.disconnect();
    // ioredis rejects with "Connection is closed"; the socket error says why.
    const reason = errorMessage(lastError ?? error);
    throw new StartupError(`Cannot reach Redis at ${redactUrl(url)}: ${reason}`, { cause: error });
  }
  const duplicates: Redis[] = [];
  return {
    client,
    prefix,
    key: (name) => prefix + name,
    duplicate() {
      const copy = client.duplicate();
      copy.on('error', (error: Error) => logger.warn({ err: error }, 'redis connection error'));
      duplicates.push(copy);
      return copy;
    },
    async ping() {
      // Every connection counts: until the adapter's subscriber is back, this instance's
      // sockets miss the fan-out, so it is not ready yet. (`wait`: lazy, not used yet.)
      if (duplicates.some((copy) => copy.status !== 'ready' && copy.status !== 'wait'))
        return false;
      return (await client.ping()) === 'PONG';
    },
    async close() {
      await Promise.allSettled([client, ...duplicates].map((c) => c.quit()));
    },
  };
}

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A Lua script run by its SHA1 (EVALSHA): Redis neither receives nor hashes its text per call. */
export interface LuaScript {
  run(
    client: Redis,
    keys: readonly string[],
    args: readonly (string | number | Buffer)[],
  ): Promise<unknown>;
}

/**
 * The text is sent once per Redis server: only when the server answers NOSCRIPT (first use,
 * a restart, SCRIPT FLUSH) is the call repeated with EVAL, which also caches it there.
 */
export function luaScript(source: string): LuaScript {
  const sha = createHash('sha1').update(source).digest('hex');
  return {
    async run(client, keys, args) {
      try {
        return await client.evalsha(sha, keys.length, ...keys, ...args);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return client.eval(source, keys.length, ...keys, ...args);
      }
    },
  };
}
