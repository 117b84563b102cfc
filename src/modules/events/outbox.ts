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
 * - `outbox`: the events not yet published, oldest first.
 * - `outboxAt`: when the oldest was written (the relay's index; unset once all are published).
 * - `outboxSeq`: bumped by every push, so the relay's clear can tell "nothing new arrived".
 */
export interface OutboxFields {
  outbox?: DomainEvent[];
  outboxAt?: Date;
  outboxSeq?: number;
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
  return events.length === 0 ? {} : { outbox: [...events], outboxAt: now, outboxSeq: 1 };
}

/** Operators to merge into an update so the events are written with the change, atomically. */
export function outboxPush(events: readonly DomainEvent[], now: Date = new Date()) {
  return {
    $push: { outbox: { $each: [...events] } },
    $min: { outboxAt: now },
    $inc: { outboxSeq: 1 },
  };
}

/** `outboxPush` merged into an update that has its own `$inc`. */
export function withInc(inc: Record<string, number>, push: ReturnType<typeof outboxPush>) {
  return { ...push, $inc: { ...inc, ...push.$inc } };
}
