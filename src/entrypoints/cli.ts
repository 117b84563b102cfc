import type { Db } from 'mongodb';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { runningEngineAddress } from '@parley/embedded-mongo';
import { connectMongo, type MongoOptions } from '../infra/mongo.js';
import { connectRedis } from '../infra/redis.js';
import { bumpUserVersion } from '../modules/users/user.cache.js';
import { UsersRepository } from '../modules/users/users.repository.js';
import { createSearchBackend } from '../modules/search/search.module.js';
import type { ReindexProgress } from '../modules/search/search.backend.js';
import { EVENTS_USAGE, eventsCommand } from './cli-events.js';

const USAGE = `usage: npm run cli -- promote <email>   make the user with this email an admin
       npm run cli -- demote <email>    make them a regular user again
       npm run cli -- search reindex    rebuild the search index from MongoDB (docs/SEARCH.md)
${EVENTS_USAGE}`;

/** Operator commands against Parley's MongoDB (MONGODB_URI, or the embedded engine's data). */
async function main(argv: string[]): Promise<number> {
  const [command, arg] = argv;
  if (command === 'events') return eventsCommand(argv.slice(1), loadConfig(), createLogger('warn'));
  const known =
    ((command === 'promote' || command === 'demote') && arg) ||
    (command === 'search' && arg === 'reindex');
  if (!known) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = loadConfig();
  const logger = createLogger('warn');
  const mongo = await connectMongo(await mongoTarget(config, logger));
  try {
    if (command === 'search') return await reindex(config, mongo.db);
    const email = arg;
    // Running instances keep users for `/me` until their version moves (UserCache).
    const redis = await connectRedis(config.REDIS_URL, config.REDIS_KEY_PREFIX, logger);
    const users = new UsersRepository(mongo.db, undefined, (id) => bumpUserVersion(redis, id));
    const user = await users
      .setRoleByEmail(email, command === 'promote' ? 'admin' : 'user')
      .finally(() => redis.close());
    if (!user) {
      process.stderr.write(`no user with email ${email}\n`);
      return 1;
    }
    process.stdout.write(`${user.username} <${user.email}> is now ${user.role}\n`);
    return 0;
  } finally {
    await mongo.close();
  }
}

/**
 * MONGODB_URI when set. Otherwise the embedded engine's data directory: the engine of the
 * `npm start` that holds it (it names its address there), or, with none running, an engine
 * of this command's own on the same directory.
 */
async function mongoTarget(
  config: ReturnType<typeof loadConfig>,
  logger: ReturnType<typeof createLogger>,
): Promise<MongoOptions> {
  const dir = config.EMBEDDED_MONGO_DIR;
  const base = { dbName: config.MONGODB_DB, logger };
  if (config.MONGODB_URI) return { ...base, uri: config.MONGODB_URI, embeddedDir: undefined };
  if (!dir) {
    throw new Error(
      'EMBEDDED_MONGO_DIR=:memory: keeps the data inside the process that runs Parley; ' +
        'there is nothing to reach from here',
    );
  }
  const running = await runningEngineAddress(dir);
  return running
    ? { ...base, uri: running, embeddedDir: undefined }
    : { ...base, uri: undefined, embeddedDir: dir };
}

async function reindex(config: ReturnType<typeof loadConfig>, db: Db): Promise<number> {
  const backend = createSearchBackend(config, db);
  const started = Date.now();
  const report = (p: ReindexProgress) => {
    const percent = p.total > 0 ? Math.min(100, (100 * p.done) / p.total).toFixed(1) : '100.0';
    process.stdout.write(`search reindex (${backend.name}): ${p.done}/${p.total} (${percent}%)\n`);
  };
  const result = await backend.reindex(report).finally(() => backend.close());
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(`search reindex done: ${result.done} messages in ${seconds} s\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`parley cli: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
