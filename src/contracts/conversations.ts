import { z } from 'zod';
import { UserSummaryView } from './users.js';
import { IsoDate, Limit, ObjectIdString, page } from './common.js';

const GroupName = z.string().trim().min(1).max(100);

export const CreateConversationBody = z
  .union([
    z.strictObject({ participantId: ObjectIdString }),
    z.strictObject({
      participantIds: z.array(ObjectIdString).min(2).max(99),
      name: GroupName,
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
      UserSummaryView.extend({
        role: z.enum(['owner', 'admin', 'member']).optional().describe('Groups only'),
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

/** A conversation as one viewer sees it (`unreadCount` is theirs). */
export type ConversationView = z.infer<typeof ConversationView>;

export const ConversationResult = z.object({ conversation: ConversationView });
export const ConversationPage = page(ConversationView, 'ConversationPage');
export const ConversationListQuery = z.object({
  cursor: z.string().max(100).optional(),
  limit: Limit,
});

export const AddMembersBody = z.strictObject({
  userIds: z.array(ObjectIdString).min(1).max(99),
});
export const RenameBody = z.strictObject({ name: GroupName });
export const RoleBody = z.strictObject({ role: z.enum(['admin', 'member']) });
export const MemberParams = z.object({
  id: z.string().min(1).max(64),
  userId: z.string().min(1).max(64),
});
