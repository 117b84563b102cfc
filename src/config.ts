import { z } from 'zod';
import { Cron } from 'croner';

/**
 * Every setting Parley reads, parsed once at start-up. Nothing else reads process.env.
 * `.env.example` lists the same variables with their defaults.
 */

const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)?$/, 'a duration like 900, 15m, 30d')
  .transform(parseDurationSeconds);

const cron = z.string().refine(isValidCron, 'not a valid cron expression (5 or 6 fields)');

const positiveInt = z.coerce.number().int().positive();

/** Where the embedded engine keeps its data when EMBEDDED_MONGO_DIR is unset. */
export const DEFAULT_EMBEDDED_MONGO_DIR = 'data/db';

/**
 * EMBEDDED_MONGO_DIR as the engine's `dataDir`: unset = `./data/db` (relative to the working
 * directory), `:memory:` = no persistence (undefined).
 */
export function embeddedMongoDir(value: string | undefined): string | undefined {
  if (value === ':memory:') return undefined;
  return value || DEFAULT_EMBEDDED_MONGO_DIR;
}

const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean),
);

export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  // Loopback unless told otherwise: a development instance is not on the network by accident.
  HOST: z.string().default('127.0.0.1'),
  ROLE: z.enum(['all', 'api', 'worker', 'scheduler']).default('all'),
  MONGODB_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb://')
    .optional(),
  MONGODB_DB: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .optional(),
  EMBEDDED_MONGO_DIR: z.string().optional().transform(embeddedMongoDir),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis://')
    .default('redis://127.0.0.1:6379'),
  REDIS_KEY_PREFIX: z.string().default(''),
  AMQP_URL: z
    .string()
    .regex(/^amqps?:\/\//, 'must start with amqp://')
    .default('amqp://guest:guest@127.0.0.1:5672'),
  AMQP_QUEUE_PREFIX: z.string().default(''),
  JWT_ACCESS_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  JWT_REFRESH_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  ACCESS_TOKEN_TTL: duration.default(15 * 60),
  REFRESH_TOKEN_TTL: duration.default(30 * 24 * 3600),
  ADMIN_EMAILS: csv.default([]).transform((emails) => emails.map((e) => e.toLowerCase())),
  AUTO_MESSAGE_PLAN_CRON: cron.default('0 2 * * *'),
  AUTO_MESSAGE_QUEUE_CRON: cron.default('* * * * *'),
  AUTO_MESSAGE_MAX_ATTEMPTS: positiveInt.default(5),
  AUTO_MESSAGE_RETRY_DELAYS_MS: z
    .string()
    .regex(/^\d+(,\d+)*$/, 'comma-separated milliseconds, e.g. 5000,30000,300000')
    .default('5000,30000,300000')
    .transform((s) => s.split(',').map(Number)),
  AUTO_MESSAGE_CLAIM_TIMEOUT_MS: positiveInt.default(300_000),
  WORKER_PREFETCH: positiveInt.default(1000),
  SCHEDULER_TZ: z.string().refine(isValidTimeZone, 'unknown IANA time zone').default('UTC'),
  CORS_ORIGINS: csv.default(['http://localhost:3000']),
  TRUST_PROXY: z.coerce.number().int().min(0).default(0),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SENTRY_DSN: z.url().optional(),
  ELASTICSEARCH_URL: z.url().optional(),
  BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/i)
    .default('100kb'),
  RATE_LIMIT_AUTH_PER_MINUTE: positiveInt.default(30),
  RATE_LIMIT_LOGIN_FAILURES_PER_15_MIN: positiveInt.default(10),
  RATE_LIMIT_API_PER_MINUTE: positiveInt.default(600),
  RATE_LIMIT_MESSAGES_PER_MINUTE: positiveInt.default(120),
  RATE_LIMIT_SOCKET_PER_SECOND: positiveInt.default(20),
  RATE_LIMIT_SOCKET_BURST: positiveInt.default(40),
  RATE_LIMIT_SOCKET_HANDSHAKES_PER_MINUTE: positiveInt.default(60),
  RATE_LIMIT_GROUPS_PER_HOUR: positiveInt.default(20),
  RATE_LIMIT_UPLOADS_PER_MINUTE: positiveInt.default(30),
  JOB_LEASE_MS: positiveInt.default(60_000),
  UPLOAD_DIR: z.string().default('data/uploads'),
  UPLOAD_MAX_BYTES: positiveInt.default(10 * 1024 * 1024),
  /** Bytes of attachments one user may keep. */
  UPLOAD_QUOTA_BYTES: positiveInt.default(1024 * 1024 * 1024),
  UPLOAD_ORPHAN_HOURS: positiveInt.default(24),
  UPLOAD_OPTIMIZE_BYTES: positiveInt.default(2 * 1024 * 1024),
  /** Images processed at once by one worker (sharp runs each on its own threads). */
  MEDIA_CONCURRENCY: positiveInt.default(2),
  /** Decoding refuses images with more pixels than this (decompression bombs). */
  MEDIA_MAX_INPUT_PIXELS: positiveInt.default(50_000_000),
  MEDIA_ORPHAN_CLEANUP_CRON: cron.default('0 0 * * *'),
  STATS_HOURLY_CRON: cron.default('0 * * * *'),
  MEDIA_OPTIMIZE_CRON: cron.default('0 6 * * *'),
  /** How long finished tasks are kept (SPEC §12). */
  TASK_RETENTION: duration.default(7 * 24 * 3600),
  SHUTDOWN_TIMEOUT_MS: positiveInt.default(10_000),
  PRESENCE_HEARTBEAT_MS: positiveInt.default(10_000),
  PRESENCE_STALE_MS: positiveInt.default(30_000),
  /** Worker and scheduler serve GET /metrics here (the api serves it on PORT); unset = not served. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** When set, /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  /** How long the stream `parley.events.log` keeps events (RabbitMQ x-max-age: 7D, 12h, 1Y). */
  EVENTS_RETENTION: z
    .string()
    .regex(/^[1-9]\d*[YMDhms]$/, 'a number and one of Y M D h m s, e.g. 7D')
    .default('7D'),
  /** The event relay's fallback poll (it is woken at once by writes in its own process). */
  EVENTS_RELAY_POLL_MS: positiveInt.default(1000),
  /** A dead relay's lease is taken over after this. */
  EVENTS_RELAY_LEASE_MS: positiveInt.default(15_000),
  EVENTS_RELAY_BATCH: positiveInt.default(1000),
  /** The event consumers a worker runs: `all`, `none`, or names (`stats,webhooks`). */
  EVENTS_CONSUMERS: z
    .string()
    .regex(
      /^(all|none|[a-z][a-z0-9-]*(,[a-z][a-z0-9-]*)*)$/,
      'all, none, or names like stats,webhooks',
    )
    .default('all'),
  /** Webhooks to loopback or private networks: default true, false with NODE_ENV=production. */
  WEBHOOK_ALLOW_PRIVATE: z.enum(['true', 'false']).optional(),
});

export type Env = z.infer<typeof envSchema>;

export interface Config extends Env {
  /**
   * True when no JWT secrets are configured (never in production): random development secrets,
   * generated once and kept in the database, stand in for them (see resolveJwtSecrets).
   */
  usingDevSecrets: boolean;
  /** WEBHOOK_ALLOW_PRIVATE, or its default for NODE_ENV. */
  webhookAllowPrivate: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment. Empty strings count as unset, as in most .env tooling. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`),
    );
  }
  const e = parsed.data;
  if (e.PRESENCE_STALE_MS <= e.PRESENCE_HEARTBEAT_MS) {
    throw new ConfigError(['PRESENCE_STALE_MS: must be longer than PRESENCE_HEARTBEAT_MS']);
  }
  const missingSecrets = !e.JWT_ACCESS_SECRET || !e.JWT_REFRESH_SECRET;
  if (missingSecrets && e.NODE_ENV === 'production') {
    throw new ConfigError([
      'JWT_ACCESS_SECRET and JWT_REFRESH_SECRET are required when NODE_ENV=production',
    ]);
  }
  const webhookAllowPrivate =
    (e.WEBHOOK_ALLOW_PRIVATE ?? String(e.NODE_ENV !== 'production')) === 'true';
  return Object.freeze({ ...e, usingDevSecrets: missingSecrets, webhookAllowPrivate });
}

export function parseDurationSeconds(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text);
  if (!match) throw new Error(`bad duration: ${text}`);
  const n = Number(match[1]);
  const unit = match[2] ?? 's';
  const factor = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[unit] ?? 1;
  return Math.max(1, Math.round(n * factor));
}

function isValidCron(expression: string): boolean {
  const fields = expression.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) return false;
  try {
    new Cron(expression, { paused: true }).stop();
    return true;
  } catch {
    return false;
  }
}

function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
