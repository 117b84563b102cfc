import { route, type RouteDef } from '../../http/route.js';
import { ErrorBody, IdParams } from '../../contracts/common.js';
import type { MessagesService } from '../messages/messages.service.js';
import {
  HistoryQuery,
  MessagePage,
  MessageResult,
  ReadBody,
  SendMessageBody,
  SyncQuery,
} from '../../contracts/messages.js';
import {
  ConversationListQuery,
  ConversationPage,
  ConversationResult,
  CreateConversationBody,
} from '../../contracts/conversations.js';
import type { ConversationsService } from './conversations.service.js';

const tag = 'conversations';
const err = (description: string) => ({ description, schema: ErrorBody });
const common = {
  400: err('Validation failed'),
  401: err('Not logged in'),
  404: err('No such conversation, or not a member'),
};

export function conversationRoutes(
  conversations: ConversationsService,
  messages: MessagesService,
): RouteDef[] {
  return [
    route({
      method: 'get',
      path: '/api/conversations',
      summary: 'My conversations, newest activity first, with lastMessage and unreadCount',
      tag,
      access: 'user',
      query: ConversationListQuery,
      responses: { 200: { description: 'A page', schema: ConversationPage }, ...common },
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
        ...common,
      },
      handler: async ({ auth, body }) => {
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
        ...common,
      },
      handler: async ({ auth, params }) => ({
        status: 200,
        body: { conversation: await conversations.get(auth.userId, params.id) },
      }),
    }),
    route({
      method: 'get',
      path: '/api/conversations/:id/messages',
      summary: 'History: `before` pages newest-first; `after` (catch-up) pages oldest-first',
      tag,
      access: 'user',
      params: IdParams,
      query: HistoryQuery,
      responses: { 200: { description: 'A page of messages', schema: MessagePage }, ...common },
      handler: async ({ auth, params, query }) => ({
        status: 200,
        body: await messages.history(auth.userId, params.id, query),
      }),
    }),
    route({
      method: 'post',
      path: '/api/conversations/:id/messages',
      summary:
        'Send a message (201); a retry with the same clientMessageId returns the original (200)',
      tag,
      access: 'user',
      limit: 'messages',
      params: IdParams,
      body: SendMessageBody,
      responses: {
        200: { description: 'Already sent with this clientMessageId', schema: MessageResult },
        201: { description: 'Sent', schema: MessageResult },
        ...common,
        409: err('clientMessageId already used in another conversation'),
        429: err('Rate limited'),
      },
      handler: async ({ auth, params, body }) => {
        const { message, created } = await messages.send(auth.userId, {
          conversationId: params.id,
          ...body,
        });
        return { status: created ? 201 : 200, body: { message } };
      },
    }),
    route({
      method: 'post',
      path: '/api/conversations/:id/read',
      summary: 'Mark read up to a message; members get a message_read event',
      tag,
      access: 'user',
      params: IdParams,
      body: ReadBody,
      responses: { 204: { description: 'Read pointer moved (or already past it)' }, ...common },
      handler: async ({ auth, params, body }) => {
        await messages.markRead(auth.userId, {
          conversationId: params.id,
          messageId: body.messageId,
        });
        return { status: 204 };
      },
    }),
    route({
      method: 'get',
      path: '/api/sync',
      summary:
        'Catch-up after a reconnect: messages newer than `since` in all my conversations, oldest first',
      tag,
      access: 'user',
      query: SyncQuery,
      responses: {
        200: { description: 'A page of messages', schema: MessagePage },
        400: common[400],
        401: common[401],
      },
      handler: async ({ auth, query }) => ({
        status: 200,
        body: await messages.sync(auth.userId, query),
      }),
    }),
  ];
}
