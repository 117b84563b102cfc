import { randomUUID } from 'node:crypto';
import type { IndexDescription } from 'mongodb';
import type { DomainEvent, EventData, EventType } from '../../contracts/events.js';

/**
 * The transactional outbox, kept in the changed document itself: neither MongoDB without
 * transactions nor the embedded engine can write a change and a separate outbox row atomically,
 * but one document's update is atomic. So every change writes its events into the same document,
 * in the same insert or update (`outbox`), and the relay (relay.ts) publishes and then removes
 * them. A process killed before the write changed nothing and owes nothing; killed after it, the
 * events wait in the document until a relay publishes them.
 *
 * - `outbox`: the events not yet published, oldest first, each already encoded (`OutboxEntry`).
 * - `outboxAt`: when the oldest was written (the relay's index; unset once all are published).
 * - `outboxSeq`: bumped by every push, so the relay's clear can tell "nothing new arrived".
 */
export interface OutboxFields {
  outbox?: StoredEntry[];
  outboxAt?: Date;
  outboxSeq?: number;
}

/**
 * An event as the outbox keeps it: encoded once, by the write that stores it, into the body the
 * relay publishes as is. The relay reads four flat fields per event instead of the event's dozen
 * nested ones and never re-encodes it; the engine stores, journals and returns one string.
 */
export interface OutboxEntry {
  readonly id: string;
  /** The routing key. */
  readonly type: EventType;
  /** `occurredAt` in whole seconds: the message's AMQP timestamp. */
  readonly ts: number;
  /** The event's JSON: the message body. */
  readonly json: string;
}

/** Documents written before entries were encoded hold the event object itself. */
export type StoredEntry = OutboxEntry | DomainEvent;

export function outboxEntry(event: DomainEvent): OutboxEntry {
  return {
    id: event.id,
    type: event.type,
    ts: Math.floor(Date.parse(event.occurredAt) / 1000),
    json: JSON.stringify(event),
  };
}

/** An entry as the relay publishes it, whichever form it was stored in. */
export function encodedEntry(stored: StoredEntry): OutboxEntry {
  return 'json' in stored ? stored : outboxEntry(stored);
}

/** Collections whose documents may carry pending events: the relay scans exactly these. */
export const OUTBOX_COLLECTIONS = [
  'users',
  'conversations',
  'messages',
  'automessages',
  'attachments',
  'tasks',
] as const;

/** A plain (non-sparse) index: the embedded engine never plans with sparse or partial ones. */
export const OUTBOX_INDEX: IndexDescription = { key: { outboxAt: 1 }, name: 'outbox_pending' };

/** Called after a write that stored events: wakes an in-process relay at once. */
export type OutboxWritten = () => void;
export const noWake: OutboxWritten = () => undefined;

/** Repositories are built before the relay: they call `written`, the relay listens later. */
export class OutboxSignal {
  private listener: OutboxWritten = noWake;
  readonly written: OutboxWritten = () => this.listener();
  listen(listener: OutboxWritten): void {
    this.listener = listener;
  }
}

export function domainEvent<T extends EventType>(
  type: T,
  key: string,
  actorId: string | null,
  data: EventData<T>,
  at: Date = new Date(),
): DomainEvent {
  return {
    id: randomUUID(),
    type,
    v: 1,
    occurredAt: at.toISOString(),
    actorId,
    key,
    data,
  } as DomainEvent;
}

/** Fields for a new document that carries its own creation event(s). */
export function outboxOnInsert(events: readonly DomainEvent[], now: Date): OutboxFields {
  return events.length === 0
    ? {}
    : { outbox: events.map(outboxEntry), outboxAt: now, outboxSeq: 1 };
}

/** Operators to merge into an update so the events are written with the change, atomically. */
export function outboxPush(events: readonly DomainEvent[], now: Date = new Date()) {
  return {
    $push: { outbox: { $each: events.map(outboxEntry) } },
    $min: { outboxAt: now },
    $inc: { outboxSeq: 1 },
  };
}

/** `outboxPush` merged into an update that has its own `$inc`. */
export function withInc(inc: Record<string, number>, push: ReturnType<typeof outboxPush>) {
  return { ...push, $inc: { ...inc, ...push.$inc } };
}
