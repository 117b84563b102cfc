import { z } from 'zod';
import { IsoDate, Limit, ObjectIdString, page } from '../../http/schemas.js';

/** Shared by REST and Socket.IO: the same rules for a message wherever it comes from. */
export const Content = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(4000, 'at most 4000 characters');

export const ClientMessageId = z
  .string()
  .regex(/^[\w.:-]{1,64}$/, '1–64 characters of letters, digits, _ . : -');

export const SendMessageBody = z.strictObject({
  content: Content,
  clientMessageId: ClientMessageId.optional(),
});

export const SendMessagePayload = SendMessageBody.extend({ conversationId: ObjectIdString });
export const ConversationPayload = z.strictObject({ conversationId: ObjectIdString });
export const TypingPayload = z.strictObject({
  conversationId: ObjectIdString,
  isTyping: z.boolean(),
});
export const ReadBody = z.strictObject({ messageId: ObjectIdString });
export const ReadPayload = ReadBody.extend({ conversationId: ObjectIdString });

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

export const MessageView = z
  .object({
    id: z.string(),
    conversationId: z.string(),
    senderId: z.string(),
    content: z.string(),
    type: z.enum(['text', 'auto', 'system']),
    clientMessageId: z.string().optional(),
    createdAt: IsoDate,
  })
  .meta({ id: 'Message' });

export const MessageResult = z.object({ message: MessageView });
export const MessagePage = page(MessageView, 'MessagePage');
