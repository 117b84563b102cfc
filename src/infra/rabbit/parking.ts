import type { Channel, Message, MessagePropertyHeaders } from 'amqplib';
import { asError } from '../../errors.js';
import { ATTEMPT_HEADER, PARKED_AT_HEADER } from './topology.js';

/** A parked job as operators see it (SPEC §13). */
export interface ParkedJob {
  readonly id: string;
  readonly payload: unknown;
  readonly error: string | null;
  readonly attempts: number;
  readonly parkedAt: string | null;
}

/** At most this many parked jobs are held at once by one requeue or discard. */
export const PARKED_SWEEP_LIMIT = 10_000;

/**
 * Takes up to `max` messages off the parking queue without acknowledging them: they stay the
 * broker's until acked (gone) or nacked (back in the queue), and a channel that dies meanwhile
 * gives every one of them back. basic.get never hands the same message twice while it is held.
 */
async function hold(channel: Channel, queue: string, max: number): Promise<Message[]> {
  const held: Message[] = [];
  while (held.length < max) {
    const msg = await channel.get(queue, { noAck: false });
    if (msg === false) break;
    held.push(msg);
  }
  return held;
}

/** The first `limit` parked jobs; every one is given back untouched. */
export async function listParked(
  channel: Channel,
  queue: string,
  limit: number,
): Promise<ParkedJob[]> {
  const held = await hold(channel, queue, limit);
  try {
    return held.map(describeParked);
  } finally {
    for (const msg of held) channel.nack(msg, false, true);
  }
}

/**
 * Applies `act` to each selected parked job (all when `ids` is undefined) and acks it only
 * once `act` resolved; any other job, or one whose `act` failed, goes back to the parking queue.
 * Returns how many were acted on.
 */
export async function sweepParked(
  channel: Channel,
  queue: string,
  ids: readonly string[] | undefined,
  act: (msg: Message) => Promise<void>,
): Promise<number> {
  const wanted = ids === undefined ? null : new Set(ids);
  const held = await hold(channel, queue, PARKED_SWEEP_LIMIT);
  let done = 0;
  let failure: Error | null = null;
  for (const msg of held) {
    const selected = wanted === null || wanted.has(idOf(msg));
    if (selected && failure === null) {
      try {
        await act(msg);
        channel.ack(msg);
        done += 1;
        continue;
      } catch (err) {
        failure = asError(err); // stop acting; everything left goes back
      }
    }
    channel.nack(msg, false, true);
  }
  if (failure !== null) throw failure;
  return done;
}

/** The headers a requeued job starts again with: a fresh first attempt, no parking record. */
export function freshAttemptHeaders(msg: Message): MessagePropertyHeaders {
  const {
    'x-death': _death,
    'x-delivery-count': _count,
    'x-first-death-exchange': _fde,
    'x-first-death-queue': _fdq,
    'x-first-death-reason': _fdr,
    'x-last-death-exchange': _lde,
    'x-last-death-queue': _ldq,
    'x-last-death-reason': _ldr,
    'x-last-error': _error,
    'x-attempts': _attempts,
    [PARKED_AT_HEADER]: _parkedAt,
    ...rest
  } = msg.properties.headers ?? {};
  return { ...rest, [ATTEMPT_HEADER]: 1 };
}

function idOf(msg: Message): string {
  const id: unknown = msg.properties.messageId;
  return typeof id === 'string' ? id : '';
}

function describeParked(msg: Message): ParkedJob {
  const headers = msg.properties.headers ?? {};
  return {
    id: idOf(msg),
    payload: parseBody(msg.content),
    error: errorOf(headers),
    attempts: numberOr(headers['x-attempts'], numberOr(headers[ATTEMPT_HEADER], 1)),
    parkedAt: parkedAtOf(headers),
  };
}

function parseBody(content: Buffer): unknown {
  const text = content.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text; // an unparsable body is exactly why some jobs are parked: show it as text
  }
}

function errorOf(headers: MessagePropertyHeaders): string | null {
  const error: unknown = headers['x-last-error'];
  if (typeof error === 'string') return error;
  // The broker parked it: the worker died on it until x-delivery-limit ran out.
  const reason: unknown = headers['x-first-death-reason'];
  return reason === 'delivery_limit'
    ? 'delivery limit reached: the job was delivered again and again without being acknowledged'
    : typeof reason === 'string'
      ? `dead-lettered by the broker (${reason})`
      : null;
}

function parkedAtOf(headers: MessagePropertyHeaders): string | null {
  const stamped: unknown = headers[PARKED_AT_HEADER];
  if (typeof stamped === 'string') return stamped;
  const deaths: unknown = headers['x-death'];
  const time: unknown = Array.isArray(deaths)
    ? (deaths[0] as { time?: unknown } | undefined)?.time
    : undefined;
  if (time instanceof Date) return time.toISOString();
  // AMQP timestamps are seconds; amqplib hands them over as a number or {'!': 'timestamp', value}.
  const seconds =
    typeof time === 'number'
      ? time
      : numberOr((time as { value?: unknown } | undefined)?.value, NaN);
  return Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : null;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}
