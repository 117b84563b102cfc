import type { Channel, ChannelModel, ConsumeMessage, MessagePropertyHeaders } from 'amqplib';
import type { Logger } from '../../logger.js';
import { UnrecoverableJobError } from '../job-errors.js';
import { ATTEMPT_HEADER, PARKED_AT_HEADER, retryQueueFor, type Topology } from './topology.js';

/** What a handler learns about the delivery besides the payload. */
export interface JobDelivery {
  /** 1 on the first try, +1 each time the job comes back from a retry queue. */
  readonly attempt: number;
  /** The broker delivered it before (worker crash / channel loss): the work may be half done. */
  readonly redelivered: boolean;
  readonly messageId: string | undefined;
}

/** `signal` aborts when the result can no longer be acknowledged (channel lost, forced stop). */
export type JobHandler<T> = (
  payload: T,
  delivery: JobDelivery,
  signal: AbortSignal,
) => Promise<void> | void;

export interface ConsumeOptions<T> {
  readonly prefetch: number;
  /** Validates the JSON body (e.g. `schema.parse`); a throw parks the job as unrecoverable. */
  readonly parse?: (raw: unknown) => T;
  /**
   * Handles the jobs that arrived together (one read of the socket, up to the prefetch) in one
   * call, which must be idempotent per job like `handler`. They are then acked with one
   * `multiple` ack when no earlier delivery is still open. A throw hands each job to `handler`
   * on its own, so retries and parking stay per job.
   */
  readonly batch?: Batch<T>;
}

type Batch<T> = (payloads: readonly T[], signal: AbortSignal) => Promise<void>;

export interface ConsumerDeps {
  readonly topology: Topology;
  readonly maxAttempts: number;
  readonly logger: Logger;
  /** Publishes with confirms; rejects unless confirmed. */
  readonly republish: (
    queue: string,
    msg: ConsumeMessage,
    headers: MessagePropertyHeaders,
  ) => Promise<void>;
  /** Called when the broker cancels us (queue deleted): recycle the connection to re-declare. */
  readonly onBrokerCancel: () => void;
  /** Told how each delivery ended (metrics). */
  readonly onOutcome?: (outcome: JobOutcome) => void;
}

/** acked: done; retried / parked: moved to a retry or the parking queue; requeued: back as is. */
export type JobOutcome = 'acked' | 'retried' | 'parked' | 'requeued';

interface InFlight {
  done: Promise<void>;
  readonly abort: AbortController;
  readonly channel: Channel;
}

/** Deliveries collected for one `batch` call. */
interface Collecting {
  readonly channel: Channel;
  readonly msgs: ConsumeMessage[];
}

/** One consumer of the main queue; survives reconnects by being attached to each new connection. */
export class JobConsumer<T> {
  private readonly inFlight = new Set<InFlight>();
  /** Delivery tags neither acked nor rejected yet, per channel: what a `multiple` ack covers. */
  private readonly open = new WeakMap<Channel, Set<number>>();
  private collecting: Collecting | null = null;
  private channel: Channel | null = null;
  private consumerTag: string | null = null;
  private stopping = false;

  constructor(
    private readonly handler: JobHandler<T>,
    private readonly options: ConsumeOptions<T>,
    private readonly deps: ConsumerDeps,
  ) {}

  /** Deliveries not acked or rejected yet. */
  get inFlightCount(): number {
    return this.channel === null ? 0 : (this.open.get(this.channel)?.size ?? 0);
  }

  async attach(model: ChannelModel): Promise<Channel> {
    const channel = await model.createChannel();
    channel.on('error', (err: Error) =>
      this.deps.logger.warn({ err }, 'rabbit consumer channel error'),
    );
    // Work on a lost channel cannot be acked; the broker will redeliver it, so tell handlers to stop.
    channel.on('close', () => this.abortOn(channel));
    await channel.prefetch(this.options.prefetch);
    this.open.set(channel, new Set());
    const { consumerTag } = await channel.consume(
      this.deps.topology.main,
      (msg) => this.onMessage(channel, msg),
      {
        noAck: false,
      },
    );
    this.channel = channel;
    this.consumerTag = consumerTag;
    return channel;
  }

  /** Cancel, then wait for handlers to settle (each acks or requeues its own message). */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    const { channel, consumerTag } = this;
    if (channel !== null && consumerTag !== null) {
      await channel.cancel(consumerTag).catch((err: unknown) => {
        this.deps.logger.debug({ err }, 'rabbit cancel failed (channel already closed)');
      });
    }
    const settled = Promise.allSettled([...this.inFlight].map((job) => job.done));
    const timer = new Promise<'timeout'>((r) => setTimeout(r, timeoutMs, 'timeout').unref());
    if ((await Promise.race([settled, timer])) === 'timeout') {
      // Unacked messages go back to the queue when the channel closes: nothing acked is lost.
      this.deps.logger.warn(
        { inFlight: this.inFlight.size },
        'rabbit consumer stop timed out; aborting handlers',
      );
      for (const job of this.inFlight) job.abort.abort(new Error('consumer stopped'));
    }
    if (channel !== null)
      await channel.close().catch((err: unknown) => this.deps.logger.debug({ err }, 'close'));
    this.channel = null;
  }

  private abortOn(channel: Channel): void {
    for (const job of this.inFlight) {
      if (job.channel === channel) job.abort.abort(new Error('channel closed before ack'));
    }
    if (this.channel === channel) this.channel = null;
  }

  private onMessage(channel: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      this.deps.logger.warn(
        { queue: this.deps.topology.main },
        'rabbit consumer cancelled by broker',
      );
      this.deps.onBrokerCancel();
      return;
    }
    this.open.get(channel)?.add(msg.fields.deliveryTag);
    if (this.stopping) {
      this.settle(channel, msg, 'requeue', this.deps.logger);
      return;
    }
    if (this.options.batch) {
      this.collect(this.options.batch, channel, msg);
      return;
    }
    const abort = new AbortController();
    const job: InFlight = { abort, channel, done: Promise.resolve() };
    job.done = this.process(channel, msg, abort.signal)
      .catch((err: unknown) => this.deps.logger.error({ err }, 'rabbit job processing failed'))
      .finally(() => this.inFlight.delete(job));
    this.inFlight.add(job);
  }

  /**
   * amqplib hands over every delivery of one socket read in the same tick: they are collected
   * until the next `setImmediate` (at most `prefetch` of them) and handled as one batch.
   */
  private collect(handle: Batch<T>, channel: Channel, msg: ConsumeMessage): void {
    const current = this.collecting;
    if (current && current.channel === channel && current.msgs.length < this.options.prefetch) {
      current.msgs.push(msg);
      return;
    }
    const batch: Collecting = { channel, msgs: [msg] };
    this.collecting = batch;
    const abort = new AbortController();
    const job: InFlight = { abort, channel, done: Promise.resolve() };
    job.done = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => {
        if (this.collecting === batch) this.collecting = null;
        return this.processBatch(handle, channel, batch.msgs, abort.signal);
      })
      .catch((err: unknown) => this.deps.logger.error({ err }, 'rabbit batch processing failed'))
      .finally(() => this.inFlight.delete(job));
    this.inFlight.add(job);
  }

  private async processBatch(
    handle: Batch<T>,
    channel: Channel,
    msgs: readonly ConsumeMessage[],
    signal: AbortSignal,
  ): Promise<void> {
    const parsed: { msg: ConsumeMessage; payload: T }[] = [];
    const invalid: ConsumeMessage[] = [];
    for (const msg of msgs) {
      try {
        parsed.push({ msg, payload: this.parse(msg.content) });
      } catch {
        invalid.push(msg);
      }
    }
    // An invalid body is parked on its own (the single path parses it again and fails).
    const alone = invalid.map((msg) => this.process(channel, msg, signal));
    try {
      await handle(
        parsed.map((p) => p.payload),
        signal,
      );
      this.ackAll(
        channel,
        parsed.map((p) => p.msg),
      );
    } catch (err) {
      if (signal.aborted) {
        for (const { msg } of parsed) this.settle(channel, msg, 'requeue', this.deps.logger);
      } else {
        this.deps.logger.warn(
          { err, jobs: parsed.length },
          'batch failed; handling jobs one by one',
        );
        alone.push(...parsed.map(({ msg }) => this.process(channel, msg, signal)));
      }
    }
    await Promise.all(alone);
  }

  /**
   * Acks `msgs` (in delivery order): with one `multiple` ack of the last when no earlier delivery
   * on the channel is still open (in another batch, a retry being moved), else one by one.
   */
  private ackAll(channel: Channel, msgs: readonly ConsumeMessage[]): void {
    const last = msgs[msgs.length - 1];
    if (last === undefined) return;
    const open = this.open.get(channel);
    for (const msg of msgs) open?.delete(msg.fields.deliveryTag);
    const upTo = last.fields.deliveryTag;
    const earlierOpen = open === undefined || [...open].some((tag) => tag < upTo);
    if (earlierOpen || msgs.length === 1) {
      for (const msg of msgs) this.settle(channel, msg, 'ack', this.deps.logger);
      return;
    }
    try {
      channel.ack(last, true);
    } catch (err) {
      this.deps.logger.warn({ err, deliveryTag: upTo }, 'rabbit ack failed: channel closed');
    }
    for (let i = 0; i < msgs.length; i += 1) this.deps.onOutcome?.('acked');
  }

  private async process(channel: Channel, msg: ConsumeMessage, signal: AbortSignal): Promise<void> {
    const attempt = attemptOf(msg.properties.headers);
    try {
      const payload = this.parse(msg.content);
      await this.handler(
        payload,
        { attempt, redelivered: msg.fields.redelivered, messageId: messageIdOf(msg) },
        signal,
      );
      this.settle(channel, msg, 'ack', this.deps.logger);
    } catch (err) {
      // Aborted work is not a failure of the job: it goes back to the queue, no attempt spent.
      if (signal.aborted) this.settle(channel, msg, 'requeue', this.deps.logger);
      else await this.routeFailure(channel, msg, attempt, err);
    }
  }

  private parse(content: Buffer): T {
    try {
      const raw: unknown = JSON.parse(content.toString('utf8'));
      return this.options.parse ? this.options.parse(raw) : (raw as T);
    } catch (err) {
      throw new UnrecoverableJobError(`invalid payload: ${describe(err)}`, { cause: err });
    }
  }

  /** Retry or park, and ack the original only once the copy is confirmed; otherwise requeue it. */
  private async routeFailure(
    channel: Channel,
    msg: ConsumeMessage,
    attempt: number,
    err: unknown,
  ): Promise<void> {
    const park = err instanceof UnrecoverableJobError || attempt >= this.deps.maxAttempts;
    const queue = park ? this.deps.topology.dead : retryQueueFor(this.deps.topology, attempt).name;
    const headers: MessagePropertyHeaders = {
      ...withoutBrokerHeaders(msg.properties.headers),
      [ATTEMPT_HEADER]: park ? attempt : attempt + 1,
      'x-attempts': attempt,
      'x-last-error': describe(err).slice(0, 1000),
      ...(park ? { [PARKED_AT_HEADER]: new Date().toISOString() } : {}),
    };
    const log = this.deps.logger.child({ messageId: messageIdOf(msg), attempt, queue });
    try {
      await this.deps.republish(queue, msg, headers);
      log.warn({ err }, park ? 'job parked' : 'job scheduled for retry');
      this.settle(channel, msg, 'ack', log, park ? 'parked' : 'retried');
    } catch (publishErr) {
      log.error({ err: publishErr, jobErr: err }, 'could not move failed job; requeueing it');
      this.settle(channel, msg, 'requeue', log);
    }
  }

  private settle(
    channel: Channel,
    msg: ConsumeMessage,
    how: 'ack' | 'requeue',
    logger: Logger,
    outcome: JobOutcome = how === 'ack' ? 'acked' : 'requeued',
  ): void {
    this.open.get(channel)?.delete(msg.fields.deliveryTag);
    settle(channel, msg, how, logger);
    this.deps.onOutcome?.(outcome);
  }
}

function settle(
  channel: Channel,
  msg: ConsumeMessage,
  how: 'ack' | 'requeue',
  logger: Logger,
): void {
  try {
    if (how === 'ack') channel.ack(msg);
    else channel.nack(msg, false, true);
  } catch (err) {
    // The channel is gone; the broker redelivers the message, which is what we want.
    logger.warn(
      { err, deliveryTag: msg.fields.deliveryTag },
      `rabbit ${how} failed: channel closed`,
    );
  }
}

function attemptOf(headers: MessagePropertyHeaders | undefined): number {
  const value: unknown = headers?.[ATTEMPT_HEADER];
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : 1;
}

function messageIdOf(msg: ConsumeMessage): string | undefined {
  const id: unknown = msg.properties.messageId;
  return typeof id === 'string' ? id : undefined;
}

// x-death grows by one entry per dead-letter hop; x-delivery-count belongs to the old delivery.
function withoutBrokerHeaders(headers: MessagePropertyHeaders | undefined): MessagePropertyHeaders {
  const { 'x-death': _death, 'x-delivery-count': _count, ...rest } = headers ?? {};
  return rest;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
