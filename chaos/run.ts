/**
 * `npm run chaos [-- --quick]`: the fault-injection run (SPEC §8). Starts its own topology on
 * free ports — Nginx, 2 api, 2 workers, 2 schedulers, a 3-node RabbitMQ cluster, a Redis with
 * AOF, the journaled embedded engine — has clients chat through @parley/client while auto
 * messages are planned and delivered, kills things on a printed schedule, then reconciles the
 * database against every client's log. Exits non-zero on any loss or duplicate. Everything it
 * started is stopped and removed at the end, also on failure or Ctrl-C.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { startCluster, type Cluster } from '../src/cluster/cluster.js';
import { createLogger } from '../src/logger.js';
import { faultSchedule, injectFaults, type FaultRecord } from './faults.js';
import { startRabbitCluster, type RabbitCluster } from './rabbit-cluster.js';
import { reconcile, type Reconciliation } from './reconcile.js';
import { startEngine, startRedis, type Service } from './services.js';
import { chat, closeAll, drainOutboxes, populate, sleep, type ChatUser } from './workload.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../src/entrypoints/cli.js', import.meta.url));

interface Profile {
  clients: number;
  durationS: number;
  sendIntervalMs: number;
  workerKills: number;
  rabbitKills: number;
}

const PROFILES: Record<'quick' | 'full', Profile> = {
  quick: { clients: 40, durationS: 60, sendIntervalMs: 2_000, workerKills: 3, rabbitKills: 1 },
  full: { clients: 200, durationS: 300, sendIntervalMs: 4_000, workerKills: 12, rabbitKills: 3 },
};

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
const say = (line: string) => process.stdout.write(`[chaos ${elapsed()}] ${line}\n`);

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      clients: { type: 'string' },
      duration: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  const profile = { ...PROFILES[values.quick ? 'quick' : 'full'] };
  if (values.clients) profile.clients = Number(values.clients);
  if (values.duration) profile.durationS = Number(values.duration);
  const runId = randomBytes(3).toString('hex');
  const dir = await mkdtemp(join(tmpdir(), `parley-chaos-${runId}-`));
  const resources = new Resources();
  const onSignal = (signal: NodeJS.Signals) => {
    say(`${signal}: stopping everything`);
    void resources.stop(dir, values.keep).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let outcome: Outcome;
  try {
    outcome = await runChaos(profile, runId, dir, resources);
  } finally {
    await resources.stop(dir, values.keep);
    say(`everything stopped${values.keep ? `; data kept in ${dir}` : ' and removed'}`);
  }
  // The machine-readable line is the last one.
  process.stdout.write(`${outcome.summary}\n`);
  return outcome.code;
}

interface Outcome {
  code: number;
  summary: string;
}

/** What the run started, so every exit path stops all of it (Parley first, then the services). */
class Resources {
  cluster: Cluster | null = null;
  rabbit: RabbitCluster | null = null;
  services: Service[] = [];
  users: ChatUser[] = [];
  private stopping: Promise<void> | null = null;

  stop(dir: string, keep: boolean): Promise<void> {
    this.stopping ??= (async () => {
      closeAll(this.users);
      await this.cluster?.stop().catch(() => undefined);
      await this.rabbit?.stop().catch(() => undefined);
      for (const service of this.services) await service.kill().catch(() => undefined);
      if (!keep) await rm(dir, { recursive: true, force: true });
    })();
    return this.stopping;
  }
}

async function runChaos(profile: Profile, runId: string, dir: string, res: Resources) {
  const schedule = faultSchedule(profile.durationS, profile.workerKills, profile.rabbitKills);
  say(`run ${runId}: ${profile.clients} clients, ${profile.durationS}s of chat, data in ${dir}`);
  say('fault schedule (seconds into the chat phase):');
  for (const fault of schedule) say(`  ${String(fault.at).padStart(4)}s  ${fault.kind}`);

  const [rabbit, redis, engine] = await Promise.all([
    startRabbitCluster(runId, dir).then((r) => (res.rabbit = r)),
    startRedis(dir).then((s) => (res.services.push(s), s)),
    startEngine(dir).then((s) => (res.services.push(s), s)),
  ]);
  say(`RabbitMQ cluster up: ${rabbit.nodes.map((n) => n.name).join(', ')}`);
  const adminEmail = `chaos-admin-${runId}@example.test`;
  const env = appEnv(runId, dir, engine.url, redis.url, rabbit.amqpUrl);
  const cluster = await startCluster({
    instances: 2,
    workers: 2,
    schedulers: 2,
    port: 0,
    logger: createLogger('warn', 'chaos'),
    env,
  });
  res.cluster = cluster;
  await rabbit.awaitReplicas(120_000);
  say(`Parley up behind ${cluster.url} (logs in ${cluster.runDir}/logs)`);

  const population = await populate(cluster.url, runId, profile.clients, adminEmail);
  res.users = population.users;
  say(
    `${profile.clients} clients connected: ${population.directs} direct, ${population.groups} group conversations`,
  );
  // An operator promotes the admin with the CLI, as in production; the role applies at once.
  const promoted = await run(process.execPath, [CLI, 'promote', adminEmail], {
    env: { ...process.env, ...env },
  });
  say(promoted.stdout.trim());

  const planFrom = new Date(Date.now() + 5_000);
  const planTo = new Date(Date.now() + profile.durationS * 600);
  const plan = await population.admin.client.api.planAutoMessages({
    body: { sendDateFrom: planFrom.toISOString(), sendDateTo: planTo.toISOString() },
  });
  say(`auto messages planned: ${plan.pairs} pairs, due until ${planTo.toISOString()}`);

  const chatStart = Date.now();
  const stopChat = new AbortController();
  const chatting = chat(population.users, runId, profile.sendIntervalMs, stopChat.signal);
  const faults = injectFaults(
    schedule,
    { cluster, rabbit, redis, engine, leaderQueue: 'message_sending_queue' },
    chatStart,
    AbortSignal.timeout((profile.durationS + 120) * 1000),
    say,
  );
  await sleep(profile.durationS * 1000);
  const records = await faults;
  stopChat.abort();
  await chatting;
  say(`chat stopped after ${((Date.now() - chatStart) / 1000).toFixed(0)}s; draining outboxes`);

  const unsettled = await drainOutboxes(population.users, 60_000);
  await settle(population.users);
  const result = await waitForDelivery(engine.url, redis.url, runId, population.users, plan.pairs);
  return report(result, records, unsettled);
}

function appEnv(
  runId: string,
  dir: string,
  mongoUri: string,
  redisUrl: string,
  amqpUrl: string,
): Record<string, string> {
  const secret = (name: string) => `${name}-${runId}-`.padEnd(48, 'x');
  return {
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    MONGODB_URI: mongoUri,
    REDIS_URL: redisUrl,
    AMQP_URL: amqpUrl,
    JWT_ACCESS_SECRET: secret('access'),
    JWT_REFRESH_SECRET: secret('refresh'),
    // The run's clients all come from 127.0.0.1 and send far faster than a person.
    RATE_LIMIT_AUTH_PER_MINUTE: '100000',
    RATE_LIMIT_API_PER_MINUTE: '100000',
    RATE_LIMIT_MESSAGES_PER_MINUTE: '100000',
    RATE_LIMIT_SOCKET_PER_SECOND: '10000',
    RATE_LIMIT_SOCKET_BURST: '10000',
    RATE_LIMIT_SOCKET_HANDSHAKES_PER_MINUTE: '100000',
    AUTO_MESSAGE_QUEUE_CRON: '*/5 * * * * *',
    AUTO_MESSAGE_RETRY_DELAYS_MS: '1000,2000,5000',
    AUTO_MESSAGE_CLAIM_TIMEOUT_MS: '20000',
    JOB_LEASE_MS: '15000',
    EVENTS_RELAY_LEASE_MS: '5000',
    UPLOAD_DIR: join(dir, 'uploads'),
  };
}

/** Every client connected again and caught up, so what it missed while away is in its log. */
async function settle(users: ChatUser[]): Promise<void> {
  await Promise.all(
    users.map(async (user) => {
      await user.socket.whenConnected(60_000).catch(() => undefined);
      await user.socket.catchUp().catch(() => undefined);
    }),
  );
}

/** Reconciles until nothing is missing or 60 s pass (deliveries still in flight settle). */
async function waitForDelivery(
  mongoUri: string,
  redisUrl: string,
  runId: string,
  users: ChatUser[],
  planned: number,
): Promise<Reconciliation> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const result = await reconcile(mongoUri, redisUrl, runId, users, planned);
    const bad = result.rows.some((r) => r.lost > 0) || !eventsSettled(result);
    if (!bad || Date.now() > deadline) return result;
    await sleep(2_000);
    await Promise.all(users.map((u) => u.socket.catchUp().catch(() => undefined)));
  }
}

/** Every event published (no outbox left) and consumed once by `stats`. */
function eventsSettled(result: Reconciliation): boolean {
  return result.pendingEvents === 0 && result.events.consumed === result.events.stored;
}

function report(result: Reconciliation, faults: FaultRecord[], unsettled: number): Outcome {
  const header = ['', 'planned', 'sent/acked', 'stored', 'delivered', 'lost', 'duplicated'];
  const rows = result.rows.map((r) =>
    [r.what, r.planned, r.sent, r.stored, r.delivered, r.lost, r.duplicated].map(String),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ');
  process.stdout.write('\n');
  say('faults injected:');
  for (const f of faults)
    say(`  ${f.kind.padEnd(18)} ${f.target.padEnd(38)} killed ${f.killedAt}s, back ${f.backAt}s`);
  process.stdout.write(`\n${line(header)}\n${rows.map(line).join('\n')}\n\n`);
  process.stdout.write(
    `sends never settled: ${unsettled}; events still in outboxes: ${result.pendingEvents}; ` +
      `message.created consumed by stats: ${result.events.consumed} of ${result.events.stored}\n`,
  );
  for (const problem of result.problems.slice(0, 20)) process.stdout.write(`  ${problem}\n`);
  const sum = (key: 'sent' | 'stored' | 'delivered' | 'lost' | 'duplicated') =>
    result.rows.reduce((n, r) => n + r[key], 0);
  const lost = sum('lost');
  const duplicated = sum('duplicated');
  return {
    code: lost === 0 && duplicated === 0 && eventsSettled(result) ? 0 : 1,
    summary:
      `chaos: sent=${sum('sent')} stored=${sum('stored')} delivered=${sum('delivered')} ` +
      `lost=${lost} duplicated=${duplicated} faults=${faults.length}`,
  };
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `chaos: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
