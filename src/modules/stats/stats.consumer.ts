import type { DomainEvent } from '../../contracts/events.js';
import type { EventConsumer } from '../events/consumers.js';
import type { LiveStatsRepository, StatsOp } from './live-stats.repository.js';

/** What `toISOString` writes, as every event's `occurredAt` is: already UTC. */
const UTC_ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** `2026-12-01T09` and `2026-12-01`: the UTC hour and day an event occurred in. */
export function hourOf(iso: string): string {
  return (UTC_ISO.test(iso) ? iso : new Date(iso).toISOString()).slice(0, 13);
}

/**
 * The `stats` consumer: live counters (messages per conversation and per user per day, active
 * users per hour, and the hourly job's counts) kept from the events. Idempotent by event id.
 */
export function statsConsumer(live: LiveStatsRepository): EventConsumer {
  return {
    name: 'stats',
    keys: ['#'],
    prefetch: 500,
    async handle(event) {
      const hour = hourOf(event.occurredAt);
      await live.apply(event.id, hour, opsFor(event, hour));
    },
    async handleBatch(events) {
      await live.applyMany(
        events.map((event) => {
          const hour = hourOf(event.occurredAt);
          return { eventId: event.id, hour, ops: opsFor(event, hour) };
        }),
      );
    },
  };
}

export function opsFor(event: DomainEvent, hour: string): StatsOp[] {
  const h = `stats:h:${hour}`;
  const day = hour.slice(0, 10);
  const ops: StatsOp[] = [];
  if (event.actorId !== null) ops.push({ op: 'sadd', key: `${h}:active`, member: event.actorId });
  switch (event.type) {
    case 'message.created': {
      const { conversationId, senderId, type } = event.data;
      ops.push({ op: 'hincr', key: h, field: 'messages' });
      if (type === 'auto') ops.push({ op: 'hincr', key: h, field: 'autoMessages' });
      if (type === 'text') ops.push({ op: 'sadd', key: `${h}:senders`, member: senderId });
      ops.push({ op: 'hincr', key: `stats:d:${day}:conversations`, field: conversationId });
      ops.push({ op: 'hincr', key: `stats:d:${day}:users`, field: senderId });
      break;
    }
    case 'user.registered':
      ops.push({ op: 'hincr', key: h, field: 'newUsers' });
      break;
    case 'attachment.ready':
    case 'attachment.failed':
      ops.push({ op: 'hincr', key: h, field: 'attachments' });
      break;
    default:
      break;
  }
  return ops;
}
