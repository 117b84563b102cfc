import { z } from 'zod';
import { IsoDate, ObjectIdString } from './common.js';

/**
 * Domain events (SPEC §10): one per committed change, published to the topic exchange
 * `parley.events` with the type as routing key and kept in the stream `parley.events.log`.
 * docs/EVENTS.md is generated from these schemas (`npm run docs:events`).
 */

const Id = ObjectIdString;

const MessageFields = {
  messageId: Id,
  conversationId: Id,
  senderId: Id,
};

const ReactionData = z.object({
  conversationId: Id,
  messageId: Id,
  emoji: z.string(),
  userId: Id,
});

/** Each type's `data`, in SPEC order. The description is what docs/EVENTS.md says of it. */
export const eventData = {
  'user.registered': z
    .object({ userId: Id, username: z.string(), displayName: z.string() })
    .describe('A new account (key: the user).'),
  'conversation.created': z
    .object({
      conversationId: Id,
      type: z.enum(['direct', 'group']),
      participantIds: z.array(Id),
      name: z.string().optional(),
      createdBy: Id.describe('Who opened it (for a direct conversation, the first to ask)'),
    })
    .describe('A direct conversation opened for the first time, or a new group.'),
  'conversation.updated': z
    .object({
      conversationId: Id,
      change: z.enum(['renamed', 'role_changed']),
      name: z.string().optional().describe('The new name (renamed)'),
      userId: Id.optional().describe('Whose role changed (role_changed)'),
      role: z.enum(['owner', 'admin', 'member']).optional(),
    })
    .describe('A group renamed, or a member given another role.'),
  'conversation.member_added': z
    .object({ conversationId: Id, userIds: z.array(Id).min(1) })
    .describe('Members added to a group (one event per request).'),
  'conversation.member_removed': z
    .object({
      conversationId: Id,
      userId: Id,
      left: z.boolean().describe('The member removed themself'),
      newOwnerId: Id.optional().describe('Set when the leaving owner handed ownership over'),
    })
    .describe('A member removed from a group, or leaving it.'),
  'message.created': z
    .object({
      ...MessageFields,
      type: z.enum(['text', 'auto', 'system']),
      content: z.string(),
      attachmentIds: z.array(Id).optional(),
      createdAt: IsoDate,
    })
    .describe('A message stored (text, automatic, or a system notice of a group change).'),
  'message.edited': z
    .object({ ...MessageFields, content: z.string(), editedAt: IsoDate })
    .describe('A message whose content its sender changed.'),
  'message.deleted': z
    .object({ ...MessageFields, deletedAt: IsoDate })
    .describe('A message turned into a tombstone (its content is gone everywhere).'),
  'message.read': z
    .object({ conversationId: Id, userId: Id, messageId: Id, readAt: IsoDate })
    .describe("A member's read pointer moved forward."),
  'reaction.added': ReactionData.describe('A user reacted to a message with an emoji.'),
  'reaction.removed': ReactionData.describe('A user took a reaction back.'),
  'automessage.sent': z
    .object({ autoMessageId: Id, messageId: Id, senderId: Id, receiverId: Id })
    .describe('An automatic message delivered (its message.created comes separately).'),
  'attachment.ready': z
    .object({
      attachmentId: Id,
      ownerId: Id,
      kind: z.enum(['image', 'file']),
      mime: z.string(),
      size: z.number().int(),
      width: z.number().int().optional(),
      height: z.number().int().optional(),
    })
    .describe('An upload processed successfully.'),
  'attachment.failed': z
    .object({ attachmentId: Id, ownerId: Id, error: z.string() })
    .describe('An upload that could not be processed.'),
  'task.finished': z
    .object({
      taskId: Id,
      type: z.string(),
      ownerId: Id,
      state: z.enum(['succeeded', 'failed', 'cancelled']),
      error: z.string().optional(),
    })
    .describe('A background task reached a final state.'),
} as const;

export type EventType = keyof typeof eventData;
export type EventData<T extends EventType> = z.infer<(typeof eventData)[T]>;
export const EVENT_TYPES = Object.keys(eventData) as EventType[];

const envelopeFields = {
  id: z.uuid(),
  v: z.literal(1),
  occurredAt: IsoDate,
  actorId: Id.nullable().describe('Who caused it; null for the system'),
  key: z.string().describe('The aggregate id that orders it'),
};

function envelopeOf<T extends EventType>(type: T) {
  return z.object({ ...envelopeFields, type: z.literal(type), data: eventData[type] });
}

const envelopes = EVENT_TYPES.map((type) => envelopeOf(type));

/** What is published and kept in the log (the union's type is spelled out below). */
export const DomainEvent = z.discriminatedUnion(
  'type',
  envelopes as unknown as [(typeof envelopes)[number], ...(typeof envelopes)[number][]],
) as unknown as z.ZodType<DomainEvent>;

export type DomainEvent = {
  [T in EventType]: {
    id: string;
    type: T;
    v: 1;
    occurredAt: string;
    actorId: string | null;
    key: string;
    data: EventData<T>;
  };
}[EventType];

/** Topic patterns as webhooks and consumers bind them: `message.*`, `#`, `user.registered`. */
export const EventPattern = z
  .string()
  .regex(/^(#|\*|[a-z_]+)(\.(#|\*|[a-z_]+))*$/, 'a routing pattern like message.* or #');
