/**
 * Error types that encode queue policy. Services and job handlers import these (never amqplib):
 * throwing one tells the RabbitMQ consumer what to do with the job.
 */

/** The job may succeed later: it is retried with backoff until the attempt limit. Any other error is treated the same way. */
export class RetryableJobError extends Error {
  override readonly name = 'RetryableJobError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The job can never succeed (for example its payload fails validation): it is parked at once. */
export class UnrecoverableJobError extends Error {
  override readonly name = 'UnrecoverableJobError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** No broker connection came back within the wait bound; nothing was published. Retry later. */
export class QueueUnavailableError extends Error {
  override readonly name = 'QueueUnavailableError';
}

/** The broker did not confirm the message (nack, unroutable or channel lost): it may not be queued. */
export class PublishNotConfirmedError extends Error {
  override readonly name = 'PublishNotConfirmedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
