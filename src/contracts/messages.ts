import { z } from 'zod';
import { IsoDate, Limit, ObjectIdString, page } from './common.js';
import { Emoji } from './emoji.js';
import { AttachmentIds, AttachmentView } from './media.js';

/** Shared by REST and Socket.IO: the same rules for a message wherever it comes from. */
export const Content = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(4000, 'at most 4000 characters');

export const ClientMessageId = z
  .string()
  .regex(/^[\w.:-]{1,64}$/, '1–64 characters of letters, digits, _ . : -');

/** The fields of a send; `SendMessageBody` adds the rule that ties content and attachments. */
export const SendMessageFields = z.strictObject({
  content: z.string().trim().max(4000, 'at most 4000 characters').default(''),
  clientMessageId: ClientMessageId.optional(),
  attachmentIds: AttachmentIds.optional().describe('1–10 of your own uploads, none failed'),
});

/** Content may be empty only when the message carries attachments. */
export function requireContentOrAttachments<T extends z.ZodType<SendFields>>(schema: T) {
  return schema.refine((b) => b.content.length > 0 || (b.attachmentIds?.length ?? 0) > 0, {
    message: 'must not be empty',
    path: ['content'],
  });
}
type SendFields = { content: string; attachmentIds?: string[] | undefined };

export const SendMessageBody = requireContentOrAttachments(SendMessageFields);

export const ReadBody = z.strictObject({ messageId: ObjectIdString });

/**
 * Where catch-up starts: a message id the client has (the server then also looks back a few
 * seconds, see SYNC_LOOKBACK_SECONDS) or a `nextCursor` from the previous page (exact).
 */
export const CatchUpCursor = z
  .string()
  .regex(/^c?[0-9a-fA-F]{24}$/, 'a message id, or a nextCursor from the previous page');

export const HistoryQuery = z
  .object({ before: ObjectIdString.optional(), after: CatchUpCursor.optional(), limit: Limit })
  .refine((q) => !(q.before && q.after), { message: 'use before or after, not both' });

export const SyncQuery = z.object({
  since: CatchUpCursor.describe('The newest message id the client has, or the previous nextCursor'),
  limit: Limit,
});

export const ReactionView = z
  .object({
    emoji: z.string(),
    count: z.number().int().min(1),
    me: z.boolean().describe('You reacted with this emoji'),
  })
  .meta({ id: 'Reaction' });

export const SystemEventView = z
  .object({
    action: z.enum(['members_added', 'member_removed', 'member_left', 'renamed', 'role_changed']),
    userIds: z.array(z.string()).optional(),
    name: z.string().optional(),
    role: z.string().optional(),
  })
  .meta({ id: 'SystemEvent', description: 'What a `type: system` message records' });
export type SystemEvent = z.infer<typeof SystemEventView>;

export const MessageView = z
  .object({
    id: z.string(),
    conversationId: z.string(),
    senderId: z.string(),
    content: z.string().describe('Empty once the message is deleted'),
    type: z.enum(['text', 'auto', 'system']),
    clientMessageId: z.string().optional(),
    system: SystemEventView.optional(),
    reactions: z.array(ReactionView).describe('Per emoji, in order of first use'),
    attachments: z
      .array(AttachmentView)
      .optional()
      .describe('As they were when sent (GET /api/attachments/:id for now); gone once deleted'),
    editedAt: IsoDate.optional(),
    deletedAt: IsoDate.optional().describe('Set on a tombstone: content and reactions are gone'),
    createdAt: IsoDate,
  })
  .meta({ id: 'Message' });

export type MessageView = z.infer<typeof MessageView>;

export const EditMessageBody = z.strictObject({ content: Content });
export const MessageParams = z.object({
  id: z.string().min(1).max(64),
  messageId: z.string().min(1).max(64),
});
export const ReactionParams = MessageParams.extend({
  emoji: Emoji.describe('One emoji, URL-encoded'),
});

export const MessageResult = z.object({ message: MessageView });
export const MessagePage = page(MessageView, 'MessagePage');
