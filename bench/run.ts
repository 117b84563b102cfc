import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, platform, release, tmpdir, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.js';
import { deleteOwnedQueues } from '../src/core.js';
import { journaledInsertRow, restartRows } from './durability.js';
import { runEmbeddedMongoBench } from './embedded-mongo.js';
import { startChild, type BenchChild } from './lib/child.js';
import { Fixtures } from './lib/fixtures.js';
import { pidOf, pinning, pinSelf, settle, type Machine, type Settled } from './lib/proc.js';
import { renderSection, renderTable, updateDoc, type SuiteResult } from './lib/report.js';
import { PROFILES, type Context, type Profile, type RowResult } from './lib/types.js';
import { httpRows } from './scenarios/http.js';
import { deliverRow, planRow } from './scenarios/pipeline.js';
import { groupRows, idleRow, messagingRows } from './scenarios/realtime.js';
import { MEDIA_ENV, mediaRows } from './scenarios/media.js';
import { loadSearchCorpus, searchRows } from './scenarios/search.js';
import { variantThroughputRow, type Variant } from './scenarios/variants.js';
import { relayRow } from './scenarios/events.js';

/**
 * `npm run bench [-- --quick | --smoke] [--only=web,messages,http,sockets,pipeline,variants,events,search,media,engine] [--out=DIR] [--no-docs]
 * [--cpu-prof] [--render=latest.json] [--root=DIR]`: every row of docs/PERFORMANCE.md, each
 * against its baseline in the same run. See bench/NOTES.md for the method.
 */
const argv = process.argv.slice(2);
/** --root=DIR: the checkout whose docs/ and bench/ to write (when run from another build dir). */
function argvRoot(): string | undefined {
  const dir = argv.find((a) => a.startsWith('--root='))?.slice('--root='.length);
  return dir ? `${dir.replace(/\/$/, '')}/` : undefined;
}
const root = argvRoot() ?? fileURLToPath(new URL('../../', import.meta.url));
const flag = (name: string) => argv.includes(`--${name}`);
const option = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const base: Profile = PROFILES[flag('smoke') ? 'smoke' : flag('quick') ? 'quick' : 'full'];
// Size overrides for profiling one row, e.g. --due=20000 --plan-users=50000 --sockets=2000
// --rate=500 --reps=1.
const sized = (name: string, fallback: number) => Number(option(name) ?? fallback);
const profile: Profile = {
  ...base,
  dueMessages: sized('due', base.dueMessages),
  planUsers: sized('plan-users', base.planUsers),
  idleSockets: sized('sockets', base.idleSockets),
  openLoopRate: sized('rate', base.openLoopRate),
  reps: sized('reps', base.reps),
  heavyReps: sized('reps', base.heavyReps),
  variantReps: sized('reps', base.variantReps),
  deliverReps: sized('reps', base.deliverReps),
};
const groups = new Set(
  (option('only') ?? 'web,sockets,pipeline,variants,events,search,media,engine').split(','),
);
const outDir = option('out') ?? `${root}bench/results`;
const writeDocs = !flag('no-docs') && profile.name !== 'smoke';
const runId = randomBytes(4).toString('hex');
const started = Date.now();

function log(message: string): void {
  const s = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${s}s] ${message}\n`);
}

function machine(): Machine {
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    platform: `${platform()} ${release()}`,
    totalMemGiB: Math.round(totalmem() / 2 ** 30),
    pinning:
      pinning.loadCpu === null
        ? 'none (one core or no taskset)'
        : `load generator on CPU ${pinning.loadCpu}, servers on CPU ${pinning.serverCpus} (Redis, RabbitMQ and the events row's worker unpinned)`,
  };
}

function envFor(engineUri: string) {
  return (group: string, role: 'api' | 'worker'): Record<string, string> => ({
    NODE_ENV: 'production',
    ROLE: role,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    MONGODB_URI: engineUri,
    MONGODB_DB: `bench_${runId}_${group}`,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `bench:${runId}:${group}:`,
    AMQP_URL: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    AMQP_QUEUE_PREFIX: `bench.${runId}.${group}.`,
    JWT_ACCESS_SECRET: `bench-access-${runId}-0123456789abcdef0123456789`,
    JWT_REFRESH_SECRET: `bench-refresh-${runId}-0123456789abcdef0123456789`,
    ACCESS_TOKEN_TTL: '2h',
    // Limits stay on (their Redis round trips are part of the cost) but never trip.
    RATE_LIMIT_API_PER_MINUTE: '1000000000',
    RATE_LIMIT_AUTH_PER_MINUTE: '1000000000',
    RATE_LIMIT_MESSAGES_PER_MINUTE: '1000000000',
    RATE_LIMIT_SOCKET_PER_SECOND: '1000000000',
    RATE_LIMIT_SOCKET_BURST: '2000000000',
    RATE_LIMIT_SOCKET_HANDSHAKES_PER_MINUTE: '1000000000',
    RATE_LIMIT_GROUPS_PER_HOUR: '1000000000',
  });
}

/** Removes what one group's Parley created: its database, Redis keys, queues and event bus. */
async function cleanup(fixtures: Fixtures, env: Record<string, string>): Promise<void> {
  await fixtures.mongo.db.dropDatabase();
  const client = fixtures.redis.client;
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(
      cursor,
      'MATCH',
      `${fixtures.redis.prefix}*`,
      'COUNT',
      1000,
    );
    if (keys.length) await client.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await deleteOwnedQueues(loadConfig(env));
}

/** Starts Parley (given role) and the baselines on one isolated database, runs `body`, cleans up. */
async function withGroup(
  ctx: Context,
  group: string,
  role: 'api' | 'worker',
  body: (
    sides: { parley: BenchChild; baseline: BenchChild },
    fixtures: Fixtures,
  ) => Promise<RowResult[]>,
): Promise<RowResult[]> {
  const env = ctx.envFor(group, role);
  const fixtures = await Fixtures.open(loadConfig(env));
  const cpuProfileDir = ctx.cpuProfileDir;
  const children: BenchChild[] = [];
  try {
    const parley = await startChild('parley', env, cpuProfileDir ? { cpuProfileDir } : {});
    children.push(parley);
    const baseline = await startChild('baseline', env);
    children.push(baseline);
    return await body({ parley, baseline }, fixtures);
  } finally {
    ctx.log(`${group}: stopping servers`);
    for (const child of children.reverse()) await child.stop();
    ctx.log(`${group}: cleaning up`);
    await cleanup(fixtures, env);
    await fixtures.close();
  }
}

/**
 * One Parley (api role) on its own database of `engine`, with `env` overriding the group's: a
 * side of a feature on/off row; with `worker`, a worker process beside it (same database and
 * queues, `worker` overriding its env). Stops them and cleans the database up after `body`.
 */
async function withVariant<T>(
  ctx: Context,
  group: string,
  engine: BenchChild,
  overrides: Record<string, string>,
  body: (variant: Variant) => Promise<T>,
  options: { worker?: Record<string, string> } = {},
): Promise<T> {
  const env = { ...envFor(engine.url)(group, 'api'), ...overrides };
  const config = loadConfig(env);
  const fixtures = await Fixtures.open(config);
  const profiling = ctx.cpuProfileDir ? { cpuProfileDir: ctx.cpuProfileDir } : {};
  const children: BenchChild[] = [];
  try {
    const parley = await startChild('parley', env, profiling);
    children.push(parley);
    // The worker floats like Redis and RabbitMQ: a role a deployment runs wherever there is
    // room. Pinned onto the api's core with the engine, three processes took turns on one CPU
    // and the api's own CPU per message rose ~10 % on the on side for the same work.
    const worker = options.worker
      ? await startChild(
          'parley',
          { ...env, ROLE: 'worker', ...options.worker },
          { ...profiling, floating: true },
        )
      : undefined;
    if (worker) children.push(worker);
    return await body({
      parley,
      ...(worker ? { worker } : {}),
      fixtures,
      config,
      enginePid: engine.pid,
    });
  } finally {
    for (const child of children.reverse()) await child.stop();
    await cleanup(fixtures, env);
    await fixtures.close();
  }
}

/** The journal on/off row: Parley on a journaled engine (fdatasync per group commit) vs in memory. */
async function journalRow(ctx: Context): Promise<RowResult> {
  const dir = await mkdtemp(`${tmpdir()}/parley-bench-journal-`);
  const journaled = await startChild('engine', { ENGINE_DIR: dir });
  try {
    return await withVariant(ctx, 'journal-on', journaled, {}, (on) =>
      withVariant(ctx, 'journal-off', ctx.engine, {}, (off) =>
        variantThroughputRow(
          ctx,
          {
            id: 'messages-journal',
            scenario: `1:1 messages, persisted: peak throughput with the engine's journal on (\`--dir\`, fdatasync before every reply) vs in memory (${ctx.profile.pairs} pairs, closed loop)`,
            ratioNote: 'journal on msg/s ÷ journal off msg/s',
            minRatio: 0.8,
          },
          on,
          off,
        ),
      ),
    );
  } finally {
    await journaled.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Events on vs off: the same api under the same load, once with a worker beside it running the
 * outbox relay and every event consumer, once alone (the outbox is still written into each
 * document, nothing relays it). Then the relay's own publish rate.
 */
async function eventsRows(ctx: Context): Promise<RowResult[]> {
  const onOff = await withVariant(
    ctx,
    'events-on',
    ctx.engine,
    {},
    (on) =>
      withVariant(ctx, 'events-off', ctx.engine, {}, async (off) => {
        const row = await variantThroughputRow(
          ctx,
          {
            id: 'messages-events',
            scenario: `1:1 messages, persisted: peak throughput with events on (a worker relays the outbox to \`parley.events\` and runs the stats and webhooks consumers) vs off (api alone; ${ctx.profile.pairs} pairs, closed loop)`,
            ratioNote: 'events on msg/s ÷ events off msg/s',
            minRatio: 0.8,
          },
          on,
          off,
        );
        // The relay kept up (or not): events still waiting in the documents after the row.
        const waiting = (v: Variant) =>
          v.fixtures.mongo.db
            .collection('messages')
            .countDocuments({ outboxAt: { $gte: new Date(0) } });
        return {
          ...row,
          details: {
            ...row.details,
            outboxLeftOn: await waiting(on),
            outboxLeftOff: await waiting(off),
          },
        };
      }),
    { worker: { EVENTS_CONSUMERS: 'all' } },
  );
  const relay = await withVariant(ctx, 'events-relay', ctx.engine, {}, (v) => relayRow(ctx, v));
  return [onOff, relay];
}

/** --render=FILE: regenerate docs/PERFORMANCE.md from a saved result (e.g. after editing NOTES). */
async function render(file: string): Promise<number> {
  const result = JSON.parse(await readFile(file, 'utf8')) as SuiteResult;
  const notes = await readFile(`${root}bench/NOTES.md`, 'utf8').catch(() => '');
  await updateDoc(`${root}docs/PERFORMANCE.md`, renderSection(result, notes));
  process.stdout.write(`${renderTable(result)}\n`);
  return 0;
}

async function main(): Promise<number> {
  const renderFrom = option('render');
  if (renderFrom) return render(renderFrom);
  pinSelf();
  log(`profile ${profile.name}; groups ${[...groups].join(', ')}`);
  const servicePids: Record<string, number> = {};
  const redisPid = pidOf('redis-server');
  const rabbitPid = pidOf('beam.smp');
  if (redisPid) servicePids.redis = redisPid;
  if (rabbitPid) servicePids.rabbitmq = rabbitPid;
  const cpuProfileDir = flag('cpu-prof') ? `${outDir}/profiles` : undefined;
  if (cpuProfileDir) await mkdir(cpuProfileDir, { recursive: true });

  const rows: RowResult[] = [];
  const failures: SuiteResult['failures'] = [];
  const engine = await startChild('engine', {}, cpuProfileDir ? { cpuProfileDir } : {});
  const ctx: Context = {
    profile,
    engine,
    servicePids,
    cpuProfileDir,
    envFor: envFor(engine.url),
    log,
  };
  const settled: Record<string, Settled> = {};
  const attempt = async (group: string, run: () => Promise<RowResult[]>): Promise<void> => {
    if (!groups.has(group)) return;
    if (profile.settleMs > 0) {
      const quiet = await settle(profile.settleMs);
      settled[group] = quiet;
      log(
        `${group}: machine ${quiet.busyPercent} % busy after ${(quiet.waitedMs / 1000).toFixed(0)} s` +
          (quiet.quiet ? '' : ' (NOT quiet: something else is running)'),
      );
    }
    try {
      rows.push(...(await run()));
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      log(`${group} failed: ${message}`);
      failures.push({ group, error: message.split('\n')[0] ?? message });
    }
  };
  try {
    await attempt('web', () =>
      withGroup(ctx, 'web', 'api', async (sides, fixtures) => [
        ...(await messagingRows(ctx, sides, fixtures)),
        ...(await httpRows(ctx, sides, fixtures)),
      ]),
    );
    // Parts of `web` alone, for iterating on them: the two 1:1 message rows, the HTTP rows.
    await attempt('messages', () =>
      withGroup(ctx, 'web', 'api', (sides, fixtures) => messagingRows(ctx, sides, fixtures)),
    );
    await attempt('http', () =>
      withGroup(ctx, 'web', 'api', (sides, fixtures) => httpRows(ctx, sides, fixtures)),
    );
    await attempt('sockets', () =>
      withGroup(ctx, 'sockets', 'api', async (sides, fixtures) => [
        ...(await groupRows(ctx, sides, fixtures)),
        await idleRow(ctx, sides, fixtures),
      ]),
    );
    await attempt('pipeline', () =>
      withGroup(ctx, 'pipeline', 'worker', async (sides, fixtures) => {
        const users = Math.max(profile.planUsers, 2);
        log(`pipeline: seeding ${users} users`);
        const ids = await fixtures.bulkUsers(users);
        return [
          await planRow(ctx, sides, fixtures, users),
          await deliverRow(ctx, sides, fixtures, ids, profile.dueMessages),
        ];
      }),
    );
    await attempt('variants', async () => [await journalRow(ctx)]);
    await attempt('events', () => eventsRows(ctx));
    await attempt('search', () =>
      withGroup(ctx, 'search', 'api', async (sides, fixtures) => {
        const { searchMessages: messages, searchConversations: conversations } = profile;
        log(`search: loading ${messages} messages in ${conversations} conversations`);
        const loading = Date.now();
        const corpus = await loadSearchCorpus(ctx, fixtures, conversations, messages);
        log(`search: loaded in ${((Date.now() - loading) / 1000).toFixed(1)} s`);
        return searchRows(ctx, sides.parley, corpus, profile.searchQueries);
      }),
    );
    await attempt('media', async () => {
      const uploadDir = await mkdtemp(`${tmpdir()}/parley-bench-uploads-`);
      try {
        return await withVariant(
          ctx,
          'media',
          engine,
          { ...MEDIA_ENV, UPLOAD_DIR: uploadDir },
          (v) => mediaRows(ctx, v, uploadDir),
        );
      } finally {
        await rm(uploadDir, { recursive: true, force: true });
      }
    });
  } finally {
    await engine.stop();
  }

  if (groups.has('engine') && profile.name !== 'smoke') {
    log('embedded engine durability: journaled insertOne and restart (bench/durability.ts)');
    await attempt('engine', async () => [
      await journaledInsertRow(profile.name === 'quick'),
      ...(await restartRows(profile.name === 'quick', log)),
    ]);
  }

  let embeddedMongo: SuiteResult['embeddedMongo'];
  if (groups.has('engine') && profile.name !== 'smoke') {
    log('embedded MongoDB engine bench (bench/embedded-mongo.ts)');
    embeddedMongo = await runEmbeddedMongoBench({ quick: profile.name === 'quick' }).catch(
      (error: unknown) => ({ error: String(error) }),
    );
  }

  const result: SuiteResult = {
    profile: profile.name,
    startedAt: new Date(started).toISOString(),
    durationS: (Date.now() - started) / 1000,
    machine: machine(),
    settled,
    rows,
    failures,
    ...(embeddedMongo ? { embeddedMongo } : {}),
  };
  await mkdir(outDir, { recursive: true });
  await writeFile(`${outDir}/latest.json`, JSON.stringify(result, null, 2) + '\n');
  if (writeDocs) {
    const notes = await readFile(`${root}bench/NOTES.md`, 'utf8').catch(() => '');
    await updateDoc(`${root}docs/PERFORMANCE.md`, renderSection(result, notes));
  }
  process.stdout.write(`${renderTable(result)}\n`);
  log(`done in ${Math.round(result.durationS)} s; results in ${outDir}/latest.json`);
  return failures.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
