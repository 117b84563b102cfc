import { z } from 'zod';
import { IsoDate, Limit, ObjectIdString, page } from './common.js';

export const CreateConversationBody = z
  .union([
    z.strictObject({ participantId: ObjectIdString }),
    z.strictObject({
      participantIds: z.array(ObjectIdString).min(2).max(99),
      name: z.string().trim().min(1).max(100),
    }),
  ])
  .meta({
    id: 'CreateConversation',
    description: '{participantId} for a direct conversation, {participantIds, name} for a group',
  });

export const ConversationView = z
  .object({
    id: z.string(),
    type: z.enum(['direct', 'group']),
    participants: z.array(
      z.object({
        id: z.string(),
        username: z.string(),
        displayName: z.string(),
        avatarUrl: z.string().nullable(),
        isOnline: z.boolean(),
      }),
    ),
    name: z.string().optional(),
    lastMessage: z
      .object({ id: z.string(), senderId: z.string(), preview: z.string(), createdAt: IsoDate })
      .optional(),
    lastMessageAt: IsoDate,
    unreadCount: z
      .number()
      .int()
      .describe('Messages from others after your read pointer, capped at 999'),
    createdAt: IsoDate,
  })
  .meta({ id: 'Conversation' });

export const ConversationResult = z.object({ conversation: ConversationView });
export const ConversationPage = page(ConversationView, 'ConversationPage');
export const ConversationListQuery = z.object({
  cursor: z.string().max(100).optional(),
  limit: Limit,
});
