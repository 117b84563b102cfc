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
}

export interface PublishManyResult<T> {
  readonly confirmed: T[];
  readonly failed: { readonly payload: T; readonly error: Error }[];
}

/** Reported to operators as is (GET /api/admin/queues), so its shape is the contract's. */
export type { QueueDepth } from '../../contracts/automessages.js';

export interface Rabbit {
  readonly queues: {
    /** The queue's own name, without the prefix (what operators and metrics call it). */
    readonly name: string;
    readonly main: string;
    readonly dead: string;
    readonly retries: readonly string[];
  };
  connect(): Promise<void>;
  close(): Promise<void>;
  /** For readiness: connected, and the main queue answers within the bound. */
  ping(timeoutMs?: number): Promise<boolean>;
  publishMany<T>(
    payloads: readonly T[],
    options?: { messageIdOf?: (payload: T) => string },
  ): Promise<PublishManyResult<T>>;
  consume<T>(handler: JobHandler<T>, options: ConsumeOptions<T>): Promise<void>;
  stopConsuming(timeoutMs?: number): Promise<void>;
  queueStats(): Promise<{ main: QueueDepth; dead: QueueDepth }>;
  /** The first `limit` jobs of the parking queue, left where they are. */
  parked(limit: number): Promise<ParkedJob[]>;
  /** Moves parked jobs (all, or those with these ids) back to the main queue as first attempts. */
  requeueParked(ids?: readonly string[]): Promise<number>;
  /** Drops parked jobs (all, or those with these ids). */
  discardParked(ids?: readonly string[]): Promise<number>;
}
