/**
 * Every failure the client reports: an HTTP error body (SPEC §7), a refused socket ack, or a
 * transport problem. `status` is the HTTP status, 0 when there was none (socket acks, network
 * errors, timeouts).
 */
export class ParleyError extends Error {
  override readonly name = 'ParleyError';
  constructor(
    /** The server's error code (`validation_error`, `not_found`, …) or the client's own: `network_error`, `timeout`, `session_expired`, `not_connected`, `bad_response`. */
    readonly code: string,
    message: string,
    readonly status = 0,
    readonly details?: unknown,
  ) {
    super(message);
  }

  /** From a response: the SPEC §7 body when there is one, else a code named after the status. */
  static fromResponse(status: number, body: unknown): ParleyError {
    const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } })
      ?.error;
    if (error && typeof error.code === 'string')
      return new ParleyError(
        error.code,
        typeof error.message === 'string' ? error.message : error.code,
        status,
        error.details,
      );
    return new ParleyError('bad_response', `HTTP ${status}`, status, body);
  }
}

/** True for failures worth retrying later with the same request (idempotent sends only). */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof ParleyError)) return false;
  return (
    ['network_error', 'timeout', 'not_connected', 'rate_limited', 'unavailable'].includes(
      error.code,
    ) || error.status >= 500
  );
}
