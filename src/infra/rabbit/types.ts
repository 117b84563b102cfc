import type { QueueDepth } from '../../contracts/automessages.js';
import type { Logger } from '../../logger.js';
import type { ConsumeOptions, JobHandler } from './consumer.js';

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
}

export interface PublishManyResult<T> {
  readonly confirmed: T[];
  readonly failed: { readonly payload: T; readonly error: Error }[];
}

/** Reported to operators as is (GET /api/admin/queues), so its shape is the contract's. */
export type { QueueDepth } from '../../contracts/automessages.js';

export interface Rabbit {
  readonly queues: {
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
}
