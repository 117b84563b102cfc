import { errorResponse, route, type RouteDef } from '../../http/route.js';
import { IdParams } from '../../contracts/common.js';
import {
  ConversationListQuery,
  ConversationPage,
  ConversationResult,
  CreateConversationBody,
} from '../../contracts/conversations.js';
import type { ConversationsService } from './conversations.service.js';

const tag = 'conversations';
/** What every route under /api/conversations/:id may answer besides its own successes. */
export const memberErrors = {
  400: errorResponse('Validation failed'),
  401: errorResponse('Not logged in'),
  404: errorResponse('No such conversation, or not a member'),
};

export function conversationRoutes(
  conversations: ConversationsService,
  /** Counts one group creation for a user; throws rate_limited over RATE_LIMIT_GROUPS_PER_HOUR. */
  countGroupCreation: (userId: string) => Promise<void>,
): RouteDef[] {
  return [
    route({
      method: 'get',
      path: '/api/conversations',
      summary: 'My conversations, newest activity first, with lastMessage and unreadCount',
      tag,
      access: 'user',
      query: ConversationListQuery,
      responses: { 200: { description: 'A page', schema: ConversationPage }, ...memberErrors },
      handler: async ({ auth, query }) => ({
        status: 200,
        body: await conversations.list(auth.userId, query.limit, query.cursor),
      }),
    }),
    route({
      method: 'post',
      path: '/api/conversations',
      summary: 'Open the direct conversation with a user (200 if it exists), or create a group',
      tag,
      access: 'user',
      body: CreateConversationBody,
      responses: {
        200: { description: 'Existing direct conversation', schema: ConversationResult },
        201: { description: 'Created', schema: ConversationResult },
        ...memberErrors,
        429: errorResponse('Too many groups created this hour'),
      },
      handler: async ({ auth, body }) => {
        // Each group pulls up to 99 people into a conversation: creating them is limited.
        if ('participantIds' in body) await countGroupCreation(auth.userId);
        const { created, conversation } = await conversations.create(auth.userId, body);
        return { status: created ? 201 : 200, body: { conversation } };
      },
    }),
    route({
      method: 'get',
      path: '/api/conversations/:id',
      summary: 'One conversation I am a member of',
      tag,
      access: 'user',
      params: IdParams,
      responses: {
        200: { description: 'The conversation', schema: ConversationResult },
        ...memberErrors,
      },
      handler: async ({ auth, params }) => ({
        status: 200,
        body: { conversation: await conversations.get(auth.userId, params.id) },
      }),
    }),
  ];
}
