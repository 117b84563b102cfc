/**
 * The error catalog. Services throw these; the HTTP error middleware and the socket ack
 * wrapper map them to `{error: {code, message, details?}}` in one place each.
 * Anything that is not an AppError is an unexpected failure: logged with its stack, and
 * the client sees only a generic 500.
 */

export type ErrorCode =
  | 'validation_failed'
  | 'malformed_json'
  | 'bad_request'
  | 'unauthorized'
  | 'invalid_credentials'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'headers_too_large'
  | 'request_timeout'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

const STATUS: Record<ErrorCode, number> = {
  validation_failed: 400,
  malformed_json: 400,
  bad_request: 400,
  unauthorized: 401,
  invalid_credentials: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  headers_too_large: 431,
  request_timeout: 408,
  unsupported_media_type: 415,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Seconds a client should wait before retrying (429, 503). */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'AppError';
    this.status = STATUS[code];
  }

  toBody(): { error: { code: ErrorCode; message: string; details?: unknown } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

export const errors = {
  validation: (details: unknown, message = 'Request validation failed') =>
    new AppError('validation_failed', message, details),
  malformedJson: () => new AppError('malformed_json', 'Request body is not valid JSON'),
  /** A request that is broken below the JSON level (URL encoding, content encoding). */
  badRequest: (message: string) => new AppError('bad_request', message),
  unsupportedMediaType: (message: string) => new AppError('unsupported_media_type', message),
  unauthorized: (message = 'Authentication required') => new AppError('unauthorized', message),
  invalidCredentials: () => new AppError('invalid_credentials', 'Invalid login or password'),
  forbidden: (message = 'You are not allowed to do this') => new AppError('forbidden', message),
  notFound: (what = 'Resource') => new AppError('not_found', `${what} not found`),
  conflict: (message: string, details?: unknown) => new AppError('conflict', message, details),
  tooLarge: (message = 'Request body too large') => new AppError('payload_too_large', message),
  headersTooLarge: () =>
    new AppError('headers_too_large', 'Request line and headers together are too large'),
  requestTimeout: () => new AppError('request_timeout', 'The request was not received in time'),
  rateLimited: (retryAfterSeconds: number) =>
    new AppError('rate_limited', 'Too many requests, slow down', undefined, retryAfterSeconds),
  unavailable: (message = 'Service temporarily unavailable') =>
    new AppError('unavailable', message, undefined, 1),
  internal: () => new AppError('internal', 'Internal server error'),
};

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

/** The body and status a client sees for any thrown value. */
export function toClientError(error: unknown): AppError {
  if (isAppError(error)) return error;
  return isOutage(error) ? errors.unavailable() : errors.internal();
}

/**
 * Driver errors (by name: this module imports no driver) meaning MongoDB, Redis or RabbitMQ was
 * unreachable just now: the database restarting, a failover. Answered 503 `unavailable`, which
 * clients retry (the SDK resends with the same clientMessageId), not 500, which they give up on.
 */
const OUTAGE_ERRORS = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoPoolClearedError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MaxRetriesPerRequestError',
  'QueueUnavailableError',
]);

export function isOutage(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth += 1) {
    if (OUTAGE_ERRORS.has(current.name)) return true;
    current = current.cause;
  }
  return false;
}

/** Anything thrown, as an Error (a thrown string or object keeps its text). */
export function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}

/** The message of anything thrown, for logs, stored job errors and start-up lines. */
export function errorMessage(thrown: unknown): string {
  return asError(thrown).message;
}
