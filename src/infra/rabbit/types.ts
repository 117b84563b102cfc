import type { Channel } from 'amqplib';
import type { QueueDepth } from '../../contracts/automessages.js';
import type { Logger } from '../../logger.js';
import type { ConsumeOptions, JobHandler, JobOutcome } from './consumer.js';
import type { ParkedJob } from './parking.js';

export interface RabbitOptions {
  readonly url: string;
  readonly logger: Logger;
  /** Prepended to every queue name (tests isolate with a unique prefix). */
  readonly prefix?: string;
  readonly queue?: string;
  readonly retryDelaysMs?: readonly number[];
  /** Attempts before a job is parked (first try included). */
  readonly maxAttempts?: number;
  /** Broker-side redelivery cap (worker crashes), after which the broker parks the job. */
  readonly deliveryLimit?: number;
  /** How long publish() waits for a lost connection to come back before rejecting. */
  readonly publishWaitMs?: number;
  readonly reconnect?: {
    readonly initialDelayMs?: number;
    readonly maxDelayMs?: number;
    readonly startupRetries?: number;
  };
  readonly heartbeatSeconds?: number;
  /** Told how each consumed job ended, with the queue's name without prefix (metrics). */
  readonly onJobOutcome?: (queue: string, outcome: JobOutcome) => void;
  /** More topology declared on every (re)connect, after the queue's own (the events exchange). */
  readonly declareExtra?: (channel: Channel) => Promise<void>;
}

/** A message for a named exchange (confirmed, persistent, mandatory). */
export interface ExchangeMessage {
  readonly routingKey: string;
  readonly content: Buffer;
  readonly messageId: string;
  readonly type?: string;
  /** Seconds since the epoch. */
  readonly timestamp?: number;
}

export interface PublishManyResult<T> {
  readonly confirmed: T[];
  readonly failed: { readonly payload: T; readonly error: Error }[];
}

/** Reported to operators as is (GET /api/admin/queues), so its shape is the contract's. */
export type { QueueDepth } from '../../contracts/automessages.js';

/** A queue's names: its own, and the prefixed main, parking and retry queues. */
export interface QueueNames {
  /** The queue's own name, without the prefix (what operators and metrics call it). */
  readonly name: string;
  readonly main: string;
  readonly dead: string;
  readonly retries: readonly string[];
}

/** Depths and parked jobs of one queue and its parking queue (SPEC §13). */
export interface QueueOps {
  queueStats(): Promise<{ main: QueueDepth; dead: QueueDepth }>;
  /** The first `limit` jobs of the parking queue, left where they are. */
  parked(limit: number): Promise<ParkedJob[]>;
  /** Moves parked jobs (all, or those with these ids) back to the main queue as first attempts. */
  requeueParked(ids?: readonly string[]): Promise<number>;
  /** Drops parked jobs (all, or those with these ids). */
  discardParked(ids?: readonly string[]): Promise<number>;
}

export interface Rabbit extends QueueOps {
  readonly queues: QueueNames;
  connect(): Promise<void>;
  close(): Promise<void>;
  /** For readiness: connected, and the main queue answers within the bound. */
  ping(timeoutMs?: number): Promise<boolean>;
  publishMany<T>(
    payloads: readonly T[],
    options?: { messageIdOf?: (payload: T) => string },
  ): Promise<PublishManyResult<T>>;
  /** Pipelined and confirmed; one outcome per message (null = confirmed). */
  publishToExchange(
    exchange: string,
    messages: readonly ExchangeMessage[],
  ): Promise<(Error | null)[]>;
  /** A short-lived channel of this connection (stream reads, checks); closed afterwards. */
  withChannel<R>(fn: (channel: Channel) => Promise<R>): Promise<R>;
  consume<T>(handler: JobHandler<T>, options: ConsumeOptions<T>): Promise<void>;
  stopConsuming(timeoutMs?: number): Promise<void>;
  /**
   * The same depth and parking calls for another queue Parley owns (an event consumer's), over
   * this connection: the api role lists them without consuming them. A queue not declared yet
   * (no worker has run its consumer) reads as empty.
   */
  queueOf(queues: QueueNames): QueueOps;
}
