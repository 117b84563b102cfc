import { timingSafeEqual } from 'node:crypto';
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type CounterConfiguration,
} from 'prom-client';
import type { Logger } from '../logger.js';

/** One queue's depths as sampled from the broker (names are Parley's, without any prefix). */
export interface QueueSample {
  readonly queue: string;
  readonly ready: number;
  readonly parked: number;
  readonly consumers: number;
}

/** How a job taken from a queue ended (the consumer's decision). */
export type JobOutcome = 'acked' | 'retried' | 'parked' | 'requeued';

/** Queue depths are read from RabbitMQ at scrape time, at most this often. */
const QUEUE_SAMPLE_MS = 5_000;

/**
 * Every metric one process exposes, in its own registry (tests run several apps in one process;
 * the global registry would mix them). Labels are bounded: route templates, event and job names,
 * queue names — never ids or raw paths. Services never see prom-client: they are handed the
 * counters' `inc` through small callbacks.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly messages: Counter<'type'>;
  readonly messageFanout: Histogram;
  readonly socketConnections: Gauge;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly queueJobs: Counter<'queue' | 'outcome'>;
  readonly jobRuns: Counter<'job' | 'outcome'>;
  readonly eventsPublished: Counter<'type'>;
  readonly tasks: Counter<'type' | 'state'>;
  private socketCount: () => number = () => 0;
  private queueSampler: (() => Promise<QueueSample[]>) | null = null;
  private lastSample: { at: number; samples: Promise<QueueSample[]> } | null = null;

  constructor(
    role: string,
    private readonly logger: Logger,
  ) {
    this.registry.setDefaultLabels({ role });
    collectDefaultMetrics({ register: this.registry });
    const counter = <L extends string>(config: CounterConfiguration<L>) =>
      new Counter<L>({ ...config, registers: [this.registry] });
    this.messages = counter({
      name: 'parley_messages_total',
      help: 'Messages created and announced, by type (text, auto, system)',
      labelNames: ['type'],
    });
    this.messageFanout = new Histogram({
      name: 'parley_message_fanout_seconds',
      help: 'From a message being stored to its message_received fan-out being published',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    const sockets = () => this.socketCount();
    this.socketConnections = new Gauge({
      name: 'parley_socket_connections',
      help: 'Socket.IO connections open on this process',
      registers: [this.registry],
      collect() {
        this.set(sockets());
      },
    });
    this.httpDuration = new Histogram({
      name: 'parley_http_request_duration_seconds',
      help: 'HTTP requests by method, route template and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.queueJobs = counter({
      name: 'parley_queue_jobs_total',
      help: 'Jobs taken from a queue, by outcome (acked, retried, parked, requeued)',
      labelNames: ['queue', 'outcome'],
    });
    this.jobRuns = counter({
      name: 'parley_job_runs_total',
      help: 'Scheduled and manual job runs, by outcome',
      labelNames: ['job', 'outcome'],
    });
    this.eventsPublished = counter({
      name: 'parley_events_published_total',
      help: 'Domain events published to parley.events, by type',
      labelNames: ['type'],
    });
    this.tasks = counter({
      name: 'parley_tasks_total',
      help: 'Tasks entering a state (queued when created, then succeeded, failed or cancelled)',
      labelNames: ['type', 'state'],
    });
    this.queueGauges();
  }

  /** Where the socket gauge reads its value (api roles). */
  countSocketsWith(count: () => number): void {
    this.socketCount = count;
  }

  /** Where queue depths come from; sampled when scraped, cached for QUEUE_SAMPLE_MS. */
  sampleQueuesWith(sampler: () => Promise<QueueSample[]>): void {
    this.queueSampler = sampler;
  }

  /** The Prometheus text exposition of this process. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private queueGauges(): void {
    const samples = () => this.queueSamples();
    const gauge = (name: string, help: string, pick: (s: QueueSample) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['queue'],
        registers: [this.registry],
        async collect() {
          this.reset();
          for (const sample of await samples()) this.set({ queue: sample.queue }, pick(sample));
        },
      });
    gauge(
      'parley_queue_ready_jobs',
      'Jobs waiting in a queue (sampled from RabbitMQ)',
      (s) => s.ready,
    );
    gauge('parley_queue_parked_jobs', "Jobs in a queue's parking queue", (s) => s.parked);
    gauge('parley_queue_consumers', 'Consumers attached to a queue', (s) => s.consumers);
  }

  /** A broker that does not answer leaves the gauges empty for this scrape, never fails it. */
  private queueSamples(): Promise<QueueSample[]> {
    const sampler = this.queueSampler;
    if (sampler === null) return Promise.resolve([]);
    const now = Date.now();
    if (this.lastSample === null || now - this.lastSample.at >= QUEUE_SAMPLE_MS) {
      this.lastSample = {
        at: now,
        samples: sampler().catch((err: unknown) => {
          this.logger.warn({ err }, 'metrics: could not sample queue depths');
          this.lastSample = null;
          return [];
        }),
      };
    }
    return this.lastSample.samples;
  }
}

/**
 * METRICS_TOKEN, when set, must come as `Authorization: Bearer <token>`; compared in constant
 * time so the token cannot be guessed byte by byte.
 */
export function metricsAccessAllowed(token: string | undefined, header: unknown): boolean {
  if (token === undefined) return true;
  if (typeof header !== 'string') return false;
  const given = Buffer.from(header);
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
